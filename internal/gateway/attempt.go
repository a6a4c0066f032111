package gateway

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/route"
)

// How long a provider key is set aside after the upstream refused it.
const (
	keyCooldown429 = 10 * time.Second
	keyCooldown401 = 60 * time.Second
)

// routeState is the exchange's routing (stage 7): the plan, its attempts
// and the upstream call of the current one.
type routeState struct {
	tgt      *target            // the target of the last attempt; nil: none made
	up       *provider.Upstream // the provider of the last attempt (passthrough's too)
	upReq    fasthttp.Request
	upResp   fasthttp.Response
	body     []byte // edited upstream body
	attempts int    // upstream attempts made

	plan          route.Plan    // targets, retries, fallbacks; ends at settle
	rt            *route.Target // the target that served, in flight until settle
	fallback      bool          // served by a target other than the first tried
	kept          bool          // the client response holds an upstream error reply
	totalDeadline time.Time     // when the total timeout ends the exchange
	aw            abandonWatch  // the upstream call, watched for a client that leaves (abandon.go)
	// xl is the translation of an attempt to a target of another format
	// (translate.go): allocated on the first, kept with the pooled
	// exchange, reset with it.
	xl *translation
}

func (r *routeState) reset() {
	r.tgt, r.up = nil, nil
	r.upReq.Reset()
	r.upResp.ReleaseBody(64 << 10) // don't pin huge buffers in the pool
	r.upResp.Reset()               // keeps KeepBodyBuffer, set by acquireExchange
	r.aw.reset()                   // after the reply's body stream is closed: releases its connection slot
	r.body = reuse(r.body)
	r.attempts = 0
	r.plan = route.Plan{} // settle's plan.End left it so
	r.rt, r.fallback, r.kept, r.totalDeadline = nil, false, false, time.Time{}
	if r.xl != nil {
		r.xl.reset()
	}
}

// failure is what the last unsuccessful attempt left: an upstream error
// reply to pass through, or a failed exchange.
type failure struct {
	refused    *HTTPError              // the target's own limits refused the attempt
	ue         *provider.UpstreamError // no reply at all
	status     int                     // an error reply's status (0: none)
	retryAfter time.Duration
}

// dispatch runs stage 7 for a model: the request's route.Plan picks each
// target and decides on retries (backoff, Retry-After, the retry budget),
// the next target and the fallback models; dispatch sends and reports back.
// Nothing is retried once a reply has started reaching the client.
func (x *exchange) dispatch(ctx *fasthttp.RequestCtx, m *model, fields *provider.Request, body []byte) {
	start := x.start // when the request arrived, on the routing clock
	if c := x.g.clock; c != nil {
		start = c.Now() // a test's fake
	}
	p := &x.plan
	p.Start(m.pool, x.s.budget, x.g.clock, start)
	if herr := x.force(ctx, m); herr != nil {
		x.fail(ctx, herr)
		return
	}
	var last failure
	for rt := p.Next(); rt != nil; rt = p.Next() {
		x.fallback = p.Fallback()
		done, f := x.attempt(ctx, rt.Value.(*target), fields, body)
		if done {
			return
		}
		last = f
		if f.refused != nil {
			p.Skip() // its quota is spent: next target
		} else {
			p.Fail(f.retryAfter)
		}
	}
	x.giveUp(ctx, &last)
}

var (
	strHdrTarget   = []byte("X-Sluice-Target")
	strHdrProvider = []byte("X-Sluice-Provider")
)

// force honours x-sluice-target (a target name) and x-sluice-provider (a
// provider of the model) when the caller may use them: auth off, or a key
// whose policy sets allow_routing_headers. A forced request goes to that
// target only (with its retries), never to fallbacks.
func (x *exchange) force(ctx *fasthttp.RequestCtx, m *model) *HTTPError {
	name := ctx.Request.Header.PeekCanonical(strHdrTarget)
	byProvider := false
	if len(name) == 0 {
		if name = ctx.Request.Header.PeekCanonical(strHdrProvider); len(name) == 0 {
			return nil
		}
		byProvider = true
	}
	if x.pol != nil && !x.pol.AllowRoutingHeaders {
		return &HTTPError{Status: 403, Code: CodeModelNotAllowed,
			Msg: "this API key may not choose targets with x-sluice-target or x-sluice-provider (allow_routing_headers is off)"}
	}
	if !x.plan.Force(string(name), byProvider) {
		return &HTTPError{Status: 400, Code: CodeInvalidRequest,
			Msg: "model " + quote(m.name) + " has no available target matching " + quote(string(name)) + "; GET /v1/models lists models, the config names targets"}
	}
	return nil
}

// attempt sends the request to one target and reports the outcome to the
// plan. done means the client has its answer (a reply relayed or passed
// through, or an error Sluice wrote); otherwise f describes a failure that
// triggers another try.
func (x *exchange) attempt(ctx *fasthttp.RequestCtx, tgt *target, fields *provider.Request, body []byte) (done bool, f failure) {
	x.attempts++
	x.tgt, x.up = tgt, tgt.up
	model := tgt.upstreamModel(fields.Model)
	p := &x.plan
	if model == "." || model == ".." {
		// A name a pattern forwards is one path segment at the kinds that
		// route by path (escaped there); these two would climb a level.
		p.Record(route.HealthNone)
		return false, failure{refused: &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "model",
			Msg: "model " + quote(model) + " is not a model name; GET /v1/models lists the models you can use"}}
	}
	req := &x.upReq
	req.Reset()
	var keyIdx int
	upOp := tgt.up.ServeOp(x.op)
	// A Gemini batch names its model in every request of its body, which
	// the passthrough does not edit: a batch for another model than the
	// one asked for goes through the codecs, which write the target's.
	samePath := upOp == x.op && !(x.ep == &geminiBatch && model != fields.Model)
	if samePath {
		if x.xl != nil {
			x.xl.on = false
		}
		inject := x.stream && x.op.InjectsUsage() && tgt.up.IncludeUsage()
		x.hideUsage = inject && !fields.IncludeUsage
		if x.format == provider.FormatGemini {
			// The path names the model; the body passes as it came.
			rest, query := x.geminiSamePath(tgt, model)
			keyIdx = tgt.up.PrepareModel(req, strPOST, rest, query, model, &ctx.Request.Header)
			req.SetBodyRaw(body)
		} else if keyIdx = tgt.up.PrepareModel(req, strPOST, ctx.Path()[3:], ctx.URI().QueryString(), model, &ctx.Request.Header); fields.Edits(model, inject) {
			x.body = fields.AppendBody(x.body[:0], body, model, inject)
			req.SetBodyRaw(x.body)
		} else {
			req.SetBodyRaw(body) // valid until the handler returns; Do has sent it by then
		}
	} else {
		// Another format: translated (translate.go), or refused when the
		// target cannot serve the operation or carry the request; another
		// target may.
		x.hideUsage = false
		var herr *HTTPError
		if upOp == 0 {
			herr = cannotServe(tgt, x.op)
		} else {
			keyIdx, herr = x.prepareTranslated(ctx, tgt, upOp, model, body)
		}
		if herr != nil {
			p.Record(route.HealthNone)
			return false, failure{refused: herr}
		}
	}
	req.Header.SetCanonical(strXRequestID, x.reqID)
	x.propagate(req)

	if herr := x.admitTarget(tgt, model); herr != nil {
		// The provider target's shared quota is spent: another target or a
		// fallback may still serve. Nothing was sent.
		p.Record(route.HealthNone)
		return false, failure{refused: herr}
	}
	rt := tgt.rt
	rt.Begin()
	ue := x.do(ctx)
	if x.aw.call.Cancelled() {
		// The client went away: whatever the upstream did says nothing
		// about the target.
		rt.End()
		p.Record(route.HealthNone)
		x.setRouteHeaders(ctx, tgt)
		x.abandon(ctx, ue)
		return true, failure{}
	}
	if ue != nil {
		rt.End()
		x.billFailed(ue)
		x.g.met.UpstreamError(tgt.up.Name(), ue.Kind)
		p.Record(attemptHealth(ue, 0, false))
		if !p.Triggers().NoReply(noReply(ue.Kind)) {
			x.dropKept(ctx)
			x.setRouteHeaders(ctx, tgt)
			x.fail(ctx, upstreamHTTPError(tgt.up.Name(), ue))
			return true, failure{}
		}
		return false, failure{ue: ue}
	}
	status := x.upResp.StatusCode()
	otherKey := false
	switch status {
	case 429:
		// This provider key hit its own limit: other keys take its turns.
		d := route.ParseRetryAfter(x.upResp.Header.Peek("Retry-After-Ms"), x.upResp.Header.Peek("Retry-After"), time.Now())
		tgt.up.CoolKey(keyIdx, max(d, keyCooldown429))
		otherKey = tgt.up.OtherKeyReady(keyIdx)
	case 401:
		tgt.up.CoolKey(keyIdx, keyCooldown401)
		otherKey = tgt.up.OtherKeyReady(keyIdx)
	}
	p.Record(attemptHealth(nil, status, otherKey))
	if status < 500 && status != 429 {
		rt.ObserveTTFB(x.upWait)
	}
	if p.Triggers().Status(status) {
		rt.End()
		f = failure{status: status, retryAfter: route.ParseRetryAfter(
			x.upResp.Header.Peek("Retry-After-Ms"), x.upResp.Header.Peek("Retry-After"), time.Now())}
		// Keep the reply: if no other attempt serves, it is passed through.
		x.keepFailure(ctx)
		return false, f
	}
	x.rt = rt // ends when the exchange settles (after a stream)
	x.dropKept(ctx)
	x.setRouteHeaders(ctx, tgt)
	x.deliver(ctx)
	return true, failure{}
}

// dropKept clears a kept failure's reply from the client response (its
// headers: request ids, rate-limit state, Retry-After of an upstream that
// did not serve) before another answer is written there.
func (x *exchange) dropKept(ctx *fasthttp.RequestCtx) {
	if !x.kept {
		return
	}
	x.kept = false
	ctx.Response.Reset()
	ctx.Response.Header.SetCanonical(strXRequestID, x.reqID)
}

var (
	strSluiceTarget   = []byte("X-Sluice-Target")
	strSluiceAttempts = []byte("X-Sluice-Attempts")
)

func (x *exchange) setRouteHeaders(ctx *fasthttp.RequestCtx, tgt *target) {
	var buf [20]byte
	ctx.Response.Header.SetCanonical(strSluiceTarget, tgt.nameBytes)
	ctx.Response.Header.SetCanonical(strSluiceAttempts, strconv.AppendInt(buf[:0], int64(x.attempts), 10))
}

// keepFailure stores an upstream error reply in the client response, to be
// sent as is if no later attempt succeeds.
func (x *exchange) keepFailure(ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	ctx.Response.Header.SetCanonical(strXRequestID, x.reqID)
	provider.CopyResponseHeaders(&ctx.Response.Header, &x.upResp.Header)
	ctx.SetStatusCode(x.upResp.StatusCode())
	if x.translated() {
		provider.MapRateLimitHeaders(&ctx.Response.Header, x.up.Format(), x.format, time.Now())
		ctx.Response.Header.DelBytes(strContentEncoding)
		ctx.SetContentType("application/json")
		body, _ := upstreamBody(&x.upResp) // unreadable: the error is told by its status
		ctx.Response.SetBody(x.upstreamError(x.upResp.StatusCode(), body))
	} else {
		ctx.Response.SetBody(x.upResp.Body())
	}
	x.kept = true
}

// giveUp answers when no attempt served: the last upstream error reply as
// it came, or Sluice's own error for a failed exchange or for a model whose
// targets are all cooling down.
func (x *exchange) giveUp(ctx *fasthttp.RequestCtx, last *failure) {
	// An upstream's error reply, once kept, is the answer over a later
	// target's refusal (its quota spent, or a request its format cannot
	// carry): it says what the targets that could serve did.
	keep := x.kept && (last.status != 0 || last.refused != nil)
	if !keep {
		x.dropKept(ctx)
	}
	if x.tgt != nil {
		x.setRouteHeaders(ctx, x.tgt)
	}
	switch {
	case keep:
		x.status = ctx.Response.StatusCode()
		x.setLimitHeaders(&ctx.Response.Header)
		x.settle()
	case last.refused != nil:
		x.fail(ctx, last.refused)
	case last.ue != nil:
		x.fail(ctx, upstreamHTTPError(x.up.Name(), last.ue))
	default:
		x.fail(ctx, errorf(503, CodeOverloaded, "every target of this model is cooling down after repeated failures; retry in a few seconds"))
	}
}

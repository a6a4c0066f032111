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

// failure is what the last unsuccessful attempt left: an upstream error
// reply to pass through, or a failed exchange.
type failure struct {
	refused    *HTTPError              // the target's own limits refused the attempt
	ue         *provider.UpstreamError // no reply at all
	status     int                     // an error reply's status (0: none)
	retryAfter time.Duration
}

// dispatch runs stage 7 for a model: pick a target, send, and on a retry
// trigger retry it (backoff, Retry-After, the retry budget), then move to
// the next target and the fallback models. Nothing is retried once a reply
// has started reaching the client.
func (x *exchange) dispatch(ctx *fasthttp.RequestCtx, m *model, fields *provider.Request, body []byte) {
	x.s.budget.Begin()
	x.budgeted = true
	var last failure
	if forced, herr := x.forcedTarget(ctx, m); herr != nil {
		x.fail(ctx, herr)
		return
	} else if forced != nil {
		x.tryTarget(ctx, m, forced, fields, body, &last)
		if !x.answered {
			x.giveUp(ctx, &last)
		}
		return
	}
	picks := 0
	for ci := -1; ci < len(m.fallbacks); ci++ {
		cm := m
		if ci >= 0 {
			cm = m.fallbacks[ci]
			m.met.Fallbacks.Inc()
		}
		pool := cm.pools[x.format]
		if pool == nil {
			continue
		}
		var tried uint64
		for {
			rt := pool.Pick(time.Now(), tried)
			if rt == nil {
				break
			}
			tried |= 1 << uint(pool.Index(rt))
			picks++
			x.fallback = picks > 1
			x.tryTarget(ctx, cm, rt.Value.(*target), fields, body, &last)
			if x.answered || x.stop {
				break
			}
		}
		if x.answered || x.stop {
			break
		}
	}
	if !x.answered {
		x.giveUp(ctx, &last)
	}
}

// tryTarget sends to one target, retrying it per the model's policy while
// the retry budget allows. It sets x.answered once the client has its
// answer, and x.stop when no further attempt may be made at all.
func (x *exchange) tryTarget(ctx *fasthttp.RequestCtx, m *model, tgt *target, fields *provider.Request, body []byte, last *failure) {
	for try := 0; try <= m.retry.attempts; try++ {
		if x.attempts > 0 {
			if !x.s.budget.TryRetry() {
				x.stop = true
				return
			}
			wait := time.Duration(0)
			if try > 0 {
				w, ok := m.retry.backoff.Wait(try, last.retryAfter)
				if !ok {
					x.s.budget.RetryDone()
					return // the upstream asked for a longer pause: next target
				}
				wait = w
			}
			if wait > 0 && !sleepUntil(wait, x.start.Add(tgt.up.Timeouts().Total)) {
				x.s.budget.RetryDone()
				x.stop = true
				return
			}
			m.met.Retries.Inc()
		}
		done, f := x.attempt(ctx, m, tgt, fields, body)
		if x.attempts > 1 {
			x.s.budget.RetryDone()
		}
		if done {
			x.answered = true
			return
		}
		*last = f
		if f.refused != nil || tgt.rt.Breaker().State() != route.StateClosed {
			return // its quota is spent, or it is set aside: next target
		}
	}
}

var (
	strHdrTarget   = []byte("X-Sluice-Target")
	strHdrProvider = []byte("X-Sluice-Provider")
)

// forcedTarget honours x-sluice-target (a target name) and
// x-sluice-provider (a provider of the model) when the caller may use them:
// auth off, or a key whose policy sets allow_routing_headers. A forced
// request goes to that target only (with its retries), never to fallbacks.
func (x *exchange) forcedTarget(ctx *fasthttp.RequestCtx, m *model) (*target, *HTTPError) {
	name := ctx.Request.Header.PeekCanonical(strHdrTarget)
	byProvider := false
	if len(name) == 0 {
		if name = ctx.Request.Header.PeekCanonical(strHdrProvider); len(name) == 0 {
			return nil, nil
		}
		byProvider = true
	}
	if x.pol != nil && !x.pol.AllowRoutingHeaders {
		return nil, &HTTPError{Status: 403, Code: CodeModelNotAllowed,
			Msg: "this API key may not choose targets with x-sluice-target or x-sluice-provider (allow_routing_headers is off)"}
	}
	pool := m.pools[x.format]
	rt := pool.Find(time.Now(), string(name), byProvider)
	if rt == nil {
		return nil, &HTTPError{Status: 400, Code: CodeInvalidRequest,
			Msg: "model " + quote(m.name) + " has no available target matching " + quote(string(name)) + "; GET /v1/models lists models, the config names targets"}
	}
	return rt.Value.(*target), nil
}

// attempt sends the request to one target. done means the client has its
// answer (a reply relayed or passed through, or an error Sluice wrote);
// otherwise f describes a failure that triggers another try.
func (x *exchange) attempt(ctx *fasthttp.RequestCtx, m *model, tgt *target, fields *provider.Request, body []byte) (done bool, f failure) {
	x.attempts++
	x.tgt, x.up = tgt, tgt.up
	inject := x.stream && x.op.InjectsUsage() && tgt.up.IncludeUsage()
	x.hideUsage = inject && !fields.IncludeUsage
	req := &x.upReq
	req.Reset()
	keyIdx := tgt.up.Prepare(req, strPOST, ctx.Path()[3:], ctx.URI().QueryString(), &ctx.Request.Header)
	req.Header.SetCanonical(strXRequestID, x.reqID)
	x.propagate(req)
	if fields.Edits(tgt.model, inject) {
		x.body = fields.AppendBody(x.body[:0], body, tgt.model, inject)
		req.SetBodyRaw(x.body)
	} else {
		req.SetBodyRaw(body) // valid until the handler returns; Do has sent it by then
	}

	if herr := x.admitTarget(tgt); herr != nil {
		// The provider target's shared quota is spent: another target or a
		// fallback may still serve. Nothing was sent.
		tgt.rt.Breaker().Release()
		return false, failure{refused: herr}
	}
	rt := tgt.rt
	rt.Begin()
	ue := x.do(ctx)
	now := time.Now()
	if x.aw.call.Cancelled() {
		// The client went away: whatever the upstream did says nothing
		// about the target.
		rt.End()
		rt.Breaker().Release()
		x.setRouteHeaders(ctx, tgt)
		x.abandon(ctx, ue)
		return true, failure{}
	}
	if ue != nil {
		rt.End()
		x.g.met.UpstreamError(tgt.up.Name(), ue.Kind)
		recordHealth(rt, now, attemptHealth(ue, 0, false))
		if !m.retry.on.failure(ue.Kind) {
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
		d := route.ParseRetryAfter(x.upResp.Header.Peek("Retry-After-Ms"), x.upResp.Header.Peek("Retry-After"), now)
		tgt.up.CoolKey(keyIdx, max(d, keyCooldown429))
		otherKey = tgt.up.OtherKeyReady(keyIdx)
	case 401:
		tgt.up.CoolKey(keyIdx, keyCooldown401)
		otherKey = tgt.up.OtherKeyReady(keyIdx)
	}
	recordHealth(rt, now, attemptHealth(nil, status, otherKey))
	if status < 500 && status != 429 {
		rt.ObserveTTFB(x.upWait)
	}
	if m.retry.on.status(status) {
		rt.End()
		f = failure{status: status, retryAfter: route.ParseRetryAfter(
			x.upResp.Header.Peek("Retry-After-Ms"), x.upResp.Header.Peek("Retry-After"), now)}
		// Keep the reply: if no other attempt serves, it is passed through.
		x.keepFailure(ctx)
		return false, f
	}
	x.rt = rt // ends when the exchange settles (after a stream)
	x.setRouteHeaders(ctx, tgt)
	x.deliver(ctx)
	return true, failure{}
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
	ctx.Response.SetBody(x.upResp.Body())
	x.kept = true
}

// giveUp answers when no attempt served: the last upstream error reply as
// it came, or Sluice's own error for a failed exchange or for a model whose
// targets are all cooling down.
func (x *exchange) giveUp(ctx *fasthttp.RequestCtx, last *failure) {
	if x.tgt != nil {
		x.setRouteHeaders(ctx, x.tgt)
	}
	switch {
	case last.refused != nil:
		x.fail(ctx, last.refused)
	case last.status != 0 && x.kept:
		x.status = last.status
		x.setLimitHeaders(&ctx.Response.Header)
		x.settle()
	case last.ue != nil:
		x.fail(ctx, upstreamHTTPError(x.up.Name(), last.ue))
	default:
		x.fail(ctx, errorf(503, CodeOverloaded, "every target of this model is cooling down after repeated failures; retry in a few seconds"))
	}
}

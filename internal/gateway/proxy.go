package gateway

import (
	"bytes"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
)

var strEventStream = []byte("text/event-stream")

// serveModel runs the pipeline (doc.go) for one model route.
func (g *Gateway) serveModel(ctx *fasthttp.RequestCtx, r *route) {
	// 1. Request id, limits, recover. Body and header limits were enforced
	// by fasthttp before we got here.
	x := g.acquireExchange(r)
	x.format, x.op = r.format, r.op
	defer g.recoverPanic(ctx, r.format)
	x.reqID = append(x.reqID, g.setRequestID(ctx)...)
	if g.draining.Load() {
		ctx.SetConnectionClose()
	}
	if max := g.cfg.Server.MaxInFlight; max > 0 && g.inFlight.Load() > int64(max) {
		x.fail(ctx, errorf(503, CodeOverloaded, "Sluice is at its limit of concurrent requests; retry after a short backoff"))
		return
	}

	// 2–3. Authentication and request limits plug in here (off at L0).

	// 4. Parse what the pipeline needs from the body.
	body := ctx.PostBody()
	fields, err := provider.ScanRequest(body)
	if err != nil {
		x.fail(ctx, bodyError(err))
		return
	}
	x.model = append(x.model, fields.Model...)

	// 5–6. Allowlist, token reservation, budget and input guardrails plug
	// in here (off at L0).

	// 7. Route and send.
	tgt, herr := g.resolve(fields.Model, r.format)
	if herr != nil {
		x.fail(ctx, herr)
		return
	}
	x.tgt, x.up = tgt, tgt.up
	x.stream = fields.Stream && r.op.Streams()
	inject := x.stream && r.op.InjectsUsage() && tgt.up.IncludeUsage()
	x.hideUsage = inject && !fields.IncludeUsage

	req := &x.upReq
	tgt.up.Prepare(req, strPOST, ctx.Path()[3:], ctx.URI().QueryString(), &ctx.Request.Header)
	req.Header.SetBytesV("X-Request-Id", x.reqID)
	if fields.Edits(tgt.model, inject) {
		x.body = fields.AppendBody(x.body[:0], body, tgt.model, inject)
		req.SetBodyRaw(x.body)
	} else {
		req.SetBodyRaw(body) // valid until the handler returns; Do has sent it by then
	}
	x.send(ctx)
}

// bodyError maps a ScanRequest error to a 400.
func bodyError(err error) *HTTPError {
	var fe *provider.FieldError
	if errors.As(err, &fe) {
		if fe.Field == "body" {
			return &HTTPError{Status: 400, Code: CodeInvalidRequest, Msg: "the request body must be a JSON object", Err: err}
		}
		return &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: fe.Field, Err: err,
			Msg: "field " + fe.Field + " " + fe.Msg + "; fix the request body"}
	}
	return &HTTPError{Status: 400, Code: CodeInvalidRequest, Err: err,
		Msg: "the request body is not valid JSON; send a JSON object with Content-Type: application/json"}
}

// send performs stage 7 (send) and 8 (relay) for a prepared upstream request.
func (x *exchange) send(ctx *fasthttp.RequestCtx) {
	to := x.up.Timeouts()
	now := time.Now()
	first := to.FirstByte
	if to.Total < first {
		first = to.Total
	}
	x.upResp.StreamBody = x.stream || x.raw
	err := x.up.Do(&x.upReq, &x.upResp, now.Add(first))
	x.upWait = time.Since(now)
	if err != nil {
		ue := provider.Classify(err)
		x.g.met.UpstreamError(x.up.Name(), ue.Kind)
		x.fail(ctx, upstreamHTTPError(x.up.Name(), ue))
		return
	}
	// 8. Relay.
	resp := &x.upResp
	status := resp.StatusCode()
	provider.CopyResponseHeaders(&ctx.Response.Header, &resp.Header)
	ctx.Response.Header.SetBytesV("X-Request-Id", x.reqID)
	ctx.SetStatusCode(status)
	x.status = status
	if status >= 500 {
		x.g.met.UpstreamError(x.up.Name(), "status_"+itoa(status/100)+"xx")
	}

	if (x.stream && status == 200 && bytes.HasPrefix(resp.Header.ContentType(), strEventStream)) ||
		(x.raw && resp.BodyStream() != nil) {
		x.startRelay(ctx, now.Add(to.Total))
		return
	}
	// A buffered reply (or an error reply to a stream request): hand the
	// upstream's body buffer to the client response without copying it.
	if body := resp.Body(); status < 300 && x.op != 0 {
		x.usage = provider.ParseUsage(x.op, body)
	}
	resp.SwapBody(ctx.Response.SwapBody(resp.SwapBody(nil)))
	x.settle()
}

// servePassthrough sends a /v1/* path Sluice has no route for to the
// passthrough provider as is, relaying the reply as it comes.
func (g *Gateway) servePassthrough(ctx *fasthttp.RequestCtx) {
	x := g.acquireExchange(nil)
	x.format = formatOf(ctx.Path())
	defer g.recoverPanic(ctx, x.format)
	x.reqID = append(x.reqID, g.setRequestID(ctx)...)
	if g.pass == nil {
		x.fail(ctx, errorf(404, CodeNotFound, "no route for "+string(ctx.Method())+" "+quote(string(ctx.Path()))+
			" and no passthrough provider is configured"))
		return
	}
	x.up = g.pass
	x.raw = true
	req := &x.upReq
	x.up.Prepare(req, ctx.Method(), ctx.Path()[3:], ctx.URI().QueryString(), &ctx.Request.Header)
	req.Header.SetBytesV("X-Request-Id", x.reqID)
	req.SetBodyRaw(ctx.PostBody())
	x.send(ctx)
}

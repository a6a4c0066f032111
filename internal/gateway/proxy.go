package gateway

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
)

var strEventStream = []byte("text/event-stream")

// underPrefix reports whether path is below prefix: prefix + "/" and more.
func underPrefix(path []byte, prefix string) bool {
	return len(path) > len(prefix) && path[len(prefix)] == '/' && hasPrefix(path, prefix)
}

// hasPrefix is bytes.HasPrefix for a prefix held as a string (no copy).
func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// hasDotSegment reports whether a raw path has a "." or ".." segment, plain
// or percent-encoded.
func hasDotSegment(p []byte) bool {
	for len(p) > 0 {
		i := bytes.IndexByte(p[1:], '/')
		seg := p[1:]
		if i >= 0 {
			seg = p[1 : 1+i]
		}
		switch strings.ToLower(string(seg)) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return true
		}
		if i < 0 {
			break
		}
		p = p[1+i:]
	}
	return false
}

// serveModel runs the pipeline (doc.go) for one model route.
func (g *Gateway) serveModel(ctx *fasthttp.RequestCtx, r *endpoint) {
	// 1. Request id, limits, recover. Body and header limits were enforced
	// by fasthttp before we got here.
	x := g.acquireExchange(r)
	x.format, x.op = r.format, r.op
	defer x.finish(ctx)
	// 2. Authenticate: no body parse for a bad key. 3. Request-count and
	// concurrency limits: they need only the key.
	if !x.enter(ctx) {
		return
	}
	pol := x.pol

	// 4. Parse what the pipeline needs from the body.
	body := ctx.PostBody()
	fields, err := scanFields(ctx, r, body)
	if err != nil {
		x.fail(ctx, bodyError(err))
		return
	}
	x.model = append(x.model, fields.Model...)
	x.noteBody(&fields, body)

	// 5. Model allowlist, token reservation and budget.
	if herr := allowModel(pol, fields.Model); herr != nil {
		x.fail(ctx, herr)
		return
	}
	// The model's entry names its guardrails (and fails fast when the
	// model does not exist, after the token limits as ever); its targets
	// are picked in stage 7. A name a pattern matches is the client's
	// choice: the key's per-model limits and the price go by the pattern's
	// name and the upstream model, never by it.
	m, herr := x.s.resolve(fields.Model)
	x.limitModel = fields.Model
	if m != nil && m.pattern() {
		x.limitModel = m.name
	}
	if herr := x.reserveTokens(x.limitModel, fields.User, len(body), fields.MaxTokens); herr != nil {
		x.fail(ctx, herr)
		return
	}
	if herr != nil {
		x.fail(ctx, herr)
		return
	}

	// 6. Input guardrails.
	if x.gpol, herr = x.guardPolicy(m); herr != nil {
		x.fail(ctx, herr)
		return
	}
	if x.gpol != nil && x.gpol.HasInput() {
		out, herr := x.checkInput(body)
		if herr != nil {
			x.fail(ctx, herr)
			return
		}
		if len(out) != len(body) || (len(out) > 0 && &out[0] != &body[0]) {
			// Redacted: the fields' offsets must point into the new body.
			body = out
			if fields, err = scanFields(ctx, r, body); err != nil {
				x.fail(ctx, bodyError(err))
				return
			}
		}
	}

	// 7. Route and send.
	x.stream = fields.Stream && r.op.Streams()
	if x.stream {
		x.streamSlot = true
		if reason := x.g.over.admitStream(&x.s.cfg.Server, x.pol != nil && x.pol.HighPriority); reason != "" {
			x.shed(ctx, reason, false)
			return
		}
	}
	if x.s.logBodies != logNone {
		x.keepBody(&x.logReq, body)
	}
	x.dispatch(ctx, m, &fields, body)
}

// enter runs the stages every client route shares, for an exchange just
// acquired: 1. the request id, client notes, trace sampling and load
// shedding; 2. authentication; 3. the request-count and concurrency limits.
// When one refuses it answers and settles the request and returns false.
// Model routes, the passthrough and the routes Sluice answers itself
// (serveLocal) all come through here.
func (x *exchange) enter(ctx *fasthttp.RequestCtx) bool {
	g := x.g
	x.reqID = append(x.reqID, g.setRequestID(ctx)...)
	x.noteClient(ctx)
	x.sample(ctx)
	if g.draining.Load() {
		ctx.SetConnectionClose()
	}
	sc := &x.s.cfg.Server
	n := g.inFlight.Load()
	if reason := g.over.admitEarly(sc, n); reason != "" {
		x.shed(ctx, reason, true)
		return false
	}
	if g.clients != nil && x.clientSlot(ctx, g.clients) {
		x.shed(ctx, shedClient, true)
		return false
	}
	pol, herr := g.authenticate(ctx)
	if herr != nil {
		x.fail(ctx, herr)
		return false
	}
	x.pol = pol
	high := pol != nil && pol.HighPriority
	if reason := g.over.admit(sc, n, high); reason != "" {
		x.shed(ctx, reason, false)
		return false
	}
	if x.ep != nil && x.ep.op.Streams() && g.over.streamsFull(sc, high) && wantsStream(ctx, x.ep) {
		// Refused before the request-count limit counts it, so a client
		// that retries as told does not spend its own rpm; looked at only
		// while the streams are at their cap (admitStream decides).
		x.shed(ctx, shedStreams, false)
		return false
	}
	if herr := x.admitRequest(); herr != nil {
		x.fail(ctx, herr)
		return false
	}
	return true
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

// send performs one upstream exchange and relays its reply (the
// passthrough's path: no retries).
func (x *exchange) send(ctx *fasthttp.RequestCtx) {
	ue := x.do(ctx)
	if x.aw.call.Cancelled() {
		x.abandon(ctx, ue)
		return
	}
	if ue != nil {
		x.g.met.UpstreamError(x.up.Name(), ue.Kind)
		x.fail(ctx, upstreamHTTPError(x.up.Name(), ue))
		return
	}
	x.deliver(ctx)
}

// do sends the prepared upstream request and reads the reply headers (and
// the body of a buffered reply, or of an error reply to a stream request).
// It returns the classified failure when no reply came. While it waits, a
// client that goes away cancels the upstream call (abandon.go): callers
// check x.aw.call.Cancelled() first.
func (x *exchange) do(ctx *fasthttp.RequestCtx) *provider.UpstreamError {
	to := x.up.Timeouts()
	now := time.Now()
	x.upResp.StreamBody = x.stream || x.raw
	if x.traced && x.upStart.IsZero() {
		x.upStart = now
	}
	x.g.waiters.add(x, ctx.Conn())
	defer x.g.waiters.remove(x)
	err := x.up.Do(&x.upReq, &x.upResp, &x.aw.call)
	x.upWait += time.Since(now)
	if x.traced {
		x.upEnd = time.Now()
	}
	x.totalDeadline = now.Add(to.Total)
	if err != nil {
		return provider.Classify(err)
	}
	if x.upResp.BodyStream() != nil && !x.raw && (x.upResp.StatusCode() != 200 || !x.streamedReply()) {
		// A streamed request answered with an error (or not as a stream):
		// read the reply whole, bounded, and pass it through.
		err := x.bufferStreamedReply()
		x.aw.call.Release()
		if err != nil {
			return provider.Classify(err)
		}
	}
	return nil
}

// deliver is stage 8: the upstream's reply goes to the client, buffered
// or relayed as a stream; a buffered reply settles here.
func (x *exchange) deliver(ctx *fasthttp.RequestCtx) {
	if x.translated() {
		x.deliverTranslated(ctx)
		return
	}
	resp := &x.upResp
	status := resp.StatusCode()
	// x-request-id, set on arrival, stays: the upstream's own id is copied
	// as x-upstream-request-id.
	provider.CopyResponseHeaders(&ctx.Response.Header, &resp.Header)
	x.setLimitHeaders(&ctx.Response.Header)
	ctx.SetStatusCode(status)
	x.status = status
	if status >= 500 {
		x.g.met.UpstreamError(x.up.Name(), "status_"+itoa(status/100)+"xx")
	}

	if (x.stream && status == 200 && bytes.HasPrefix(resp.Header.ContentType(), strEventStream)) ||
		(x.raw && resp.BodyStream() != nil) {
		x.startRelay(ctx, x.totalDeadline)
		return
	}
	// A buffered reply: hand the upstream's body buffer to the client
	// response without copying it.
	if body := resp.Body(); status < 300 && x.op != 0 {
		x.usage = x.format.Hooks().Usage(x.op, body)
		if x.gpol != nil && x.gpol.HasOutput() {
			out, herr := x.checkOutput(body)
			if herr != nil {
				ctx.Response.Header.Del("Content-Encoding")
				x.fail(ctx, herr)
				return
			}
			if len(out) != len(body) || (len(out) > 0 && &out[0] != &body[0]) {
				ctx.Response.SetBody(out)
				if x.s.logBodies == logFull {
					x.keepBody(&x.logResp, out)
				}
				x.settle()
				return
			}
		}
	}
	if x.s.logBodies == logFull {
		x.keepBody(&x.logResp, resp.Body())
	}
	resp.SwapBody(ctx.Response.SwapBody(resp.SwapBody(nil)))
	x.settle()
}

// maxStreamErrorBody bounds a non-stream reply to a stream request.
const maxStreamErrorBody = 4 << 20

// bufferStreamedReply reads a streamed reply body into the response's own
// buffer, so the buffered path can pass it through.
func (x *exchange) bufferStreamedReply() error {
	resp := &x.upResp
	buf := make([]byte, 0, 4096)
	r := io.LimitReader(resp.BodyStream(), maxStreamErrorBody+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = resp.CloseBodyStream()
			return err
		}
	}
	if len(buf) > maxStreamErrorBody {
		_ = resp.CloseBodyStream()
		return &provider.UpstreamError{Kind: provider.KindMalformed, Err: errors.New("reply to a stream request is neither a stream nor a small body")}
	}
	_ = resp.CloseBodyStream()
	resp.SwapBody(buf)
	return nil
}

// uncheckedText reports whether a passthrough path stores or returns model
// text outside the model routes, which guardrails cannot see (wire.Hooks'
// UncheckedPaths, of every format).
func uncheckedText(path []byte) bool {
	for f := provider.Format(1); int(f) < provider.NumFormats; f++ {
		for _, p := range f.Hooks().UncheckedPaths {
			if hasPrefix(path, p) {
				return true
			}
		}
	}
	return false
}

// servePassthrough sends a /v1/* path Sluice has no route for to the
// passthrough provider as is, relaying the reply as it comes.
func (g *Gateway) servePassthrough(ctx *fasthttp.RequestCtx) {
	x := g.acquireExchange(nil)
	x.format = provider.FormatOf(ctx.Path())
	defer x.finish(ctx)
	if !x.enter(ctx) {
		return
	}
	if x.s.pass == nil {
		x.fail(ctx, errorf(404, CodeNotFound, "no route for "+string(ctx.Method())+" "+quote(string(ctx.Path()))+
			" and no passthrough provider is configured"))
		return
	}
	x.up = x.s.pass
	if p := x.format.Hooks().PathPrefix; p != "" && x.s.passFormat[x.format] != nil && underPrefix(ctx.Path(), p) {
		x.up = x.s.passFormat[x.format] // a format's own sub-resources (Anthropic's batches, ...)
	}
	// The path goes upstream as the client sent it (still percent-encoded);
	// fasthttp's decoded Path() would turn %3F into "?" or %2F into "/".
	// Dot segments, encoded or not, could climb out of the provider's base
	// path, so they are refused.
	raw := ctx.URI().PathOriginal()
	if !bytes.HasPrefix(raw, strV1) || hasDotSegment(raw) {
		x.fail(ctx, errorf(400, CodeInvalidRequest, "the request path must not contain dot segments (. or ..); send a normalized path"))
		return
	}
	if x.s.guards != nil && !x.s.cfg.Passthrough.AllowUnchecked && uncheckedText(raw) {
		x.fail(ctx, &HTTPError{Status: 400, Code: CodeGuardrailViolation,
			Msg: "guardrails are on and " + quote(string(ctx.Path())) + " carries model text they cannot check; " +
				"use the model routes, or ask the operator to set passthrough.allow_unchecked"})
		return
	}
	x.raw = true
	x.attempts = 1
	req := &x.upReq
	x.up.Prepare(req, ctx.Method(), raw[3:], ctx.URI().QueryString(), &ctx.Request.Header)
	req.Header.SetCanonical(strXRequestID, x.reqID)
	x.propagate(req)
	req.SetBodyRaw(ctx.PostBody())
	x.send(ctx)
}

// streamedReply reports whether the upstream's reply is a stream: SSE, or
// the AWS event stream of a translated Bedrock request.
func (x *exchange) streamedReply() bool {
	ct := x.upResp.Header.ContentType()
	if x.translated() && x.xl.upOp == provider.OpConverse {
		return bytes.HasPrefix(ct, strAWSEventStream)
	}
	return bytes.HasPrefix(ct, strEventStream)
}

var strAWSEventStream = []byte("application/vnd.amazon.eventstream")

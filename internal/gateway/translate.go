package gateway

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/sse"
)

// Translation: a target whose provider speaks another format than the
// client (provider.Upstream.ServeOp) gets the request decoded into package
// canon's form, once per exchange, and encoded in its own format; its
// reply, error or stream comes back the same way, event by event. The
// same-format path (attempt.go, relay.go) stays the in-place passthrough
// and never comes here.

// translation is an exchange's translation state. It is allocated on an
// exchange's first translated attempt and stays with the pooled exchange.
type translation struct {
	on   bool               // the current attempt is translated
	upOp provider.Operation // what the target performs

	client, up   *canon.Codec // the client's and the target's codecs (generating operations)
	clientE, upE *canon.EmbedCodec

	decoded bool  // req (or ereq) holds the client's request
	decErr  error // why it could not be decoded
	req     canon.Request
	ereq    canon.EmbedRequest
	reply   canon.Reply
	erep    canon.EmbedReply
	usage   canon.Usage // a stream's, merged from its EvUsage events

	path   []byte // the upstream path
	out    []byte // an encoded reply
	dec    canon.StreamDecoder
	enc    canon.StreamEncoder
	evs    []canon.Event
	frames canon.Frames
	raw    []byte // one frame as SSE, for the relay
	next   func() (name, data []byte, err error)
}

func (t *translation) reset() {
	t.on, t.upOp = false, 0
	t.client, t.up, t.clientE, t.upE = nil, nil, nil, nil
	t.decoded, t.decErr = false, nil
	t.req.Reset()
	t.ereq = canon.EmbedRequest{Inputs: t.ereq.Inputs[:0]}
	t.reply.Reset()
	t.erep = canon.EmbedReply{}
	t.usage = canon.Usage{}
	t.dec, t.enc, t.next = nil, nil, nil
	if cap(t.evs) > 1024 {
		t.evs = nil
	}
	t.evs = t.evs[:0]
	t.frames.Release()
	t.out, t.path, t.raw = reuse(t.out), reuse(t.path), reuse(t.raw)
}

// translated reports whether the current attempt is translated.
func (x *exchange) translated() bool { return x.xl != nil && x.xl.on }

// cannotServe is the refusal of a target that cannot perform the client's
// operation in any format.
func cannotServe(tgt *target, op provider.Operation) *HTTPError {
	return &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "model",
		Msg: "target " + tgt.name + " (a provider of kind " + tgt.up.Kind() + ") cannot serve " + op.String() +
			" requests; route this model to a provider that can"}
}

// prepareTranslated builds the upstream request of a translated attempt
// to tgt, which performs upOp on model: the client's body decoded (once per
// exchange) and encoded in the target's format, at the target's path. It
// returns the provider key's index, or the refusal of a request the
// target's format cannot carry.
func (x *exchange) prepareTranslated(ctx *fasthttp.RequestCtx, tgt *target, upOp provider.Operation, model string, body []byte) (int, *HTTPError) {
	if x.xl == nil {
		x.xl = &translation{}
	}
	xl := x.xl
	xl.on, xl.upOp = true, upOp
	embeds := x.op.Embeds()
	if embeds {
		xl.clientE, xl.upE = provider.EmbedCodec(x.op), provider.EmbedCodec(upOp)
		if xl.clientE == nil || xl.upE == nil || xl.clientE.DecodeRequest == nil || xl.upE.EncodeRequest == nil {
			return -1, cannotServe(tgt, x.op)
		}
	} else {
		xl.client, xl.up = provider.Codec(x.op), provider.Codec(upOp)
		if xl.client == nil || xl.up == nil || xl.client.DecodeRequest == nil || xl.up.EncodeRequest == nil {
			return -1, cannotServe(tgt, x.op)
		}
	}
	if !xl.decoded {
		xl.decoded = true
		if embeds {
			xl.ereq.Inputs = xl.ereq.Inputs[:0]
			xl.decErr = xl.clientE.DecodeRequest(body, &xl.ereq)
		} else {
			xl.req.Reset()
			xl.decErr = xl.client.DecodeRequest(body, &xl.req)
		}
	}
	if xl.decErr != nil {
		return -1, translateError(xl.decErr)
	}
	var err error
	n := 1
	if embeds {
		xl.ereq.Model = model
		n = len(xl.ereq.Inputs)
		x.body, err = xl.upE.EncodeRequest(x.body[:0], &xl.ereq)
	} else {
		if upOp != provider.OpResponses && (xl.req.Store == canon.TriTrue || xl.req.PreviousResponseID != "") {
			param := "previous_response_id"
			if xl.req.PreviousResponseID == "" {
				param = "store"
			}
			return -1, &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: param,
				Msg: "target " + tgt.name + " does not speak the Responses API, so Sluice cannot store responses there or continue one: " +
					"send store: false and the whole conversation in input"}
		}
		xl.req.Model = model
		xl.req.Stream = x.stream
		x.body, err = xl.up.EncodeRequest(x.body[:0], &xl.req)
	}
	if err != nil {
		return -1, translateError(err)
	}
	req := &x.upReq
	rest, query := tgt.up.OpPath(xl.path[:0], upOp, model, x.stream, n)
	xl.path = rest
	keyIdx := tgt.up.PrepareModel(req, strPOST, rest, query, model, &ctx.Request.Header)
	// The reply is read here: a compressed one could not be.
	req.Header.DelBytes(strAcceptEncoding)
	req.Header.DelBytes(strContentEncoding)
	req.Header.SetContentType("application/json")
	req.Header.SetCanonical(strAccept, acceptOf(upOp, x.stream))
	req.SetBodyRaw(x.body)
	if err := tgt.up.Sign(req, x.body); err != nil {
		return -1, &HTTPError{Status: 500, Code: CodeInternal, Err: err,
			Msg: "Sluice could not sign the request to provider " + tgt.up.Name() + "; check its credentials"}
	}
	return keyIdx, nil
}

var (
	strAcceptEncoding  = []byte(fasthttp.HeaderAcceptEncoding)
	strContentEncoding = []byte(fasthttp.HeaderContentEncoding)
	strAccept          = []byte("Accept")
	strAcceptJSON      = []byte("application/json")
	strAcceptSSE       = []byte("text/event-stream")
	strAcceptAWSEvent  = []byte("application/vnd.amazon.eventstream")
)

// acceptOf is the Accept header of a translated request: what the target
// answers, whatever the client's own SDK asked of its own format.
func acceptOf(op provider.Operation, stream bool) []byte {
	switch {
	case !stream:
		return strAcceptJSON
	case op == provider.OpConverse:
		return strAcceptAWSEvent
	}
	return strAcceptSSE
}

// translateError is the 400 of a request the translation cannot carry.
func translateError(err error) *HTTPError {
	var fe *canon.FieldError
	if errors.As(err, &fe) {
		return &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: fe.Field, Err: err,
			Msg: "field " + fe.Field + ": " + fe.Msg}
	}
	if errors.Is(err, canon.ErrInvalidJSON) {
		return bodyError(provider.ErrInvalidJSON)
	}
	return &HTTPError{Status: 400, Code: CodeInvalidRequest, Err: err,
		Msg: "the request cannot be translated for this model's provider: " + err.Error()}
}

// deliverTranslated is deliver for a translated attempt: the reply, or
// the upstream's error, is written in the client's format; a stream is
// relayed through the codecs (fillTranslated).
func (x *exchange) deliverTranslated(ctx *fasthttp.RequestCtx) {
	xl := x.xl
	resp := &x.upResp
	status := resp.StatusCode()
	provider.CopyResponseHeaders(&ctx.Response.Header, &resp.Header)
	provider.MapRateLimitHeaders(&ctx.Response.Header, x.up.Format(), x.format, time.Now())
	// The body is Sluice's own encoding of the upstream's.
	ctx.Response.Header.DelBytes(strContentEncoding)
	x.setLimitHeaders(&ctx.Response.Header)
	ctx.SetStatusCode(status)
	x.status = status
	if status >= 500 {
		x.g.met.UpstreamError(x.up.Name(), "status_"+itoa(status/100)+"xx")
	}
	if x.stream && status == 200 && resp.BodyStream() != nil {
		ctx.Response.Header.SetContentType("text/event-stream")
		ctx.Response.Header.Del(fasthttp.HeaderContentLength)
		x.startTranslatedStream()
		x.startRelay(ctx, x.totalDeadline)
		return
	}
	body, err := upstreamBody(resp)
	ctx.SetContentType("application/json")
	if err != nil {
		x.malformedReply(ctx, err)
		return
	}
	if status >= 300 {
		x.setClientBody(ctx, x.upstreamError(status, body))
		x.settle()
		return
	}
	var out []byte
	if x.op.Embeds() {
		xl.erep = canon.EmbedReply{}
		if err := xl.upE.DecodeReply(body, &xl.erep); err != nil {
			x.malformedReply(ctx, err)
			return
		}
		x.usage = xl.erep.Usage
		out = xl.clientE.EncodeReply(xl.out[:0], &xl.erep, &xl.ereq)
	} else {
		xl.reply.Reset()
		if err := xl.up.DecodeReply(body, &xl.reply); err != nil {
			x.malformedReply(ctx, err)
			return
		}
		x.usage = xl.reply.Usage
		out = xl.client.EncodeReply(xl.out[:0], &xl.reply, &xl.req)
	}
	xl.out = out
	if x.gpol != nil && x.gpol.HasOutput() && x.op.HasReplyText() {
		checked, herr := x.checkOutput(out)
		if herr != nil {
			x.fail(ctx, herr)
			return
		}
		out = checked
	}
	x.setClientBody(ctx, out)
	x.settle()
}

// upstreamBody is an upstream reply's body, decompressed if an upstream
// compressed it unasked (translated requests send no Accept-Encoding).
func upstreamBody(resp *fasthttp.Response) ([]byte, error) {
	if len(resp.Header.ContentEncoding()) == 0 {
		return resp.Body(), nil
	}
	return resp.BodyUncompressed()
}

// setClientBody sets the client response's body (a copy: out is the
// exchange's buffer), logged when bodies are.
func (x *exchange) setClientBody(ctx *fasthttp.RequestCtx, out []byte) {
	ctx.Response.SetBody(out)
	if x.s.logBodies == logFull {
		x.keepBody(&x.logResp, out)
	}
}

// malformedReply answers a translated reply Sluice could not read.
func (x *exchange) malformedReply(ctx *fasthttp.RequestCtx, err error) {
	x.billFailed(&provider.UpstreamError{Kind: provider.KindMalformed, Err: err})
	x.g.met.UpstreamError(x.up.Name(), provider.KindMalformed)
	x.fail(ctx, &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: err,
		Msg: "provider " + x.up.Name() + " sent a reply Sluice could not read to translate it; retry later"})
}

var strPingComment = []byte(": ping\n\n")

// upstreamError renders an upstream's error reply in the client's format,
// with the upstream's status, so that every SDK raises its own typed error.
func (x *exchange) upstreamError(status int, body []byte) []byte {
	var ce canon.Error
	up := x.xl.up
	if x.op.Embeds() {
		// Embeddings errors are written as their format's other errors.
		up = provider.Codec(provider.EmbedErrorOp(x.xl.upOp))
	}
	if up == nil || up.DecodeError == nil {
		ce = canon.Error{Status: status, Type: canon.ErrorTypeOf(status), Message: "provider " + x.up.Name() + " answered " + strconv.Itoa(status)}
	} else {
		ce = up.DecodeError(status, body)
	}
	e := wireError(ce)
	if x.format == provider.FormatOpenAI && ce.Code != "" && openAICode(ce.Code) &&
		(ce.Type == canon.ErrInvalidRequest || ce.Type == canon.ErrAPI || ce.Type == canon.ErrRateLimit) {
		// OpenAI's clients act on some codes (context_length_exceeded,
		// insufficient_quota): an upstream's own, in OpenAI's style, is
		// kept. The types the other formats derive from Code are not at
		// stake for those.
		e.Code = ce.Code
	}
	return x.format.Hooks().AppendError(x.xl.out[:0], e)
}

// openAICode reports whether an upstream's error code is written as
// OpenAI's are (lower-case words joined by underscores), not as Google's
// status names or Anthropic's types.
func openAICode(c string) bool {
	if len(c) > 64 || strings.HasSuffix(c, "_error") {
		return false
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; (b < 'a' || b > 'z') && b != '_' {
			return false
		}
	}
	return true
}

// wireError maps an upstream's error to the one the formats render.
func wireError(ce canon.Error) wire.Error {
	e := wire.Error{Status: ce.Status, Msg: ce.Message, Param: ce.Param}
	switch ce.Type {
	case canon.ErrInvalidRequest:
		e.Code = CodeInvalidRequest
	case canon.ErrAuthentication:
		e.Code = CodeInvalidAPIKey
	case canon.ErrPermission:
		e.Code = "permission_denied"
	case canon.ErrNotFound:
		e.Code = CodeNotFound
	case canon.ErrTooLarge:
		e.Code = CodeRequestTooLarge
	case canon.ErrRateLimit:
		e.Code = CodeRateLimitExceeded
	case canon.ErrOverloaded:
		e.Code = CodeOverloaded
	case canon.ErrTimeout:
		e.Code = CodeUpstreamTimeout
	default:
		e.Code = "api_error"
	}
	if e.Status == 0 {
		e.Status = 500
	}
	return e
}

// startTranslatedStream readies the stream codecs and the reader of the
// upstream's events (startRelay makes the SSE reader: every format but
// Bedrock's streams SSE).
func (x *exchange) startTranslatedStream() {
	xl := x.xl
	xl.dec = xl.up.NewDecoder()
	xl.enc = xl.client.NewEncoder(&xl.req)
	xl.next = nil
	if xl.upOp == provider.OpConverse {
		xl.next = provider.NewEventStreamReader(&x.upRead, maxEvent)
	}
}

// fillTranslated is fill for a translated stream: each upstream event is
// decoded into canonical events, which the client's encoder turns into
// the client's events; those go through the output guardrails
// (relayEvent) as an upstream's own events would.
func (x *exchange) fillTranslated() {
	xl := x.xl
	for {
		var name, data []byte
		var err error
		if xl.next != nil {
			name, data, err = xl.next()
		} else {
			var ev sse.Event
			ev, err = x.rd.Next()
			if err == nil && ev.Incomplete {
				if n := len(ev.Raw); n == 0 || ev.Raw[n-1] != '\n' {
					continue // a broken last line: end() reports it next
				}
			}
			name, data = ev.Name, ev.Data
			if err == nil && len(name) == 0 && len(data) == 0 {
				// A comment (keep-alive): the client's SSE reader skips
				// it as well, and its connection stays alive through a
				// long silence (a model thinking). Google's SDKs read
				// every line as a chunk: Gemini clients get none.
				if x.format != provider.FormatGemini {
					x.out = append(x.out, ev.Raw...)
				}
				continue
			}
			if err == nil && string(name) == "ping" && x.format != provider.FormatGemini {
				x.out = append(x.out, strPingComment...) // Anthropic's keep-alive, as a comment
			}
		}
		if err != nil {
			if f, ok := xl.dec.(canon.StreamFinisher); ok && errors.Is(err, io.EOF) {
				// The upstream's bytes ended: a decoder whose format may
				// end a stream so closes it (or leaves it cut).
				evs := f.Finish(xl.evs[:0])
				xl.evs = evs
				for i := range evs {
					if x.translatedEvent(&evs[i]) {
						return
					}
				}
			}
			x.end(err)
			return
		}
		if x.ttft == 0 {
			x.ttft = time.Since(x.start)
		}
		evs, derr := xl.dec.Decode(name, data, xl.evs[:0])
		xl.evs = evs
		if derr != nil {
			x.end(&provider.UpstreamError{Kind: provider.KindMalformed, Err: derr})
			x.closeUpstream()
			return
		}
		for i := range evs {
			if x.translatedEvent(&evs[i]) {
				return
			}
		}
		if x.done {
			return
		}
		if len(x.out) > 0 && !x.upstreamBuffered() {
			return
		}
	}
}

// translatedEvent relays one canonical event; it reports whether the
// stream ended.
func (x *exchange) translatedEvent(ev *canon.Event) bool {
	xl := x.xl
	switch ev.Kind {
	case canon.EvDelta:
		x.deltas++
	case canon.EvUsage:
		xl.usage.Merge(&ev.Usage)
		x.usage = xl.usage
	case canon.EvEnd:
		x.sawTerminal = true
	case canon.EvError:
		// The upstream's own error event: the client's encoder writes it
		// as its format's (Responses: error and response.failed), after
		// any text the output guardrails still hold.
		x.sawTerminal, x.done = true, true
		we := wireError(ev.Err)
		x.status, x.errCode = we.Status, we.Code
		x.g.met.UpstreamError(x.up.Name(), "stream_"+we.Code)
		x.closeUpstream()
		if !x.finishGuard() {
			return true
		}
		xl.frames.Reset()
		xl.enc.Encode(&xl.frames, ev)
		x.out = xl.frames.AppendSSE(x.out)
		return true
	}
	xl.frames.Reset()
	xl.enc.Encode(&xl.frames, ev)
	for i := 0; i < xl.frames.Len(); i++ {
		name, data := xl.frames.At(i)
		xl.raw = sse.AppendEvent(xl.raw[:0], name, data)
		sev := sse.Event{Name: name, Data: data, Raw: xl.raw}
		if x.op == provider.OpResponses {
			// The error event that may end the stream continues the
			// encoder's sequence numbers.
			var u provider.Usage
			x.format.Hooks().StreamEvent(x.op, name, data, &u, &x.seqNext)
		}
		x.relayEvent(&sev)
		if x.done {
			return true
		}
	}
	return false
}

// finishGuard releases the text the output guardrails hold at the end of
// a stream; false when that text ends it with a block (the block's error
// event is written).
func (x *exchange) finishGuard() bool {
	if x.gs == nil || x.gsCounted {
		return true
	}
	x.out = x.gs.Finish(x.out)
	gerr := x.gs.Err()
	x.collectStreamVerdicts()
	if gerr != nil {
		x.out = x.appendStreamError(x.out, x.streamGuardError(gerr))
		return false
	}
	return true
}

// closeUpstream stops reading the upstream's stream: the relay ended it
// (an upstream error event, an event the codecs could not read).
func (x *exchange) closeUpstream() {
	x.mu.Lock()
	if x.bodyStream != nil {
		_ = x.bodyStream.CloseWithError(errRelayEnded)
	}
	x.mu.Unlock()
}

var errRelayEnded = errors.New("the relay ended the stream")

// upstreamBuffered reports whether the upstream's next event is already
// read (then the relay writes it in the same batch).
func (x *exchange) upstreamBuffered() bool {
	if x.xl.next != nil {
		return false
	}
	return x.rd.Buffered()
}

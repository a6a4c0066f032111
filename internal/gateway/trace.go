package gateway

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/tracing"
)

// Tracing: the sampling decision is taken on arrival (a W3C traceparent
// from the client makes the request a child of the client's span); a
// sampled request carries its own traceparent upstream, so the provider's
// spans hang off Sluice's upstream span, and its spans are recorded at
// settle from the exchange's fields. Unsampled requests pay for the
// decision only (a few ns, no allocation).

// traceState is the exchange's tracing; set only for sampled requests.
type traceState struct {
	traced         bool
	tdec           tracing.Decision
	upStart, upEnd time.Time // first upstream send; end of the last exchange
}

func (t *traceState) reset() { *t = traceState{} }

// The W3C name, in the canonical form fasthttp stores parsed names in.
var strTraceparent = []byte("Traceparent")

// sample takes the tracing decision for a request.
func (x *exchange) sample(ctx *fasthttp.RequestCtx) {
	if x.g.tracer == nil {
		return
	}
	x.tdec, x.traced = x.g.tracer.Sample(ctx.Request.Header.PeekCanonical(strTraceparent))
}

// propagate replaces the client's traceparent on the upstream request with
// the upstream span's, for sampled requests.
func (x *exchange) propagate(req *fasthttp.Request) {
	if !x.traced {
		return
	}
	var buf [64]byte
	req.Header.SetCanonical(strTraceparent, x.tdec.AppendTraceparent(buf[:0]))
}

// trace records the spans of a sampled request.
func (x *exchange) trace(dur time.Duration) {
	s := tracing.Span{
		Decision: x.tdec,
		Start:    x.start,
		End:      x.start.Add(dur),
		Error:    x.errCode,
		Attrs: tracing.Attrs{
			RequestModel: string(x.model),
			InputTokens:  x.usage.Input,
			OutputTokens: x.usage.Output,
			Stream:       x.stream,
			Status:       x.status,
			RequestID:    string(x.reqID),
			KeyID:        x.keyID(),
			Route:        x.routeName(),
			TTFT:         x.ttft,
		},
	}
	if x.op != 0 {
		s.Attrs.Operation = x.op.String()
	}
	if x.tgt != nil {
		s.Attrs.Provider, s.Attrs.ResponseModel = x.tgt.up.Name(), x.tgt.upstreamModel(s.Attrs.RequestModel)
	} else if x.up != nil {
		s.Attrs.Provider = x.up.Name()
	}
	if !x.upStart.IsZero() && x.up != nil {
		c := &tracing.Child{Name: "upstream " + x.up.Name(), Start: x.upStart, End: x.upEnd, Model: s.Attrs.ResponseModel, Status: x.upResp.StatusCode()}
		if x.errCode == CodeUpstreamUnreachable || x.errCode == CodeUpstreamTimeout {
			c.Status, c.Error = 0, x.errCode // no reply came
		}
		if c.End.Before(c.Start) {
			c.End = c.Start
		}
		if host, port, ok := splitHostPort(x.up.Addr()); ok {
			c.ServerAddress, c.ServerPort = host, port
		}
		s.Upstream = c
	}
	x.g.tracer.Record(&s)
}

func splitHostPort(addr string) (string, int, bool) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, err := strconv.Atoi(addr[i+1:])
			if err != nil {
				return "", 0, false
			}
			h := addr[:i]
			if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
				h = h[1 : len(h)-1]
			}
			return h, p, true
		}
	}
	return "", 0, false
}

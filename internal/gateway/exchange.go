package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
)

// exchange is the state of one client request from arrival to settlement.
// Exchanges are pooled: nothing may keep a pointer to one after settle.
//
// Its state is grouped by the stage that owns it, each part with its own
// reset (in the stage's file); the fields common to every stage sit here.
// The parts are embedded, so x.ticket is x.limitState.ticket. reset
// returns an exchange to the state of a fresh exchange{}, less the buffers
// it keeps (TestExchangeResetIsFresh holds it to that).
type exchange struct {
	g      *Gateway
	s      *snapshot    // the config the request runs on, from arrival to settle
	ep     *endpoint    // the client's route; nil: passthrough
	pol    *auth.Policy // the caller's key; nil when auth is off
	format provider.Format
	op     provider.Operation
	start  time.Time
	reqID  []byte
	model  []byte // requested model name (copied out of the body)

	// The outcome, for metrics, the log, the trace and limits.
	upWait  time.Duration // time spent waiting on the upstream
	usage   provider.Usage
	status  int    // status the client saw (499: it went away)
	errCode string // code of the error Sluice produced, if any
	ttft    time.Duration

	settled  bool // settle ran
	relaying bool // the response body is this exchange; Close settles and releases

	routeState  // targets, attempts and the upstream call (attempt.go)
	limitState  // limits held and refusals (limits.go)
	guardState  // guardrails (guard.go)
	logState    // request logging (telemetry.go)
	traceState  // tracing (trace.go)
	relayState  // streaming (relay.go)
	cancelState // a relay's cancellation by its timer or watcher (relay.go)
	shedState   // overload protection's slots (overload.go)
}

type cancelReason int32

const (
	reasonNone cancelReason = iota
	reasonClientGone
	reasonTotalTimeout
)

var exchangePool = sync.Pool{New: func() any { return &exchange{} }}

func (g *Gateway) acquireExchange(r *endpoint) *exchange {
	x := exchangePool.Get().(*exchange)
	// The reply's body buffer stays with the pooled exchange (reset trims a
	// large one): without it every reply read allocated its body anew.
	x.upResp.KeepBodyBuffer = true
	x.g = g
	x.s = g.snap.Load()
	x.ep = r
	x.start = time.Now()
	g.inFlight.Add(1)
	g.met.InFlight().Inc()
	return x
}

// settle records the outcome and returns the exchange to the pool. It runs
// exactly once per exchange, on every exit path.
func (x *exchange) settle() {
	g := x.g
	x.settleLimits()
	dur := time.Since(x.start)
	var cost float64 // of the upstream's reported usage, for metrics and the log
	priced := true
	if x.usage.Valid || x.failedPrompt > 0 || x.cutStream() {
		cost, priced = x.costOf(x.billedUsage())
	} else if x.attempts > 0 {
		_, priced = x.costOf(ratelimit.Usage{})
	}
	if x.tgt != nil {
		obs := metrics.Observation{
			Status:       x.status,
			Duration:     dur,
			TTFT:         x.ttft,
			Overhead:     dur - x.upWait,
			InputTokens:  x.usage.Input,
			OutputTokens: x.usage.Output,
			HasUsage:     x.usage.Valid,
			CostUSD:      cost,
			Unpriced:     !priced && x.attempts > 0,
		}
		x.tgt.met.Observe(&obs)
	}
	if x.errCode != "" {
		g.met.GatewayError(x.routeName(), x.errCode)
	}
	if g.log.Enabled(context.Background(), slog.LevelDebug) {
		x.logAccess(dur)
	}
	if g.tel != nil {
		x.record(dur, cost)
	}
	if x.traced {
		x.trace(dur)
	}
	if x.rt != nil {
		x.rt.End()
	}
	x.plan.End()
	x.settleShed()
	g.inFlight.Add(-1)
	g.met.InFlight().Dec()
	x.settled = true
}

// release returns a settled exchange to the pool. The owner calls it: the
// handler for buffered replies, Close for relayed streams.
func (x *exchange) release() {
	x.reset()
	exchangePool.Put(x)
}

// finish runs deferred by every handler that owns an exchange: it turns a
// panic into a 500, makes sure the exchange settled exactly once, and
// releases it unless a relay took it over (Close releases it then).
func (x *exchange) finish(ctx *fasthttp.RequestCtx) {
	if v := recover(); v != nil {
		x.g.logPanic(v)
		if x.relaying {
			// The panic came after the relay took over: it settles and
			// releases in Close.
			return
		}
		if !x.settled {
			x.fail(ctx, errorf(500, CodeInternal, "Sluice hit an internal error; it was logged, retry the request"))
		}
	}
	if x.relaying {
		return
	}
	if !x.settled {
		x.settle()
	}
	x.release()
}

func (x *exchange) routeName() string {
	if x.ep != nil {
		return x.ep.path
	}
	return "passthrough"
}

func (x *exchange) keyID() string {
	if x.pol != nil {
		return x.pol.ID
	}
	return ""
}

func (x *exchange) logAccess(dur time.Duration) {
	prov, model, upModel := "", string(x.model), ""
	if x.tgt != nil {
		prov, upModel = x.tgt.up.Name(), x.tgt.upstreamModel(model)
	} else if x.up != nil {
		prov = x.up.Name()
	}
	x.g.log.LogAttrs(context.Background(), slog.LevelDebug, "request",
		slog.String("request_id", string(x.reqID)),
		slog.String("route", x.routeName()),
		slog.String("key_id", x.keyID()),
		slog.String("model", model),
		slog.String("provider", prov),
		slog.String("upstream_model", upModel),
		slog.Bool("stream", x.stream),
		slog.Int("status", x.status),
		slog.String("error", x.errCode),
		slog.Duration("duration", dur),
		slog.Duration("upstream", x.upWait),
		slog.Duration("ttft", x.ttft),
		slog.Int64("input_tokens", x.usage.Input),
		slog.Int64("output_tokens", x.usage.Output),
	)
}

// reset readies the exchange for the pool: every part is reset, buffers
// keep their capacity (up to 64 KiB) and everything else is zeroed.
func (x *exchange) reset() {
	x.cancelState.reset() // first: late timer and watcher calls see a new generation
	x.g, x.s, x.ep, x.pol = nil, nil, nil, nil
	x.format, x.op = 0, 0
	x.start = time.Time{}
	x.reqID, x.model = reuse(x.reqID), reuse(x.model)
	x.upWait, x.ttft = 0, 0
	x.usage = provider.Usage{}
	x.status, x.errCode = 0, ""
	x.settled, x.relaying = false, false
	x.routeState.reset()
	x.limitState.reset()
	x.guardState.reset()
	x.logState.reset()
	x.traceState.reset()
	x.relayState.reset()
	x.shedState.reset()
}

// reuse empties a buffer for the next request, keeping its capacity up to
// 64 KiB: a larger one is dropped, so that the pool does not pin it.
func reuse(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

// fail answers the request with e and settles it.
func (x *exchange) fail(ctx *fasthttp.RequestCtx, e *HTTPError) {
	x.status, x.errCode = e.Status, e.Code
	if e.Err != nil && e.Status >= 500 {
		x.g.log.LogAttrs(context.Background(), slog.LevelWarn, "request failed",
			slog.String("request_id", string(x.reqID)), slog.String("code", e.Code), slog.String("error", e.Err.Error()))
	}
	writeError(ctx, x.format, e)
	x.setLimitHeaders(&ctx.Response.Header)
	if x.s.logBodies == logFull {
		x.keepBody(&x.logResp, ctx.Response.Body())
	}
	x.settle()
}

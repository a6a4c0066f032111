package gateway

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/guard"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
	"github.com/sluice-gw/sluice/internal/route"
	"github.com/sluice-gw/sluice/internal/sse"
	"github.com/sluice-gw/sluice/internal/telemetry"
	"github.com/sluice-gw/sluice/internal/tracing"
)

// exchange is the state of one client request from arrival to settlement.
// Exchanges are pooled: nothing may keep a pointer to one after settle.
type exchange struct {
	g      *Gateway
	s      *snapshot // the config the request runs on, from arrival to settle
	ep     *endpoint
	pol    *auth.Policy // the caller's key; nil when auth is off
	tgt    *target
	up     *provider.Upstream
	format provider.Format
	op     provider.Operation
	start  time.Time
	reqID  []byte
	model  []byte // requested model name (copied out of the body)

	upReq  fasthttp.Request
	upResp fasthttp.Response
	body   []byte // edited upstream body

	upWait  time.Duration // time spent waiting on the upstream
	usage   provider.Usage
	status  int    // status the client saw (499: it went away)
	errCode string // code of the error Sluice produced, if any
	ttft    time.Duration

	attempts      int           // upstream attempts made
	plan          route.Plan    // routing (attempt.go): targets, retries, fallbacks; ends at settle
	rt            *route.Target // the target that served, in flight until settle
	kept          bool          // the client response holds an upstream error reply
	totalDeadline time.Time     // when the total timeout ends the exchange
	aw            abandonWatch  // the upstream call, watched for a client that leaves (abandon.go)

	ticket     ratelimit.Ticket   // limits held by this request
	limited    bool               // the ticket holds something to settle
	reserved   int64              // tokens reserved (estimate)
	retryAfter ratelimit.Decision // the refusal, for Retry-After

	// Guardrails (guard.go).
	gpol      *guard.Policy   // the request's policy; nil: none
	gbuf      []byte          // redacted body
	verdicts  []guard.Verdict // every verdict, input and output
	gs        *guard.Stream   // output scanner of a relayed stream
	gsCounted bool            // the scanner's verdicts were collected

	// Request logging (telemetry.go); filled only when it is on.
	rec      telemetry.Record
	remote   net.Addr
	ua       []byte
	path     []byte // passthrough and refusals: the client's path
	endUser  []byte
	bodyLen  int
	logReq   []byte
	logResp  []byte
	fallback bool // served by a target other than the first tried

	// Tracing (trace.go); set only for sampled requests.
	traced         bool
	tdec           tracing.Decision
	upStart, upEnd time.Time // first upstream send; end of the last exchange

	settled  bool // settle ran
	relaying bool // the response body is this exchange; Close settles and releases

	// Translation (translate.go); nil until a translated attempt.
	xl *translation

	// Streaming state (relay.go).
	stream      bool
	raw         bool // relay bytes as they come (passthrough), no SSE parsing
	hideUsage   bool
	sawTerminal bool
	seqNext     int64 // Responses: the sequence_number after the upstream's last event
	conn        net.Conn
	writeTO     time.Duration
	bodyStream  fasthttp.ReadCloserWithError
	rd          *sse.Reader
	upRead      waitTimer // the reply stream, timed (rd reads through it)
	out         []byte
	outPos      int
	done        bool
	timer       *time.Timer
	watchDone   chan struct{}
	watchStop   atomic.Bool
	clientBytes atomic.Bool // the watcher consumed a byte the client sent
	mu          sync.Mutex  // guards gen and reason against late timer calls
	gen         uint64
	reason      cancelReason
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
	if x.usage.Valid && x.s.prices != nil {
		cost = x.costOf(x.reportedUsage())
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

func (x *exchange) reset() {
	x.mu.Lock()
	x.gen++
	x.reason = reasonNone
	x.mu.Unlock()
	x.g, x.s, x.ep, x.tgt, x.up, x.pol = nil, nil, nil, nil, nil, nil
	x.format, x.op = 0, 0
	x.reqID = x.reqID[:0]
	x.model = x.model[:0]
	x.upReq.Reset()
	x.upResp.ReleaseBody(64 << 10) // don't pin huge buffers in the pool
	x.upResp.Reset()
	x.aw.reset() // after the reply's body stream is closed: releases its connection slot
	if cap(x.body) > 64<<10 {
		x.body = nil // don't pin huge buffers in the pool
	}
	x.body = x.body[:0]
	x.upWait, x.ttft = 0, 0
	x.gpol = nil
	x.remote, x.bodyLen, x.fallback = nil, 0, false
	x.traced, x.tdec, x.upStart, x.upEnd = false, tracing.Decision{}, time.Time{}, time.Time{}
	x.ua, x.endUser, x.path = x.ua[:0], x.endUser[:0], x.path[:0]
	if cap(x.logReq) > 64<<10 || cap(x.logResp) > 64<<10 {
		x.logReq, x.logResp = nil, nil
	}
	x.logReq, x.logResp = x.logReq[:0], x.logResp[:0]
	if cap(x.gbuf) > 64<<10 {
		x.gbuf = nil
	}
	x.gbuf, x.verdicts = x.gbuf[:0], x.verdicts[:0]
	if x.gs != nil {
		x.gs.Release()
		x.gs = nil
	}
	x.gsCounted = false
	if x.xl != nil {
		x.xl.reset()
	}
	x.usage = provider.Usage{}
	x.status, x.errCode = 0, ""
	x.stream, x.raw, x.hideUsage, x.sawTerminal, x.done = false, false, false, false, false
	x.seqNext = 0
	x.settled, x.relaying = false, false
	x.attempts, x.rt, x.kept, x.totalDeadline = 0, nil, false, time.Time{}
	x.ticket.Reset()
	x.limited, x.reserved, x.retryAfter = false, 0, ratelimit.Decision{}
	x.conn, x.bodyStream, x.timer, x.watchDone = nil, nil, nil, nil
	x.watchStop.Store(false)
	x.clientBytes.Store(false)
	if cap(x.out) > 64<<10 {
		x.out = nil
	}
	x.out, x.outPos = x.out[:0], 0
	x.upRead = waitTimer{}
	if x.rd != nil {
		x.rd.Reset(nil)
	}
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

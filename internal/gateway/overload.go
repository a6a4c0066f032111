package gateway

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
	smetrics "github.com/sluice-gw/sluice/internal/metrics"
)

// Overload protection (docs/operations.md, "Overload protection").
//
// Sluice sheds load rather than queueing it: a request it cannot serve
// soon gets 503 overloaded (with Retry-After) in the caller's format at
// once, so clients and load balancers can go elsewhere, and the requests
// it does take keep their latency. Four signals decide:
//
//   - requests in flight (server.max_in_flight) and streams open
//     (server.max_streams): fixed caps, derived from the machine unless
//     set. The last tenth of each is kept for keys of priority high.
//   - memory (server.memory_limit): above 90% of the ceiling new requests
//     of normal keys are shed, above 100% every new request. Memory is what
//     the runtime holds from the OS; near the ceiling the sampler first
//     collects and gives free memory back (debug.FreeOSMemory, at most once
//     a second), so that buffers pooled during a burst and free spans not
//     yet returned do not keep it shedding after the burst.
//   - CPU (server.shed_latency): a request arriving while every CPU is
//     busy waits in the Go scheduler's run queue before anything sees it,
//     so that wait is the earliest sign of CPU overload. While the p99 of
//     that wait over the last 100 ms is above shed_latency and goroutines
//     are piling up in the run queue (runnablePerCPU), a share of new
//     requests is shed that grows
//     by a step every 100 ms; normal keys' share first, priority high's
//     only once every normal request is shed. Calm windows shrink them
//     again, high priority's first.
//
// The caps are checked twice: before authentication against the whole cap
// (the cheapest refusal, for everybody), then, once the key is known,
// against the part normal keys may use. The sampler (memory and CPU) runs
// on its own goroutine every 100 ms; the request path reads what it
// decided from atomics.

// Shed reasons, the label of sluice_shed_total.
const (
	shedInFlight = "in_flight"
	shedStreams  = "streams"
	shedMemory   = "memory"
	shedCPU      = "cpu"
	shedClient   = "client_conns"
)

const (
	sampleEvery = 100 * time.Millisecond
	// shedStep is the most a shed share grows in an overloaded window (when
	// the wait is twice the threshold or more) and twice what it shrinks in
	// a calm one.
	shedStep = 0.1
	// runnablePerCPU is how many goroutines per CPU must be waiting to run
	// (at the end of the window) for a long scheduler wait to count as
	// overload: with few of them the wait is a pause (a GC cycle, a noisy
	// neighbour, CPU quota throttling) that shedding would not shorten.
	// Requests in flight would be the wrong count: streams and requests
	// waiting on their upstream take no CPU.
	runnablePerCPU = 8
	// overStreak is how many overloaded windows in a row start shedding
	// (once it has started, each window steers).
	overStreak = 2
	// shedRetryAfter and shedRetryAfterMs are the Retry-After and
	// Retry-After-Ms of a shed request (DESIGN.md: a 429 carries both).
	shedRetryAfter   = "1"
	shedRetryAfterMs = "1000"
)

// Memory levels the sampler sets.
const (
	memOK     = iota
	memNormal // above 90% of the ceiling: shed normal keys
	memAll    // above the ceiling: shed everything
)

// overload is the gateway's load shedder.
type overload struct {
	streams atomic.Int64 // streamed requests admitted and not yet settled

	memLevel atomic.Int32
	// dropNormal and dropHigh are the CPU shed shares of normal and high
	// priority requests, as fractions of 1<<32 (0: none, 1<<32: all).
	dropNormal atomic.Uint64
	dropHigh   atomic.Uint64

	shed      *prometheus.CounterVec
	shedShare *prometheus.GaugeVec
	schedP99  prometheus.Gauge

	mu      sync.Mutex
	stop    chan struct{}
	stopped chan struct{}
	halted  bool // a Shutdown came: a late start starts nothing
}

func newOverload(met *smetrics.Registry) (*overload, error) {
	o := &overload{}
	var err error
	reg := met.Prometheus()
	o.shed = smetrics.RegisterTo(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_shed_total",
		Help: "Requests refused with 503 overloaded (429 for client_conns) to shed load, by reason (in_flight, streams, memory, cpu, client_conns) and key priority (normal, high, or unknown when refused before authentication).",
	}, []string{"reason", "priority"}), &err)
	o.shedShare = smetrics.RegisterTo(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sluice_shed_share",
		Help: "Share of new requests shed for CPU overload right now, by key priority (0 to 1).",
	}, []string{"priority"}), &err)
	o.schedP99 = smetrics.RegisterTo(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_sched_latency_p99_seconds",
		Help: "p99 of the time goroutines waited to run over the last 100 ms: the CPU overload signal compared with server.shed_latency.",
	}), &err)
	return o, err
}

// start runs the sampler until halt. Idempotent.
func (o *overload) start(cfg func() *config.Config) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stop != nil || o.halted {
		return
	}
	o.stop, o.stopped = make(chan struct{}), make(chan struct{})
	go o.sample(cfg, o.stop, o.stopped)
}

// halt stops the sampler and clears what it decided.
func (o *overload) halt() {
	o.mu.Lock()
	stop, stopped := o.stop, o.stopped
	o.stop, o.stopped, o.halted = nil, nil, true
	o.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
}

func priorityLabel(high bool) string {
	if high {
		return "high"
	}
	return "normal"
}

// normalShare is the part of a cap normal keys may use: nine tenths.
func normalShare(n int) int64 { return int64(n) - int64(n)/10 }

// admitEarly is the check before authentication: the whole in-flight cap
// and the memory ceiling, for every request. inFlight counts this request.
func (o *overload) admitEarly(s *config.Server, inFlight int64) (reason string) {
	if s.MaxInFlight > 0 && inFlight > int64(s.MaxInFlight) {
		return shedInFlight
	}
	if o.memLevel.Load() >= memAll {
		return shedMemory
	}
	return ""
}

// admit is the check once the key's priority is known.
func (o *overload) admit(s *config.Server, inFlight int64, high bool) (reason string) {
	if high {
		if d := o.dropHigh.Load(); d != 0 && rand.Uint64()>>32 < d {
			return shedCPU
		}
		return ""
	}
	if s.MaxInFlight > 0 && inFlight > normalShare(s.MaxInFlight) {
		return shedInFlight
	}
	if o.memLevel.Load() >= memNormal {
		return shedMemory
	}
	if d := o.dropNormal.Load(); d != 0 && rand.Uint64()>>32 < d {
		return shedCPU
	}
	return ""
}

// admitStream takes a stream slot; the caller releases it with
// releaseStream whatever the answer.
func (o *overload) admitStream(s *config.Server, high bool) (reason string) {
	n := o.streams.Add(1)
	if limit, ok := streamLimit(s, high); ok && n > limit {
		return shedStreams
	}
	return ""
}

func (o *overload) releaseStream() { o.streams.Add(-1) }

// streamsFull reports whether a new stream would be refused now.
func (o *overload) streamsFull(s *config.Server, high bool) bool {
	limit, ok := streamLimit(s, high)
	return ok && o.streams.Load() >= limit
}

// streamLimit is how many streams may be open when one of a key of this
// priority is admitted; ok is false when streams are not capped.
func streamLimit(s *config.Server, high bool) (limit int64, ok bool) {
	if s.MaxStreams <= 0 {
		return 0, false
	}
	if high {
		return int64(s.MaxStreams), true
	}
	return normalShare(s.MaxStreams), true
}

// wantsStream reports whether the request on model route r asks for a
// streamed reply (a bad body does not: its error comes later).
func wantsStream(ctx *fasthttp.RequestCtx, r *endpoint) bool {
	f, err := scanFields(ctx, r, ctx.PostBody())
	return err == nil && f.Stream
}

// sample watches memory and the scheduler every sampleEvery.
func (o *overload) sample(cfg func() *config.Config, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	defer o.reset()
	samples := []metrics.Sample{
		{Name: "/sched/latencies:seconds"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/sched/goroutines/runnable:goroutines"},
	}
	var lastGC time.Time
	var prevCounts []uint64
	streak, cpuOn := 0, false
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s := &cfg().Server
		metrics.Read(samples)

		// Memory: what the runtime holds from the OS (its part of the
		// RSS), as GOMEMLIMIT counts it.
		if lim := int64(s.MemoryLimit); lim > 0 && samples[1].Value.Kind() == metrics.KindUint64 {
			level := int32(memOK)
			held := memoryHeld(samples[1:])
			if held > lim-lim/10 && time.Since(lastGC) >= time.Second {
				// Near the ceiling: collect and give free memory back
				// first, so that garbage and free spans (pooled buffers
				// after a burst) are not taken for load.
				debug.FreeOSMemory()
				lastGC = time.Now()
				metrics.Read(samples)
				held = memoryHeld(samples[1:])
			}
			switch {
			case held > lim:
				level = memAll
			case held > lim-lim/10:
				level = memNormal
			}
			o.memLevel.Store(level)
		}

		// CPU: the scheduler's wait over this window, and how busy we were.
		var p99 float64
		if samples[0].Value.Kind() == metrics.KindFloat64Histogram {
			h := samples[0].Value.Float64Histogram()
			p99 = windowQuantile(h, prevCounts, 0.99)
			prevCounts = append(prevCounts[:0], h.Counts...)
		}
		o.schedP99.Set(p99)
		if s.ShedLatency <= 0 {
			if cpuOn { // a reload turned it off: shed nothing more for CPU
				o.dropNormal.Store(0)
				o.dropHigh.Store(0)
				o.shedShare.Reset()
			}
			cpuOn, streak = false, 0
			continue
		}
		cpuOn = true
		var runnable uint64
		if samples[3].Value.Kind() == metrics.KindUint64 {
			runnable = samples[3].Value.Uint64()
		}
		queued := runnable >= uint64(runnablePerCPU*runtime.GOMAXPROCS(0))
		over := s.ShedLatency > 0 && p99 > s.ShedLatency.D().Seconds() && queued
		if over {
			streak++
		} else {
			streak = 0
		}
		if over && streak < overStreak && o.dropNormal.Load() == 0 {
			continue // not yet: a single slow window is not overload
		}
		o.steer(over, p99/s.ShedLatency.D().Seconds())
	}
}

// steer moves the CPU shed shares one step: up while overloaded (normal
// keys' first, high priority's once normal's is full), down while calm
// (high priority's first).
//
// An overloaded window's step is in proportion to how far the wait is over
// the threshold (ratio is wait ÷ threshold): a full step at twice it or
// more, a small one just over it, so the share settles where the wait is
// about the threshold instead of swinging between none and all (shed
// requests cost CPU too, so the wait falls less than the load).
func (o *overload) steer(over bool, ratio float64) {
	const full = float64(1 << 32)
	dn, dh := float64(o.dropNormal.Load())/full, float64(o.dropHigh.Load())/full
	up := shedStep * math.Min(math.Max(ratio-1, 0.1), 1)
	switch {
	case over && dn < 1:
		dn = math.Min(1, dn+up)
	case over:
		dh = math.Min(1, dh+up)
	case dh > 0:
		dh = math.Max(0, dh-shedStep/2)
	default:
		dn = math.Max(0, dn-shedStep/2)
	}
	snap := func(v float64) float64 { // 0.1 ten times is not exactly 1
		switch {
		case v > 1-1e-6:
			return 1
		case v < 1e-6:
			return 0
		}
		return v
	}
	dn, dh = snap(dn), snap(dh)
	o.dropNormal.Store(uint64(dn * full))
	o.dropHigh.Store(uint64(dh * full))
	o.shedShare.WithLabelValues("normal").Set(dn)
	o.shedShare.WithLabelValues("high").Set(dh)
}

func (o *overload) reset() {
	o.memLevel.Store(memOK)
	o.schedP99.Set(0)
	o.dropNormal.Store(0)
	o.dropHigh.Store(0)
	o.shedShare.WithLabelValues("normal").Set(0)
	o.shedShare.WithLabelValues("high").Set(0)
}

// memoryHeld is the memory the runtime holds from the OS: total less
// what it has released. s is total and released, in that order.
func memoryHeld(s []metrics.Sample) int64 {
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// windowQuantile is the q-quantile of the observations h gained since
// prev (h's counts at the last sample; nil: none), as the upper bound of
// the bucket it falls in; 0 when there were none.
func windowQuantile(h *metrics.Float64Histogram, prev []uint64, q float64) float64 {
	var total uint64
	for i, c := range h.Counts {
		if i < len(prev) {
			c -= prev[i]
		}
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range h.Counts {
		if i < len(prev) {
			c -= prev[i]
		}
		seen += c
		if seen >= rank {
			up := h.Buckets[i+1]
			if math.IsInf(up, 1) {
				up = h.Buckets[i]
			}
			return up
		}
	}
	return 0
}

// shedState is what an exchange holds of the overload protection.
type shedState struct {
	streamSlot bool       // took a stream slot (overload.streams)
	clientHeld bool       // counted against clientAddr's cap (behind a trusted proxy)
	clientAddr netip.Addr // the forwarded client
}

func (s *shedState) reset() { *s = shedState{} }

// Errors of shed requests, built once: shedding must cost next to nothing.
var (
	errShedInFlight = errorf(503, CodeOverloaded, "Sluice is at its limit of requests in flight (server.max_in_flight); retry after a short backoff")
	errShedStreams  = errorf(503, CodeOverloaded, "Sluice is at its limit of open streams (server.max_streams); retry after a short backoff")
	errShedMemory   = errorf(503, CodeOverloaded, "Sluice is near its memory ceiling (server.memory_limit); retry after a short backoff")
	errShedCPU      = errorf(503, CodeOverloaded, "Sluice is overloaded (its CPUs are saturated); retry after a short backoff")
	errShedClient   = errorf(429, CodeRateLimitExceeded, "too many connections from your address (server.max_conns_per_client); reuse connections and retry after a short backoff")
)

// shed answers a request refused for reason and settles it; early: before
// authentication, so its priority is unknown.
func (x *exchange) shed(ctx *fasthttp.RequestCtx, reason string, early bool) {
	prio := "unknown" // refused before authentication
	if !early {
		prio = priorityLabel(x.pol != nil && x.pol.HighPriority)
	}
	x.g.over.shed.WithLabelValues(reason, prio).Inc()
	ctx.Response.Header.Set("Retry-After", shedRetryAfter)
	ctx.Response.Header.Set("Retry-After-Ms", shedRetryAfterMs)
	var e *HTTPError
	switch reason {
	case shedInFlight:
		e = errShedInFlight
	case shedStreams:
		e = errShedStreams
	case shedMemory:
		e = errShedMemory
	case shedClient:
		e = errShedClient
	default:
		e = errShedCPU
	}
	x.fail(ctx, e)
}

// settleShed gives back what the exchange holds of the overload
// protection. Settle calls it.
func (x *exchange) settleShed() {
	if x.streamSlot {
		x.g.over.releaseStream()
	}
	if x.clientHeld && x.g.clients != nil {
		x.g.clients.release(x.clientAddr)
	}
	x.streamSlot, x.clientHeld = false, false
}

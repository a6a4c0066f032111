package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/sse"
)

// allKinds lists the error kinds in the order reports show them.
var allKinds = []string{KindHTTP4xx, KindHTTP5xx, KindHTTPOther, KindTimeout, KindReset,
	KindRefused, KindStreamIncomplete, KindStreamError, KindNotSent, KindOther}

// startLead is how far ahead of now a step's schedule starts, so that the first
// workers are ready when request 0 is due.
const startLead = 20 * time.Millisecond

// rssEvery is how often the peak RSS of a target is sampled.
const rssEvery = 100 * time.Millisecond

// stepRun is one target at one rate and variant: its schedule, workers and counters.
type stepRun struct {
	cfg    *Config
	tgt    *Target
	v      *variant
	rate   int
	clk    Clock
	hc     *fasthttp.HostClient
	stream bool

	jobs             chan time.Duration // scheduled times, from the pacer to the workers
	winStart, winEnd time.Duration
	deadline         atomic.Int64 // clock time after which nothing more is sent; 0 until set
	aborted          atomic.Bool

	lat, lag, ttft, itl *Histogram
	scheduled           int64 // measured requests dispatched; pacer goroutine only
	sentWin             atomic.Int64
	ok                  atomic.Int64
	errs                map[string]*atomic.Int64 // read-only map
	tokens              atomic.Int64
	streamTime          atomic.Int64 // ns, summed over successful measured streams

	idle    atomic.Int64
	workers int // pacer goroutine only
	wg      sync.WaitGroup
}

// sampled is what the sampler measured over the window.
type sampled struct {
	cpu, gen time.Duration
	peakRSS  int64
	err      error
}

// runStep measures one target at one rate and variant.
func runStep(ctx context.Context, cfg *Config, t *Target, v *variant, rate int, emit func(Event)) (Step, error) {
	hc, err := newClient(t, cfg.MaxConns, cfg.Timeout, cfg.Stream)
	if err != nil {
		return Step{}, err
	}
	defer hc.CloseIdleConnections()
	r := &stepRun{
		cfg: cfg, tgt: t, v: v, rate: rate, clk: cfg.Clock, hc: hc, stream: cfg.Stream,
		jobs: make(chan time.Duration, min(max(rate, 1024), 1<<16)),
		lat:  NewHistogram(), lag: NewHistogram(), ttft: NewHistogram(), itl: NewHistogram(),
		errs: make(map[string]*atomic.Int64, len(allKinds)),
	}
	for _, k := range allKinds {
		r.errs[k] = new(atomic.Int64)
	}
	start := r.clk.Now() + startLead
	r.winStart = start + cfg.Warmup
	r.winEnd = r.winStart + cfg.Step
	sched := &schedule{start: start, end: r.winEnd, rate: float64(rate)}

	if !cfg.Closed {
		// Size the pool for the expected concurrency (Little's law with a margin); it
		// grows while requests wait for a worker.
		expect := v.expect + 0.002
		for range min(int(math.Ceil(float64(rate)*expect*1.5))+4, cfg.MaxConns) {
			r.spawn()
		}
	}

	var stopPace atomic.Bool
	stopAbort := context.AfterFunc(ctx, func() { stopPace.Store(true); r.aborted.Store(true) })
	defer stopAbort()
	done := make(chan struct{})
	samples := make(chan sampled, 1)
	go func() { samples <- r.sample(ctx.Done()) }()
	var tickers sync.WaitGroup
	if emit != nil {
		tickers.Go(func() { r.tick(done, emit) })
	}

	if cfg.Closed {
		r.closedLoop(start, &stopPace)
	} else {
		pace(r.clk, sched, &stopPace, r.dispatch)
		r.deadline.Store(int64(max(r.clk.Now(), r.winEnd) + cfg.Timeout))
		close(r.jobs)
	}
	r.wg.Wait()
	close(done)
	tickers.Wait()
	sm := <-samples
	st := r.result(sm)
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, sm.err
}

// closedLoop keeps rate requests in flight from start to the end of the window: each
// of rate workers sends its next request as soon as the last one has ended, timed from
// its actual send.
func (r *stepRun) closedLoop(start time.Duration, stop *atomic.Bool) {
	r.deadline.Store(int64(r.winEnd + r.cfg.Timeout))
	var scheduled atomic.Int64
	for range min(r.rate, r.cfg.MaxConns) {
		r.workers++
		r.wg.Go(func() {
			req := newRequest(r.tgt, r.v, r.stream)
			defer fasthttp.ReleaseRequest(req)
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			var sr *sse.Reader
			if r.stream {
				sr = sse.NewReader(nil, 0)
			}
			if d := start - r.clk.Now(); d > 0 {
				time.Sleep(d) // Clock.SleepUntil is for one goroutine only
			}
			for !stop.Load() {
				at := r.clk.Now()
				if at >= r.winEnd {
					return
				}
				if at >= r.winStart {
					scheduled.Add(1)
				}
				r.one(at, req, resp, sr)
			}
		})
	}
	r.wg.Wait()
	r.scheduled = scheduled.Load()
}

// spawn starts one more worker. Pacer goroutine only.
func (r *stepRun) spawn() {
	r.workers++
	r.idle.Add(1)
	r.wg.Go(r.work)
}

// dispatch hands one scheduled request to the workers, growing the pool when none is
// free. It blocks when the queue is full and the pool is at its limit: the pacer then
// falls behind, and its lateness shows in every latency it measures.
func (r *stepRun) dispatch(at time.Duration) {
	if at >= r.winStart && at < r.winEnd {
		r.scheduled++
	}
	if r.idle.Load() <= 0 && r.workers < r.cfg.MaxConns {
		r.spawn()
	}
	r.jobs <- at
}

// work is one worker: one request, one response, one connection at a time.
func (r *stepRun) work() {
	req := newRequest(r.tgt, r.v, r.stream)
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	var sr *sse.Reader
	if r.stream {
		sr = sse.NewReader(nil, 0)
	}
	for at := range r.jobs {
		r.idle.Add(-1)
		r.one(at, req, resp, sr)
		r.idle.Add(1)
	}
}

// one sends the request scheduled at at and records its outcome if it is measured.
func (r *stepRun) one(at time.Duration, req *fasthttp.Request, resp *fasthttp.Response, sr *sse.Reader) {
	measured := at >= r.winStart && at < r.winEnd
	now := r.clk.Now()
	if d := r.deadline.Load(); d != 0 && int64(now) > d || r.aborted.Load() {
		if measured {
			r.errs[KindNotSent].Add(1)
		}
		return
	}
	if now >= r.winStart && now < r.winEnd {
		r.sentWin.Add(1)
	}
	if measured {
		r.lag.Record(now - at)
	}
	err := r.hc.Do(req, resp)
	if r.stream && err == nil {
		defer func() { _ = resp.CloseBodyStream() }()
	}
	if !measured {
		return
	}
	if err != nil {
		r.errs[errKind(err)].Add(1)
		return
	}
	if k := statusKind(resp.StatusCode()); k != "" {
		r.errs[k].Add(1)
		return
	}
	if r.stream {
		r.readStream(at, resp, sr)
		return
	}
	end := r.clk.Now()
	r.ok.Add(1)
	r.lat.Record(end - at)
}

// readStream reads an OpenAI chat completion stream to its [DONE], recording time to
// first token, the gaps between tokens and the total stream time.
func (r *stepRun) readStream(at time.Duration, resp *fasthttp.Response, sr *sse.Reader) {
	body := resp.BodyStream()
	if body == nil {
		body = bytes.NewReader(resp.Body())
	}
	sr.Reset(body)
	limit := at + r.cfg.Timeout + r.cfg.Step // no stream outlives its step by much
	var first, last time.Duration
	var tokens int64
	for {
		ev, err := sr.Next()
		now := r.clk.Now()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.errs[KindStreamIncomplete].Add(1)
			} else {
				r.errs[errKind(err)].Add(1)
			}
			return
		}
		if ev.IsDone() {
			r.ok.Add(1)
			r.lat.Record(now - at)
			r.tokens.Add(tokens)
			r.streamTime.Add(int64(now - at))
			return
		}
		if len(ev.Data) == 0 || ev.Incomplete {
			continue
		}
		if string(ev.Name) == "error" || gjson.GetBytes(ev.Data, "error").Exists() {
			r.errs[KindStreamError].Add(1)
			return
		}
		if c := gjson.GetBytes(ev.Data, "choices.0.delta.content"); c.Type == gjson.String && len(c.Raw) > 2 {
			tokens++
			if tokens == 1 {
				first = now
				r.ttft.Record(first - at)
			} else {
				r.itl.Record(now - last)
			}
			last = now
		}
		if now > limit || r.aborted.Load() {
			r.errs[KindTimeout].Add(1)
			return
		}
	}
}

// sample measures the target's CPU time and peak RSS, and the generator's own CPU
// time, over the measured window. It returns early when abort closes.
func (r *stepRun) sample(abort <-chan struct{}) sampled {
	var s sampled
	wait := func(until time.Duration) bool {
		d := until - r.clk.Now()
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-abort:
			return false
		}
	}
	if !wait(r.winStart) {
		return s
	}
	pids := r.tgt.PIDs
	var c0 cpuSample
	if len(pids) > 0 {
		c0, s.err = readCPU("/proc", pids)
	}
	g0 := selfCPU()
	peak := func() {
		if len(pids) == 0 || s.err != nil {
			return
		}
		rss, err := readRSS("/proc", pids)
		if err != nil {
			s.err = err
			return
		}
		s.peakRSS = max(s.peakRSS, rss)
	}
	peak()
	for next := r.winStart + rssEvery; next < r.winEnd; next += rssEvery {
		if !wait(next) {
			return s
		}
		peak()
	}
	if !wait(r.winEnd) {
		return s
	}
	peak()
	s.gen = selfCPU() - g0
	if len(pids) > 0 && s.err == nil {
		c1, err := readCPU("/proc", pids)
		if err != nil {
			s.err = err
			return s
		}
		s.cpu = cpuBetween(c0, c1)
	}
	return s
}

// tick reports progress twice a second until done closes.
func (r *stepRun) tick(done <-chan struct{}, emit func(Event)) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			now := r.clk.Now()
			ev := Event{Kind: EventTick, Target: r.tgt.Name, Variant: r.v.name, Rate: r.rate,
				Window: r.cfg.Step, Sent: r.sentWin.Load(), P99: r.lat.Quantile(0.99), Errors: r.errorCount()}
			switch {
			case now < r.winStart:
				ev.Phase = PhaseWarmup
			case now < r.winEnd:
				ev.Phase = PhaseMeasure
				ev.Elapsed = now - r.winStart
			default:
				ev.Phase = PhaseDrain
				ev.Elapsed = r.cfg.Step
			}
			if ev.Elapsed > 0 {
				ev.AchievedRPS = float64(ev.Sent) / ev.Elapsed.Seconds()
			}
			emit(ev)
		}
	}
}

func (r *stepRun) errorCount() int64 {
	var n int64
	for _, c := range r.errs {
		n += c.Load()
	}
	return n
}

// result assembles the step's figures.
func (r *stepRun) result(sm sampled) Step {
	window := r.cfg.Step.Seconds()
	st := Step{
		Target: r.tgt.Name, Variant: r.v.name, Rate: r.rate, WindowS: window,
		Scheduled: r.scheduled, Sent: r.sentWin.Load(), OK: r.ok.Load(),
		AchievedRPS:  math.Round(float64(r.sentWin.Load())/window*10) / 10,
		P50Ms:        ms(r.lat.Quantile(0.5)),
		P90Ms:        ms(r.lat.Quantile(0.9)),
		P95Ms:        ms(r.lat.Quantile(0.95)),
		P99Ms:        ms(r.lat.Quantile(0.99)),
		P999Ms:       ms(r.lat.Quantile(0.999)),
		MaxMs:        ms(r.lat.Max()),
		ErrorsByKind: map[string]int64{},
		SendLagP50Ms: ms(r.lag.Quantile(0.5)),
		SendLagP99Ms: ms(r.lag.Quantile(0.99)),
		SendLagMaxMs: ms(r.lag.Max()),
		Conns:        r.workers,
	}
	for _, k := range allKinds {
		if n := r.errs[k].Load(); n > 0 {
			st.ErrorsByKind[k] = n
			st.Errors += n
		}
	}
	if st.Scheduled > 0 {
		st.ErrorRate = float64(st.Errors) / float64(st.Scheduled)
	}
	if st.Sent > 0 {
		st.GenCPUUsPerReq = round1(float64(sm.gen.Microseconds()) / float64(st.Sent))
		if len(r.tgt.PIDs) > 0 && sm.err == nil {
			c := round1(float64(sm.cpu.Nanoseconds()) / 1000 / float64(st.Sent))
			st.CPUUsPerReq = &c
		}
	}
	if len(r.tgt.PIDs) > 0 && sm.err == nil && sm.peakRSS > 0 {
		m := round1(float64(sm.peakRSS) / (1 << 20))
		st.PeakRSSMB = &m
	}
	if r.stream {
		ss := &StreamStats{
			TTFTP50Ms: ms(r.ttft.Quantile(0.5)), TTFTP90Ms: ms(r.ttft.Quantile(0.9)),
			TTFTP99Ms: ms(r.ttft.Quantile(0.99)), TTFTMaxMs: ms(r.ttft.Max()),
			ITLP50Ms: ms(r.itl.Quantile(0.5)), ITLP90Ms: ms(r.itl.Quantile(0.9)),
			ITLP99Ms: ms(r.itl.Quantile(0.99)), ITLMaxMs: ms(r.itl.Max()),
			Tokens: r.tokens.Load(),
		}
		if t := time.Duration(r.streamTime.Load()).Seconds(); t > 0 {
			ss.TokensPerS = round1(float64(ss.Tokens) / t)
		}
		st.Stream = ss
	}
	return st
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

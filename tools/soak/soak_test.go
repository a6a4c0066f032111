package main

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// TestConfig loads the file the soak writes, for both parities of the
// generation, and checks what the soak relies on. (What every generation
// must do, parse and differ from the last, harness.TestGatewayConfig
// checks.)
func TestConfig(t *testing.T) {
	for gen := range 2 {
		c, _, err := gatewayConfig().Load(t.TempDir(), gen)
		if err != nil {
			t.Fatal(err)
		}
		if c.Telemetry.Sink != "postgres" || c.Telemetry.FlushInterval.D() != flushInterval || c.Telemetry.SinkTimeout.D() != sinkTimeout {
			t.Errorf("telemetry %q %v %v, want postgres %v %v", c.Telemetry.Sink, c.Telemetry.FlushInterval, c.Telemetry.SinkTimeout,
				flushInterval, sinkTimeout)
		}
		if c.Limits.Redis.FailMode != "local" {
			t.Errorf("limits.redis.fail_mode %q: a Redis restart would refuse or open, not fall back", c.Limits.Redis.FailMode)
		}
		names := map[string]bool{}
		for _, m := range c.Models {
			names[m.Name] = true
		}
		if !names["gpt-4o-mini"] || !names[errorModel] {
			t.Errorf("models %v lack gpt-4o-mini or %s", names, errorModel)
		}
		i := slices.IndexFunc(c.Auth.Keys, func(k config.StaticKey) bool { return k.Key.Reveal() == loadKey })
		if i < 0 {
			t.Errorf("no load key %s", loadKey)
		}
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		d                                    time.Duration
		quiet, gap, warmup, window, interval time.Duration
	}{
		// Three minutes: the first round's cancel burst (at 15 s, 10 s,
		// 100 s of aftermath) sets the warm-up.
		{3 * time.Minute, 15 * time.Second, 15 * time.Second, 125 * time.Second, 18 * time.Second, 2 * time.Second},
		// Ten minutes: the first round's reload (at 150 s, 7 s, 60 s).
		{10 * time.Minute, 30 * time.Second, 30 * time.Second, 217 * time.Second, time.Minute, 6 * time.Second},
		// An hour: 20 %.
		{time.Hour, 3 * time.Minute, time.Minute, 12 * time.Minute, 6 * time.Minute, 10 * time.Second},
	} {
		p, err := newPlan(tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if p.Quiet != tc.quiet || p.FaultGap != tc.gap || p.Warmup != tc.warmup || p.Window != tc.window || p.Interval != tc.interval {
			t.Errorf("%v: quiet %v gap %v warm-up %v window %v interval %v, want %v %v %v %v %v", tc.d,
				p.Quiet, p.FaultGap, p.Warmup, p.Window, p.Interval, tc.quiet, tc.gap, tc.warmup, tc.window, tc.interval)
		}
		if p.ChaosFrom != p.Warmup+p.Window || p.LastFrom != tc.d-p.Window {
			t.Errorf("%v: windows %v–%v and %v–%v", tc.d, p.Warmup, p.ChaosFrom, p.LastFrom, tc.d)
		}
	}
	for _, d := range []time.Duration{time.Minute, 2*time.Minute + 30*time.Second} {
		if _, err := newPlan(d); err == nil {
			t.Errorf("a soak of %v was accepted", d)
		}
	}
}

func TestWindow(t *testing.T) {
	p, _ := newPlan(10 * time.Minute) // first window 217–277 s, last 540–600 s
	for _, tc := range []struct {
		t    time.Duration
		want string
	}{
		{0, ""}, {216 * time.Second, ""}, {217 * time.Second, "first"}, {276 * time.Second, "first"},
		{277 * time.Second, ""}, {539 * time.Second, ""}, {9 * time.Minute, "last"}, {10 * time.Minute, "last"},
		{10*time.Minute + time.Second, ""},
	} {
		if got := p.window(tc.t); got != tc.want {
			t.Errorf("window(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// TestSchedule checks every slot of several plans: a first round of every
// kind within the warm-up, then faults between the windows; each over
// (aftermath included) before the window that follows, spaced by the
// plan's gap, drawn in the cycle's order.
func TestSchedule(t *testing.T) {
	for _, d := range []time.Duration{3 * time.Minute, 10 * time.Minute, time.Hour} {
		p, _ := newPlan(d)
		s := p.schedule(faultKinds)
		if len(s) < len(faultKinds) {
			t.Fatalf("%v: %d faults", d, len(s))
		}
		later := map[string]int{}
		for i, sl := range s {
			if i < len(faultKinds) {
				if sl.Kind.Name != faultKinds[i].Name || sl.Before != p.Warmup || sl.At+sl.Kind.Span+p.tail(sl.Kind) > p.Warmup {
					t.Errorf("%v: first round slot %d: %s at %v before %v (warm-up %v)", d, i, sl.Kind.Name, sl.At, sl.Before, p.Warmup)
				}
			} else {
				later[sl.Kind.Name]++
				if sl.At < p.ChaosFrom || sl.Before != p.LastFrom || sl.At+sl.Kind.Span+p.tail(sl.Kind) > p.LastFrom {
					t.Errorf("%v: %s at %v reaches a window (%v–%v free)", d, sl.Kind.Name, sl.At, p.ChaosFrom, p.LastFrom)
				}
			}
			if i > 0 && sl.At-s[i-1].At < p.FaultGap {
				t.Errorf("%v: faults %v apart, gap %v", d, sl.At-s[i-1].At, p.FaultGap)
			}
		}
		if d >= 10*time.Minute {
			want := 1 + int(d/time.Hour) // an hour: every kind at least twice
			for _, k := range faultKinds {
				if later[k.Name] < want {
					t.Errorf("%v: %s only %d times between the windows (%v)", d, k.Name, later[k.Name], later)
				}
			}
		}
	}
	// Ten minutes, between the windows: the cycle from its start, then
	// what still fits.
	p, _ := newPlan(10 * time.Minute)
	var got []string
	for _, sl := range p.schedule(faultKinds)[len(faultKinds):] {
		got = append(got, sl.Kind.Name)
	}
	want := []string{"cancel", "postgres", "redis", "upstream", "reload", "cancel", "postgres"}
	if !slices.Equal(got, want) {
		t.Errorf("faults between the windows %v, want %v", got, want)
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, last []float64
		ok          bool
		growth      float64
	}{
		{"flat", []float64{100, 101, 99}, []float64{100, 100, 101}, true, 0},
		{"exactly 5 %", []float64{100, 100, 100}, []float64{105, 105, 105}, true, 0.05},
		{"6 %", []float64{100, 100, 100}, []float64{106, 106, 106}, false, 0.06},
		{"shrinks", []float64{100, 100, 100}, []float64{80, 80, 80}, true, -0.2},
		{"one spike is not growth", []float64{100, 100, 100}, []float64{100, 400, 100}, true, 0},
		{"even count", []float64{90, 110, 100, 100}, []float64{100, 110, 100, 130}, true, 0.05},
		{"too few", []float64{100, 100}, []float64{200, 200, 200}, false, 0},
		{"zero base", []float64{0, 0, 0}, []float64{1, 1, 1}, false, 0},
	} {
		g := judge("sluice-1", growthMetrics[0], slices.Clone(tc.first), slices.Clone(tc.last))
		if g.OK != tc.ok || math.Abs(g.Growth-tc.growth) > 1e-9 {
			t.Errorf("%s: ok %v growth %v, want %v %v (%+v)", tc.name, g.OK, g.Growth, tc.ok, tc.growth, g)
		}
		if !g.OK && g.Growth <= maxGrowth && g.Detail == "" {
			t.Errorf("%s: failed without growth and without saying why", tc.name)
		}
	}
}

// TestComputeGrowth builds samples over a 10-minute plan: instance 1 is
// flat, instance 2 leaks descriptors; unreadable samples and samples
// outside the windows do not count.
func TestComputeGrowth(t *testing.T) {
	p, _ := newPlan(10 * time.Minute)
	var ss []sample
	for ts := 0.0; ts <= 600; ts += 6 {
		fds2 := 100 + int(ts/10) // +1 every 10 s: +32 (+26 %) from the first window (217–277 s) to the last (540–600 s)
		s := sample{T: ts, Instances: []instSample{
			{RSSBytes: 30 << 20, Goroutines: 50, FDs: 40},
			{RSSBytes: 30 << 20, Goroutines: 50, FDs: fds2},
		}}
		if ts < 120 { // warm-up: pools filling, ignored
			s.Instances[0].RSSBytes = 10 << 20
		}
		if ts > 300 && ts < 310 { // a fault between the windows: ignored
			s.Instances[0].Goroutines = 500
		}
		if ts == 570 { // an unreadable sample: ignored
			s.Instances[0] = instSample{Err: "refused", FDs: 9999}
		}
		ss = append(ss, s)
	}
	gs := computeGrowth(p, []string{"sluice-1", "sluice-2"}, ss)
	if len(gs) != 2*len(growthMetrics) {
		t.Fatalf("%d rows, want %d", len(gs), 2*len(growthMetrics))
	}
	for _, g := range gs {
		wantOK := !(g.Instance == "sluice-2" && g.Metric == "fds")
		if g.OK != wantOK {
			t.Errorf("%s %s: ok %v, want %v (%+v)", g.Instance, g.Metric, g.OK, wantOK, g)
		}
		if g.FirstN != 10 || (g.Instance == "sluice-1" && g.LastN != 10) || (g.Instance == "sluice-2" && g.LastN != 11) {
			t.Errorf("%s %s: %d and %d samples in the windows", g.Instance, g.Metric, g.FirstN, g.LastN)
		}
	}
}

func TestMedianQuantile(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is a number")
	}
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i)
	}
	if q := quantile(v, 0.99); q != 99 {
		t.Errorf("p99 of 1..100 = %v", q)
	}
}

func TestJudgeStep(t *testing.T) {
	for _, tc := range []struct {
		s    step
		pass bool
	}{
		{step{Rate: 1000, Sent: 3000, P99Ms: 5}, true},
		{step{Rate: 1000, Sent: 2699, P99Ms: 5}, false},            // under 90 % sent
		{step{Rate: 1000, Sent: 3000, NotOK: 31, P99Ms: 5}, false}, // over 1 % not 200
		{step{Rate: 1000, Sent: 3000, NotOK: 30, P99Ms: 5}, true},
		{step{Rate: 1000, Sent: 3000, P99Ms: 101}, false}, // a queue
	} {
		s := tc.s
		judgeStep(&s, 3*time.Second)
		if s.Pass != tc.pass {
			t.Errorf("%+v: pass %v, want %v", tc.s, s.Pass, tc.pass)
		}
	}
}

// TestLadder runs nextRate against deployments of known capacity.
func TestLadder(t *testing.T) {
	for _, tc := range []struct {
		capacity float64
		rates    []float64
		found    float64
	}{
		{1000, []float64{200, 400, 800, 1600, 1200, 1000}, 1000},
		{3500, []float64{200, 400, 800, 1600, 3200, 6400, 4800, 4000}, 3200},
		{100, []float64{200}, 0},
		{1e9, []float64{200, 400, 800, 1600, 3200, 6400, 12800, 25600}, 25600},
	} {
		var steps []step
		var rates []float64
		for r := nextRate(steps); r != 0; r = nextRate(steps) {
			rates = append(rates, r)
			steps = append(steps, step{Rate: r, Pass: r <= tc.capacity})
			if len(steps) > 20 {
				t.Fatal("the ladder does not end")
			}
		}
		if pass, _ := bracket(steps); !slices.Equal(rates, tc.rates) || pass != tc.found {
			t.Errorf("capacity %v: rates %v, found %v; want %v, %v", tc.capacity, rates, pass, tc.rates, tc.found)
		}
	}
}

func TestVerdict(t *testing.T) {
	r := &report{}
	r.verdict()
	if r.OK {
		t.Error("a report without checks passed")
	}
	r.check("a", true, "")
	r.check("b", true, "")
	r.verdict()
	if !r.OK {
		t.Error("every check held, the report failed")
	}
	r.Growth = []growth{judge("sluice-1", growthMetrics[0], []float64{10, 10, 10}, []float64{11, 11, 11})}
	r.growthChecks()
	r.verdict()
	if r.OK || !strings.Contains(r.Checks[len(r.Checks)-1].Detail, "+10.0 %") {
		t.Errorf("10 %% growth passed or was not reported: %+v", r.Checks)
	}
	r = &report{Faults: []faultRecord{{Kind: "postgres", OK: false, Detail: "not drained"}, {Kind: "redis", Skipped: true, OK: true}}}
	r.faultChecks()
	r.verdict()
	if r.OK || len(r.Checks) != 1 {
		t.Errorf("a failed fault passed, or a skipped one was judged: %+v", r.Checks)
	}
}

// TestDrawSoak draws a small report and parses the SVG as XML.
func TestDrawSoak(t *testing.T) {
	p, _ := newPlan(3 * time.Minute)
	r := &report{Setup: setupInfo{Instances: 2, Names: []string{"sluice-1", "sluice-2"}, RateRPS: 700, RateSource: "measured"}}
	for ts := 0.0; ts <= 180; ts += 2 {
		in := instSample{RSSBytes: 30 << 20, Goroutines: 40, FDs: 30, SpoolBytes: 0, Served: int64(ts * 350)}
		s := sample{T: ts, Instances: []instSample{in, in}, DBRows: int64(ts * 700), Answered: int64(ts * 700)}
		if ts == 60 {
			s.Instances[1] = instSample{Err: "refused"}
			s.DBRows = -1
		}
		r.Samples = append(r.Samples, s)
	}
	r.Faults = []faultRecord{{Kind: "postgres", AtS: 60, OK: true, Detail: "down <5s> & back"}}
	r.Growth = computeGrowth(p, r.Setup.Names, r.Samples)
	svg := drawSoak(r, p)
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("soak.svg is not well-formed: %v", err)
			}
			break
		}
	}
	for _, want := range []string{"RSS (MiB) — growth sluice-1 +0.0 %", "Goroutines", "Open file descriptors", "Spool (KiB)",
		"Request-log rows", "Requests served per second", "CPU (cores)", "Mean request time (ms)",
		"postgres at 1m: down &lt;5s&gt; &amp; back"} {
		if !strings.Contains(svg, want) {
			t.Errorf("soak.svg lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<polyline"); n < 10 {
		t.Errorf("%d lines drawn", n)
	}
}

func TestFmtDur(t *testing.T) {
	for s, want := range map[float64]string{0: "0s", 45: "45s", 120: "2m", 150: "2m30s", 3600: "1h", 3900: "1h5m"} {
		if got := fmtDur(s); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", s, got, want)
		}
	}
}

// TestAllowance: goroutines and descriptors may exceed 5 % by a few
// pooled connections, RSS may not.
func TestAllowance(t *testing.T) {
	fds := growthMetrics[2]
	three := func(v float64) []float64 { return []float64{v, v, v} }
	if g := judge("sluice-1", fds, three(40), three(40+poolAllowance)); !g.OK {
		t.Errorf("+%d descriptors over 40 failed: %+v", poolAllowance, g)
	}
	if g := judge("sluice-1", fds, three(40), three(41+poolAllowance)); g.OK {
		t.Errorf("+%d descriptors over 40 passed: %+v", poolAllowance+1, g)
	}
	if g := judge("sluice-1", fds, three(1000), three(1040)); !g.OK {
		t.Errorf("+4 %% of 1000 descriptors failed: %+v", g)
	}
	if g := judge("sluice-1", growthMetrics[0], three(40), three(45)); g.OK {
		t.Errorf("RSS +12.5 %% passed: %+v", g)
	}
}

// TestFDKinds opens a listener and a connection to it in this process:
// the listener and the accepted side are "clients" (the listener's port),
// the dialing side leads elsewhere.
func TestFDKinds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before, err := fdKinds(os.Getpid(), map[int]string{port: "clients"})
	if err != nil {
		t.Fatal(err)
	}
	if before["clients"] != 2 || before["tcp other"] < 1 {
		t.Errorf("kinds %v: want clients 2 (listener, accepted), tcp other ≥ 1 (the dialer)", before)
	}
	after, err := fdKinds(os.Getpid(), map[int]string{port: "upstream"})
	if err != nil {
		t.Fatal(err)
	}
	if after["upstream"] != 1 {
		t.Errorf("kinds %v: want upstream 1 (the dialer, whose peer is the port)", after)
	}
	n := 0
	for _, v := range before {
		n += v
	}
	if fds, _ := os.ReadDir("/proc/self/fd"); n < len(fds)-2 || n > len(fds)+2 {
		t.Errorf("kinds %v count %d descriptors, /proc/self/fd has %d", before, n, len(fds))
	}
}

func TestHexPort(t *testing.T) {
	for in, want := range map[string]int{"0100007F:1F90": 8080, "00000000000000000000000001000000:0050": 80, "junk": 0} {
		if got := hexPort(in); got != want {
			t.Errorf("hexPort(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestContext derives rates between samples: requests served, CPU,
// mean request time; an unreadable sample breaks the chain rather than
// spanning it.
func TestContext(t *testing.T) {
	p, _ := newPlan(10 * time.Minute)
	var ss []sample
	for ts := 0.0; ts <= 600; ts += 6 {
		n := int64(ts * 100) // 100 requests a second
		in := instSample{Served: n, CPUSeconds: ts / 2, DurSum: float64(n) * 0.002, DurCount: n}
		if ts >= 540 { // the last window: slower, busier
			in.CPUSeconds = 270 + (ts-540)*0.8
			in.DurSum = 54000*0.002 + float64(n-54000)*0.005
		}
		s := sample{T: ts, Instances: []instSample{in}, Load1: 1}
		if ts == 240 {
			s.Instances[0] = instSample{Err: "refused"}
			s.Load1 = -1
		}
		ss = append(ss, s)
	}
	ts, ys := between(ss, 0, servedRate)
	if len(ts) != len(ss)-3 { // none at 0, none at 240, none at 246 (after the gap)
		t.Errorf("%d rates from %d samples", len(ts), len(ss))
	}
	for k := range ys {
		if math.Abs(ys[k]-100) > 1e-9 || ts[k] == 240 || ts[k] == 246 {
			t.Fatalf("rate %v at %v", ys[k], ts[k])
		}
	}
	c := contextOf(p, []string{"sluice-1"}, ss)
	want := windowContext{Load1: [2]float64{1, 1},
		ServedRPS: map[string][2]float64{"sluice-1": {100, 100}},
		CPUCores:  map[string][2]float64{"sluice-1": {0.5, 0.8}},
		MeanMs:    map[string][2]float64{"sluice-1": {2, 5}}}
	if c.Load1 != want.Load1 || c.ServedRPS["sluice-1"] != want.ServedRPS["sluice-1"] ||
		c.CPUCores["sluice-1"] != want.CPUCores["sluice-1"] || c.MeanMs["sluice-1"] != want.MeanMs["sluice-1"] {
		t.Errorf("context %+v, want %+v", c, want)
	}
}

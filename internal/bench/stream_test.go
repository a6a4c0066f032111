package bench

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/sse"
)

func TestStreamMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load")
	}
	direct, _ := startMock(t, mock.Options{})
	gw := startProxy(t, direct, 3*time.Millisecond, "")
	// Every stream: first token after 5 ms, then 9 more 2 ms apart.
	steer := []Header{{"X-Mock-TTFT", "5"}, {"X-Mock-ITL", "2"}, {"X-Mock-Tokens", "10"}}
	res, err := Run(context.Background(), Config{
		Targets: []Target{{Name: Baseline, URL: direct, Headers: steer}, {Name: "gw", URL: gw, Headers: steer}},
		Rates:   []int{50}, Step: 600 * time.Millisecond, Warmup: 100 * time.Millisecond, Stream: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Timing on a shared machine only has floors: the mock cannot send the first token
	// before 5 ms, nor the last before 23 ms, and the stand-in gateway adds 3 ms. The
	// exact arithmetic is TestReadStreamTiming's.
	base := res.Steps[0]
	for _, s := range res.Steps {
		st := s.Stream
		if st == nil || s.Errors != 0 || s.OK < 25 {
			t.Fatalf("%s: %+v stream %+v", s.Target, s, st)
		}
		if st.Tokens != s.OK*10 {
			t.Errorf("%s: %d tokens in %d streams, want 10 each", s.Target, st.Tokens, s.OK)
		}
		floor := 0.0
		if s.Target == "gw" {
			floor = 3
		}
		if st.TTFTP50Ms < 5+floor || st.TTFTP50Ms > 5+floor+40 {
			t.Errorf("%s: ttft p50 %.3f ms, want at least %.0f", s.Target, st.TTFTP50Ms, 5+floor)
		}
		if s.P50Ms < 23+floor || s.P50Ms > 23+floor+60 || s.P50Ms <= st.TTFTP50Ms {
			t.Errorf("%s: stream time p50 %.3f ms (ttft %.3f), want at least %.0f", s.Target, s.P50Ms, st.TTFTP50Ms, 23+floor)
		}
		if st.ITLP50Ms <= 0 || st.ITLP99Ms > 100 || st.ITLMaxMs < 2 {
			t.Errorf("%s: gaps p50 %.3f p99 %.3f max %.3f ms for 2 ms tokens", s.Target, st.ITLP50Ms, st.ITLP99Ms, st.ITLMaxMs)
		}
		// 10 tokens per stream of at least 23 ms.
		if want := float64(st.Tokens) / (float64(s.OK) * 0.023); st.TokensPerS <= 0 || st.TokensPerS > want*1.01 {
			t.Errorf("%s: %.0f tokens/s, want at most %.0f", s.Target, st.TokensPerS, want)
		}
	}
	gs := res.Steps[1].Stream
	if res.Steps[1].Target != "gw" || gs.OverheadTTFTP50Ms == nil || gs.OverheadITLP99Ms == nil ||
		*gs.OverheadTTFTP50Ms != roundMs(gs.TTFTP50Ms-base.Stream.TTFTP50Ms) {
		t.Fatalf("gw streaming overhead: %+v (direct %+v)", gs, base.Stream)
	}
}

// tickClock advances by step every time it is read.
type tickClock struct{ now, step time.Duration }

func (c *tickClock) Now() time.Duration         { c.now += c.step; return c.now }
func (c *tickClock) SleepUntil(t time.Duration) { c.now = max(c.now, t) }

func TestReadStreamTiming(t *testing.T) {
	chunk := func(content string) string {
		return `data: {"choices":[{"index":0,"delta":{"content":"` + content + `"},"finish_reason":null}]}` + "\n\n"
	}
	body := `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n" +
		": keep-alive\n\n" + chunk("Hello") + chunk(" big") + chunk(" world") +
		`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" + "data: [DONE]\n\n"
	tests := []struct {
		name, body string
		ok         bool
		kind       string
	}{
		{"complete", body, true, ""},
		{"cut short", strings.TrimSuffix(body, "data: [DONE]\n\n"), false, KindStreamIncomplete},
		{"error event", chunk("Hi") + `data: {"error":{"message":"upstream failed"}}` + "\n\n", false, KindStreamError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each read of the clock is 1 ms later; the request was scheduled at 0. Events
			// are read at 1 ms (role), 2 (comment), 3, 4, 5 (tokens), 6 (finish), 7 ([DONE]).
			r := &stepRun{cfg: &Config{Timeout: time.Second, Step: time.Second}, clk: &tickClock{step: time.Millisecond},
				lat: NewHistogram(), ttft: NewHistogram(), itl: NewHistogram(), errs: map[string]*atomic.Int64{}}
			for _, k := range allKinds {
				r.errs[k] = new(atomic.Int64)
			}
			var resp fasthttp.Response
			resp.SetBodyString(tt.body)
			r.readStream(0, &resp, sse.NewReader(nil, 0))
			if got := r.ok.Load() == 1; got != tt.ok {
				t.Fatalf("ok %v, want %v (errors %v)", got, tt.ok, r.errorCount())
			}
			if !tt.ok {
				if r.errs[tt.kind].Load() != 1 {
					t.Errorf("no %s error", tt.kind)
				}
				return
			}
			if r.ttft.Max() != 3*time.Millisecond || r.ttft.Count() != 1 {
				t.Errorf("ttft %v (%d), want 3ms: the role delta and the comment are not tokens", r.ttft.Max(), r.ttft.Count())
			}
			if r.itl.Count() != 2 || r.itl.Min() != time.Millisecond || r.itl.Max() != time.Millisecond {
				t.Errorf("gaps: %d between %v and %v, want 2 of 1ms", r.itl.Count(), r.itl.Min(), r.itl.Max())
			}
			if r.lat.Max() != 7*time.Millisecond || r.tokens.Load() != 3 || r.streamTime.Load() != int64(7*time.Millisecond) {
				t.Errorf("stream time %v, tokens %d", r.lat.Max(), r.tokens.Load())
			}
		})
	}
}

func TestStreamErrorsCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load")
	}
	direct, _ := startMock(t, mock.Options{})
	// The mock closes every stream abruptly after 3 tokens.
	res, err := Run(context.Background(), Config{
		Targets: []Target{{Name: Baseline, URL: direct, Headers: []Header{{"X-Mock-Disconnect-After", "3"}}}},
		Rates:   []int{50}, Step: 300 * time.Millisecond, Warmup: -1, Stream: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Steps[0]
	if s.OK != 0 || s.Errors != s.Scheduled || s.ErrorsByKind[KindStreamIncomplete]+s.ErrorsByKind[KindReset] != s.Errors {
		t.Errorf("cut streams: ok %d errors %v of %d", s.OK, s.ErrorsByKind, s.Scheduled)
	}
}

func TestProfiles(t *testing.T) {
	for _, name := range Profiles() {
		vs, err := profileVariants(name)
		if err != nil || len(vs) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		if name != "throughput" && len(vs[0].headers) == 0 {
			t.Errorf("%s steers nothing", name)
		}
	}
	if _, err := profileVariants("nope"); err == nil {
		t.Error("an unknown profile is accepted")
	}
	if testing.Short() {
		return
	}
	// payload runs each step once per reply size, steering the mock by header.
	direct, m := startMock(t, mock.Options{Journal: 1000})
	res, err := Run(context.Background(), Config{
		Targets: []Target{{Name: Baseline, URL: direct}},
		Rates:   []int{20}, Step: 200 * time.Millisecond, Warmup: -1, Profile: "payload", SLO: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var variants []string
	for _, s := range res.Steps {
		variants = append(variants, s.Variant)
		if s.Errors != 0 || s.OK == 0 {
			t.Errorf("%s: %+v", s.Variant, s)
		}
	}
	if !slices.Equal(variants, []string{"1KB", "10KB", "100KB"}) {
		t.Errorf("variants %v", variants)
	}
	sizes := map[string]bool{}
	for _, e := range m.Journal() {
		if v, ok := e.Headers["x-response-size"]; ok {
			sizes[v] = true
		}
	}
	for _, want := range []string{"1024", "10240", "102400"} {
		if !sizes[want] {
			t.Errorf("the mock never saw X-Response-Size %s (saw %v)", want, sizes)
		}
	}
	if k := res.Knee.Targets; len(k) != 3 || k["direct@100KB"] == nil {
		t.Errorf("knee keys %v", k)
	}
}

func TestClosedLoopStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load")
	}
	direct, _ := startMock(t, mock.Options{})
	// Each stream lasts about 20 ms: 4 held open for 0.5 s make about 100.
	res, err := Run(context.Background(), Config{
		Targets: []Target{{Name: Baseline, URL: direct, Headers: []Header{{"X-Mock-Latency", "20"}, {"X-Mock-Tokens", "5"}}}},
		Rates:   []int{4}, Closed: true, Stream: true, Step: 500 * time.Millisecond, Warmup: 100 * time.Millisecond,
		SLO: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Steps[0]
	if s.Conns != 4 || s.Errors != 0 || s.OK < 50 || s.OK > 110 || s.Scheduled != s.OK {
		t.Fatalf("closed loop of 4: conns %d ok %d scheduled %d errors %v", s.Conns, s.OK, s.Scheduled, s.ErrorsByKind)
	}
	if s.P50Ms < 19 || s.P50Ms > 35 || s.Stream.Tokens != s.OK*5 {
		t.Errorf("p50 %.2f ms (want about 20), tokens %d", s.P50Ms, s.Stream.Tokens)
	}
	if s.SendLagP99Ms > 0.5 {
		t.Errorf("a closed loop has no schedule to lag behind, got p99 lag %.3f ms", s.SendLagP99Ms)
	}
	if k := res.Knee.Targets[Baseline]; k == nil || *k != 4 {
		t.Errorf("knee %v", res.Knee.Targets)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, res); err != nil || !strings.Contains(md.String(), "closed loop") || !strings.Contains(md.String(), "| in flight |") {
		t.Errorf("report of a closed loop:\n%s", md.String())
	}
	if _, err := Run(context.Background(), Config{Targets: []Target{{Name: Baseline, URL: direct}}, Closed: true}); err == nil {
		t.Error("a closed loop without levels is accepted")
	}
}

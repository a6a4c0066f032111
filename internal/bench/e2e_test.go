package bench

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/mock"
)

// startMock serves an in-process mock on an ephemeral loopback port and returns its
// root URL and the server.
func startMock(t *testing.T, opts mock.Options) (string, *mock.Server) {
	t.Helper()
	m, err := mock.New(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), m
}

// startProxy runs a minimal fasthttp reverse proxy in front of upstream (a root URL),
// standing in for a gateway. It adds delay to every request before forwarding, and
// answers 401 unless the request carries wantAuth (when set).
func startProxy(t *testing.T, upstream string, delay time.Duration, wantAuth string) string {
	t.Helper()
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(upstream, "http://"), StreamResponseBody: true}
	srv := &fasthttp.Server{
		StreamRequestBody: false,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if wantAuth != "" && string(ctx.Request.Header.Peek("Authorization")) != wantAuth {
				ctx.Error(`{"error":{"message":"no key"}}`, fasthttp.StatusUnauthorized)
				return
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			req := &ctx.Request
			req.Header.Del("Authorization")
			resp := fasthttp.AcquireResponse()
			if err := hc.Do(req, resp); err != nil {
				fasthttp.ReleaseResponse(resp)
				ctx.Error(err.Error(), fasthttp.StatusBadGateway)
				return
			}
			ctx.Response.SetStatusCode(resp.StatusCode())
			ctx.Response.Header.SetContentType(string(resp.Header.ContentType()))
			if bs := resp.BodyStream(); bs != nil {
				ctx.SetBodyStream(&releasingReader{resp}, -1)
				return
			}
			ctx.Response.SetBody(resp.Body())
			fasthttp.ReleaseResponse(resp)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// releasingReader relays a streamed upstream body and releases the response at its end.
type releasingReader struct{ resp *fasthttp.Response }

func (r *releasingReader) Read(p []byte) (int, error) { return r.resp.BodyStream().Read(p) }

func (r *releasingReader) Close() error {
	err := r.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(r.resp)
	return err
}

func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load for a few seconds")
	}
	direct, _ := startMock(t, mock.Options{})
	gw := startProxy(t, direct, 2*time.Millisecond, "Bearer sk-test")
	var events []Event
	res, err := Run(context.Background(), Config{
		Targets: []Target{
			{Name: Baseline, URL: direct},
			{Name: "gw", URL: gw, Headers: []Header{{"Authorization", "Bearer sk-test"}}},
			{Name: "nokey", URL: gw}, // every request is a 401
		},
		Rates:    []int{200, 400},
		Step:     400 * time.Millisecond,
		Warmup:   100 * time.Millisecond,
		Timeout:  2 * time.Second,
		SLO:      5 * time.Second, // the knee must not depend on a busy machine's tail
		Progress: func(ev Event) { events = append(events, ev) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// nokey fails its first step completely and is left out of the second.
	if len(res.Steps) != 5 {
		t.Fatalf("%d steps, want 5: %+v", len(res.Steps), res.Steps)
	}
	order := make([]string, len(res.Steps))
	for i, s := range res.Steps {
		order[i] = s.Target
	}
	if got := strings.Join(order, ","); got != "direct,gw,nokey,gw,direct" {
		t.Errorf("order %s: targets must alternate between steps", got)
	}
	baseAt := map[int]Step{}
	for _, s := range res.Steps {
		if s.Target == Baseline {
			baseAt[s.Rate] = s
		}
	}
	for _, s := range res.Steps {
		switch s.Target {
		case "nokey":
			if s.ErrorsByKind[KindHTTP4xx] != s.Scheduled || s.ErrorRate != 1 || s.OK != 0 {
				t.Errorf("nokey: %+v", s)
			}
			continue
		}
		if s.Errors != 0 {
			t.Errorf("%s at %d: %d errors %v", s.Target, s.Rate, s.Errors, s.ErrorsByKind)
		}
		want := float64(s.Rate) * 0.4
		if s.Scheduled < int64(want)-1 || s.Scheduled > int64(want)+1 {
			t.Errorf("%s at %d: scheduled %d in a 0.4 s window, want %.0f", s.Target, s.Rate, s.Scheduled, want)
		}
		if s.AchievedRPS < 0.7*float64(s.Rate) || s.AchievedRPS > 1.3*float64(s.Rate) {
			t.Errorf("%s at %d: achieved %.1f/s", s.Target, s.Rate, s.AchievedRPS)
		}
		if !(s.P50Ms > 0 && s.P50Ms <= s.P90Ms && s.P90Ms <= s.P99Ms && s.P99Ms <= s.MaxMs) {
			t.Errorf("%s at %d: percentiles out of order: %+v", s.Target, s.Rate, s)
		}
		if s.CPUUsPerReq != nil || s.PeakRSSMB != nil {
			t.Errorf("%s: cpu/rss without a pid", s.Target)
		}
		if s.Target == Baseline {
			if s.OverheadP50Ms != nil {
				t.Error("the baseline has an overhead")
			}
			continue
		}
		// The stand-in gateway sleeps 2 ms per request, a floor under its latency; its
		// overhead is its percentile less direct's at the same rate.
		base := baseAt[s.Rate]
		if s.P50Ms < 2 || s.OverheadP50Ms == nil || *s.OverheadP50Ms != roundMs(s.P50Ms-base.P50Ms) ||
			*s.OverheadP99Ms != roundMs(s.P99Ms-base.P99Ms) {
			t.Errorf("gw at %d: p50 %.3f ms, overhead p50 %v (direct p50 %.3f)", s.Rate, s.P50Ms, deref(s.OverheadP50Ms), base.P50Ms)
		}
	}
	if k := res.Knee.Targets; k["direct"] == nil || *k["direct"] != 400 || k["gw"] == nil || *k["gw"] != 400 || k["nokey"] != nil {
		t.Errorf("knee %v", res.Knee.Targets)
	}
	var dones int
	for _, ev := range events {
		if ev.Kind == EventStepDone {
			dones++
		}
		if ev.Total != 6 {
			t.Fatalf("event total %d, want 6", ev.Total)
		}
	}
	if dones != 5 {
		t.Errorf("%d step-done events", dones)
	}
}

func TestRunWithPID(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load")
	}
	// The mock runs in this process, so this process's CPU is the target's.
	direct, _ := startMock(t, mock.Options{})
	res, err := Run(context.Background(), Config{
		Targets: []Target{{Name: Baseline, URL: direct, PIDs: []int{osGetpid()}}},
		Rates:   []int{300}, Step: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Steps[0]
	if s.CPUUsPerReq == nil || *s.CPUUsPerReq <= 0 || s.PeakRSSMB == nil || *s.PeakRSSMB < 1 {
		t.Fatalf("cpu %v rss %v", deref(s.CPUUsPerReq), deref(s.PeakRSSMB))
	}
	// Here the generator's process is the target's: both figures measure it, one from
	// getrusage, the other from /proc.
	if g, c := s.GenCPUUsPerReq, *s.CPUUsPerReq; g < 0.5*c || g > 2*c {
		t.Errorf("generator cpu %v µs/req, the same process from /proc %v", g, c)
	}
}

func TestRunCancelled(t *testing.T) {
	direct, _ := startMock(t, mock.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var once bool
	res, err := Run(ctx, Config{
		Targets: []Target{{Name: Baseline, URL: direct}},
		Rates:   []int{100, 200}, Step: 10 * time.Second, Warmup: -1,
		Progress: func(ev Event) {
			if ev.Kind == EventTick && !once {
				once = true
				cancel()
			}
		},
	})
	if err != context.Canceled {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if res == nil || len(res.Steps) != 0 {
		t.Fatalf("a cut-short step was kept: %+v", res)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no baseline", Config{Targets: []Target{{Name: "gw", URL: "http://127.0.0.1:1"}}}, `named "direct"`},
		{"bad url", Config{Targets: []Target{{Name: Baseline, URL: "127.0.0.1:9000"}}}, "http://"},
		{"dup", Config{Targets: []Target{{Name: Baseline, URL: "http://a:1"}, {Name: Baseline, URL: "http://a:2"}}}, "twice"},
		{"rate", Config{Targets: []Target{{Name: Baseline, URL: "http://a:1"}}, Rates: []int{0}}, "rate 0"},
		{"profile", Config{Targets: []Target{{Name: Baseline, URL: "http://a:1"}}, Profile: "turbo"}, "unknown profile"},
		{"step", Config{Targets: []Target{{Name: Baseline, URL: "http://a:1"}}, Step: time.Millisecond}, "shorter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func osGetpid() int { return os.Getpid() }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

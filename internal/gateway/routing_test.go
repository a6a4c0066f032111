package gateway_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// flaky is an upstream whose replies the test switches between failing
// (500) and healthy, counting every attempt it receives.
type flaky struct {
	attempts atomic.Int64
	failing  atomic.Bool
	latency  atomic.Int64 // nanoseconds each reply takes
	addr     string
}

func newFlaky(t *testing.T, failing bool) *flaky {
	f := &flaky{}
	f.failing.Store(failing)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		f.attempts.Add(1)
		time.Sleep(time.Duration(f.latency.Load())) // the upstream's own latency
		ctx.SetContentType("application/json")
		if f.failing.Load() {
			ctx.SetStatusCode(500)
			ctx.SetBodyString(`{"error":{"message":"flaky upstream is down","type":"server_error","code":null,"param":null}}`)
			return
		}
		ctx.SetBodyString(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"from flaky"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`)
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	f.addr = ln.Addr().String()
	return f
}

func routingConfig(primary string, extra string) string {
	return fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: debug}
routing:
  retry: {backoff: 1ms, max_backoff: 5ms}
  breaker:
    failures: ${FAILURES:-5}
    cooldown: ${COOLDOWN:-200ms}
providers:
  - {name: primary, kind: openai, base_url: "http://%s/v1"}
  - {name: backup, kind: openai, base_url: "${UPSTREAM}/v1"}
models:
  - name: gpt-4o-mini
    targets: [{provider: primary}]
    fallbacks: [backup-model]
  - name: backup-model
    targets: [{provider: backup, model: gpt-4o-mini}]
  - name: solo
    targets: [{provider: primary}]
%s`, primary, extra)
}

const hello = `{"model":"%s","messages":[{"role":"user","content":"hi"}]}`

func TestFallbackServesWhenPrimaryFails(t *testing.T) {
	f := newFlaky(t, true)
	s := newStackYAML(t, nil, routingConfig(f.addr, ""))
	resp, body := s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "gpt-4o-mini"), nil)
	if resp.StatusCode != 200 || strings.Contains(body, "from flaky") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Sluice-Target"); got != "backup/gpt-4o-mini" {
		t.Errorf("x-sluice-target %q", got)
	}
	// 1 try + 2 retries on the primary, then the fallback.
	if got := resp.Header.Get("X-Sluice-Attempts"); got != "4" || f.attempts.Load() != 3 {
		t.Errorf("x-sluice-attempts %q, primary saw %d", got, f.attempts.Load())
	}
	// The retries waited their backoff (backoff 1ms, doubling), on the
	// routing clock; moving to the fallback waits nothing.
	if w := s.clock.Slept(); len(w) > 2 || len(w) > 0 && w[0] > time.Millisecond || len(w) > 1 && w[1] > 2*time.Millisecond {
		t.Errorf("retry waits %v, want at most [1ms 2ms]", w)
	}
	// Without a fallback the last upstream error passes through as it came.
	resp, body = s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "solo"), nil)
	if resp.StatusCode != 500 || !strings.Contains(body, "flaky upstream is down") {
		t.Fatalf("no fallback: %d %s", resp.StatusCode, body)
	}
}

func TestCooldownAndRecovery(t *testing.T) {
	f := newFlaky(t, true)
	s := newStackYAML(t, map[string]string{"COOLDOWN": "300ms"}, routingConfig(f.addr, ""))
	// Two requests = 6 failed attempts: the breaker opens after 5.
	for i := 0; i < 2; i++ {
		s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "gpt-4o-mini"), nil)
	}
	if scrape(t, s, `sluice_target_state{model="gpt-4o-mini",target="primary/gpt-4o-mini"}`) != 1 {
		t.Fatal("breaker not open after 5 consecutive failures")
	}
	before := f.attempts.Load()
	resp, _ := s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "gpt-4o-mini"), nil)
	if resp.StatusCode != 200 || f.attempts.Load() != before || resp.Header.Get("X-Sluice-Attempts") != "1" {
		t.Fatalf("cooling target was tried: status %d, primary attempts %d -> %d, attempts header %s",
			resp.StatusCode, before, f.attempts.Load(), resp.Header.Get("X-Sluice-Attempts"))
	}
	f.failing.Store(false)
	s.clock.Advance(350 * time.Millisecond) // the cooldown passes
	resp, body := s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "gpt-4o-mini"), nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "from flaky") {
		t.Fatalf("probe after cooldown did not reach the recovered primary: %d %s", resp.StatusCode, body)
	}
	if scrape(t, s, `sluice_target_state{model="gpt-4o-mini",target="primary/gpt-4o-mini"}`) != 0 {
		t.Fatal("breaker not closed after a successful probe")
	}
}

func TestRetryBudgetUnderTotalFailure(t *testing.T) {
	f := newFlaky(t, true)
	// Retry waits take no time on the routing clock, so what keeps retries
	// in flight together is the upstream's latency.
	f.latency.Store(int64(2 * time.Millisecond))
	// A breaker that never opens, so only the budget bounds retries.
	s := newStackYAML(t, map[string]string{"FAILURES": "100000"}, routingConfig(f.addr, ""))
	const clients, each = 20, 10
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "solo"), nil)
			}
		}()
	}
	wg.Wait()
	requests := int64(clients * each)
	extra := f.attempts.Load() - requests
	t.Logf("%d requests, %d attempts at the upstream (%.0f%% extra; unbounded would be 200%%)", requests, f.attempts.Load(), 100*float64(extra)/float64(requests))
	// 20 active requests allow max(3, 20%×20) = 4 retries in flight: ≈ 28%
	// extra on a quiet machine. On a loaded one fewer requests overlap and
	// the floor of 3 weighs more (41% seen in CI-like load), so the bound
	// is 60%: still far below the 200% of unbounded retries.
	if extra > requests*60/100 {
		t.Fatalf("%d extra attempts for %d requests: the retry budget did not hold", extra, requests)
	}
}

func TestMidStreamFailureIsNotRetried(t *testing.T) {
	s := newStack(t, nil)
	s.mock.ResetJournal()
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Mock-Disconnect-After": "2", "X-Mock-Tokens": "10", "X-Request-Id": "midstream-1"})
	if resp.StatusCode != 200 || !strings.Contains(body, `"error"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	n := 0
	for _, e := range s.mock.Journal() {
		if e.Headers["x-request-id"] == "midstream-1" {
			n++
		}
	}
	if n != 1 || resp.Header.Get("X-Sluice-Attempts") != "1" {
		t.Fatalf("a stream that failed midway was sent %d times (attempts header %q)", n, resp.Header.Get("X-Sluice-Attempts"))
	}
}

func TestRoutingHeaders(t *testing.T) {
	f := newFlaky(t, false)
	yaml := routingConfig(f.addr, `  - name: both
    targets: [{provider: primary, model: gpt-4o-mini}, {provider: backup, model: gpt-4o-mini}]
`)
	s := newStackYAML(t, nil, yaml)
	for _, tc := range []struct{ header, value, want string }{
		{"X-Sluice-Target", "backup/gpt-4o-mini", "backup/gpt-4o-mini"},
		{"X-Sluice-Target", "primary/gpt-4o-mini", "primary/gpt-4o-mini"},
		{"X-Sluice-Provider", "backup", "backup/gpt-4o-mini"},
	} {
		for i := 0; i < 5; i++ {
			resp, body := s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "both"), map[string]string{tc.header: tc.value})
			if resp.StatusCode != 200 || resp.Header.Get("X-Sluice-Target") != tc.want {
				t.Fatalf("%s: %s: %d target %q %s", tc.header, tc.value, resp.StatusCode, resp.Header.Get("X-Sluice-Target"), body)
			}
		}
	}
	resp, _ := s.post(t, "/v1/chat/completions", fmt.Sprintf(hello, "both"), map[string]string{"X-Sluice-Target": "nope"})
	if resp.StatusCode != 400 {
		t.Fatalf("unknown forced target: %d", resp.StatusCode)
	}
}

func TestRoutingHeadersNeedPolicy(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"),
		map[string]string{"Authorization": "Bearer sk-static-all", "X-Sluice-Provider": "openai"})
	if resp.StatusCode != 403 {
		t.Fatalf("routing header honoured for a key without allow_routing_headers: %d", resp.StatusCode)
	}
}

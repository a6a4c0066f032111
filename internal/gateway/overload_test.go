package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/gateway"
)

// overloadConfig has a normal and a high-priority key, small caps and the
// CPU signal off (tests steer the memory and CPU signals directly).
const overloadConfig = `
server: {listen: 127.0.0.1:0, max_in_flight: 10, max_streams: 5, shed_latency: 0s, memory_limit: 0}
log: {level: debug}
data_dir: ${DATA_DIR}
auth:
  enabled: true
  keys:
    - {key: sk-normal, id: normal}
    - {key: sk-high, id: high, priority: high}
    - {key: sk-rpm3, id: rpm3, rpm: 3}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
  - {name: anthropic, kind: anthropic, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-anthropic]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
  - {name: claude-3-5-haiku, targets: [{provider: anthropic}]}
`

// hold keeps n requests of key in flight at the mock (each for about
// latency ms) and returns once the gateway counts want in flight; wait
// waits for them to end.
func hold(t *testing.T, s *stack, key string, n int, stream bool, series string, want float64) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if stream {
		body = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	}
	for range n {
		wg.Go(func() {
			h := bearer(key)
			h["X-Mock-Latency"] = "2500"
			s.post(t, "/v1/chat/completions", body, h)
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for scrape(t, s, series) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %v", series, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return wg.Wait
}

func wantShed(t *testing.T, s *stack, path, model, key string, stream bool, code, msgHas string) {
	t.Helper()
	body := `{"model":"` + model + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	if stream {
		body = strings.Replace(body, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	}
	resp, got := s.post(t, path, body, bearer(key))
	if code == "" {
		if resp.StatusCode != 200 {
			t.Fatalf("%s with %s: status %d %s, want 200", path, key, resp.StatusCode, got)
		}
		return
	}
	if resp.StatusCode != 503 || !strings.Contains(got, code) || !strings.Contains(got, msgHas) {
		t.Fatalf("%s with %s: status %d %s, want 503 %s naming %q", path, key, resp.StatusCode, got, code, msgHas)
	}
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("%s with %s: Retry-After %q, want 1", path, key, resp.Header.Get("Retry-After"))
	}
}

// TestShedInFlightPriority: the last tenth of max_in_flight is kept for
// priority high; past the whole cap everyone is shed, in the caller's
// format.
func TestShedInFlightPriority(t *testing.T) {
	s := newStackYAML(t, nil, overloadConfig)
	wait := hold(t, s, "sk-normal", 9, false, "sluice_requests_in_flight", 9)
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-normal", false, `"code":"overloaded"`, "server.max_in_flight")
	wantShed(t, s, "/v1/messages", "claude-3-5-haiku", "sk-normal", false, `"type":"overloaded_error"`, "server.max_in_flight")
	waitHigh := hold(t, s, "sk-high", 1, false, "sluice_requests_in_flight", 10)
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-high", false, `"code":"overloaded"`, "server.max_in_flight")
	// Past the whole cap the refusal comes before authentication.
	if got := scrape(t, s, `sluice_shed_total{priority="normal",reason="in_flight"}`); got != 2 {
		t.Errorf("normal in_flight sheds %v, want 2", got)
	}
	if got := scrape(t, s, `sluice_shed_total{priority="unknown",reason="in_flight"}`); got != 1 {
		t.Errorf("in_flight sheds before authentication %v, want 1", got)
	}
	wait()
	waitHigh()
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-normal", false, "", "")
}

// TestShedStreams: streams beyond max_streams are shed (a cap of 5 keeps
// no tenth for high priority) while requests that do not stream pass.
func TestShedStreams(t *testing.T) {
	s := newStackYAML(t, nil, overloadConfig)
	wait := hold(t, s, "sk-normal", 5, true, "sluice_requests_in_flight", 5)
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-normal", true, `"code":"overloaded"`, "server.max_streams")
	wantShed(t, s, "/v1/messages", "claude-3-5-haiku", "sk-high", true, `"type":"overloaded_error"`, "server.max_streams")
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-normal", false, "", "")
	// A refused stream does not spend the key's requests per minute.
	for range 3 {
		wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-rpm3", true, `"code":"overloaded"`, "server.max_streams")
	}
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-rpm3", false, "", "")
	wait()
	// Every slot was given back, the shed ones included.
	wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-normal", true, "", "")
}

// TestShedMemoryAndCPU: above 90% of the memory ceiling and under CPU
// shedding normal keys are refused and high ones served; above the
// ceiling, or with high's CPU share full, everyone.
func TestShedMemoryAndCPU(t *testing.T) {
	s := newStackYAML(t, nil, overloadConfig)
	for _, tc := range []struct {
		name       string
		set        func()
		normal     string
		high       string
		normalText string
	}{
		{"memory above 90%", func() { gateway.SetShedSignals(s.gw, 1, 0, 0) }, `"code":"overloaded"`, "", "server.memory_limit"},
		{"memory above the ceiling", func() { gateway.SetShedSignals(s.gw, 2, 0, 0) }, `"code":"overloaded"`, `"code":"overloaded"`, "server.memory_limit"},
		{"cpu: every normal request", func() { gateway.SetShedSignals(s.gw, 0, 1, 0) }, `"code":"overloaded"`, "", "CPUs are saturated"},
		{"cpu: every request", func() { gateway.SetShedSignals(s.gw, 0, 1, 1) }, `"code":"overloaded"`, `"code":"overloaded"`, "CPUs are saturated"},
		{"calm", func() { gateway.SetShedSignals(s.gw, 0, 0, 0) }, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.set()
			wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-normal", false, tc.normal, tc.normalText)
			wantShed(t, s, "/v1/chat/completions", "gpt-4o-mini", "sk-high", false, tc.high, tc.normalText)
		})
	}
}

// TestShedPerForwardedClient: behind a trusted proxy (here loopback), the
// forwarded client's requests in flight count against
// max_conns_per_client; other clients, and the same one once its request
// ends, pass.
func TestShedPerForwardedClient(t *testing.T) {
	yaml := strings.Replace(overloadConfig, "memory_limit: 0}", "memory_limit: 0, max_conns_per_client: 1, trusted_proxies: [127.0.0.1]}", 1)
	s := newStackYAML(t, nil, yaml)
	from := func(addr string, latency string) map[string]string {
		h := bearer("sk-normal")
		h["X-Forwarded-For"] = addr
		if latency != "" {
			h["X-Mock-Latency"] = latency
		}
		return h
	}
	body := chat("gpt-4o-mini")
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.post(t, "/v1/chat/completions", body, from("203.0.113.9", "1500"))
	}()
	deadline := time.Now().Add(5 * time.Second)
	for scrape(t, s, "sluice_requests_in_flight") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("slow request never in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, got := s.post(t, "/v1/chat/completions", body, from("198.51.100.1, 203.0.113.9", ""))
	if resp.StatusCode != 429 || !strings.Contains(got, `"code":"rate_limit_exceeded"`) || !strings.Contains(got, "max_conns_per_client") {
		t.Fatalf("second request of the same client: %d %s, want 429 naming max_conns_per_client", resp.StatusCode, got)
	}
	if ra, ms := resp.Header.Get("Retry-After"), resp.Header.Get("Retry-After-Ms"); ra != "1" || ms != "1000" {
		t.Errorf("429: Retry-After %q, Retry-After-Ms %q; want 1 and 1000", ra, ms)
	}
	if resp, got := s.post(t, "/v1/chat/completions", body, from("203.0.113.10", "")); resp.StatusCode != 200 {
		t.Fatalf("another client: %d %s", resp.StatusCode, got)
	}
	<-done
	if resp, got := s.post(t, "/v1/chat/completions", body, from("203.0.113.9", "")); resp.StatusCode != 200 {
		t.Fatalf("the same client once its request ended: %d %s", resp.StatusCode, got)
	}
}

// TestShedClientConns: a connection past max_conns_per_client gets 429 in
// the caller's format on its first request, and is closed.
func TestShedClientConns(t *testing.T) {
	yaml := strings.Replace(overloadConfig, "memory_limit: 0}", "memory_limit: 0, max_conns_per_client: 1}", 1)
	s := newStackYAML(t, map[string]string{"COUNT_LOOPBACK_CONNS": "1"}, yaml)
	first, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	send := func(c net.Conn, path, body string) *http.Response {
		t.Helper()
		req := "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-normal\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := send(first, "/v1/chat/completions", chat("gpt-4o-mini")); resp.StatusCode != 200 {
		t.Fatalf("first connection: %d", resp.StatusCode)
	}
	second, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	resp := send(second, "/v1/messages", chat("claude-3-5-haiku"))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || !strings.Contains(string(b), `"type":"rate_limit_error"`) || !strings.Contains(string(b), "max_conns_per_client") || !resp.Close {
		t.Fatalf("second connection: %d close=%v %s; want 429 rate_limit_error naming max_conns_per_client, closed", resp.StatusCode, resp.Close, b)
	}
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", resp.Header.Get("Retry-After"))
	}
}

package gateway_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// breakerConfig opens a breaker after 3 failures in a row and keeps it open
// for the whole test; retries are off, so one request is one attempt.
const breakerConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
routing:
  retry: {attempts: 0}
  breaker: {failures: 3, cooldown: 1h}
providers:
  - name: one-key
    kind: openai
    base_url: ${UPSTREAM}/v1
    api_keys: [sk-provider-a]
    timeouts:
      first_byte: ${FIRST_BYTE:-30s}
  - name: two-keys
    kind: openai
    base_url: ${UPSTREAM}/v1
    api_keys: [sk-provider-a, sk-provider-b]
  - name: garbage
    kind: openai
    base_url: http://${GARBAGE:-127.0.0.1:1}/v1
  - name: dead
    kind: openai
    base_url: http://127.0.0.1:${DEAD_PORT}/v1
    timeouts: {connect: 1s}
models:
  - {name: solo, targets: [{provider: one-key}]}
  - {name: pair, targets: [{provider: two-keys}]}
  - {name: garbage, targets: [{provider: garbage}]}
  - {name: dead, targets: [{provider: dead}]}
`

// garbageUpstream answers every request with bytes that are not HTTP.
func garbageUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				_, _ = c.Write([]byte("garbage\r\n\r\n"))
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// breakerStep is one request and the breaker state expected after it
// (sluice_target_state: 0 closed, 1 open).
type breakerStep struct {
	headers map[string]string // mock steering
	abandon bool              // the client leaves before the reply
	state   float64
}

// waitIdle waits until the gateway has no request in flight (the last one
// settled, its outcome recorded).
func waitIdle(t *testing.T, s *stack) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for scrape(t, s, "sluice_requests_in_flight") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a request is still in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func steps(n int, headers map[string]string, states ...float64) []breakerStep {
	s := make([]breakerStep, n)
	for i := range s {
		s[i] = breakerStep{headers: headers, state: states[min(i, len(states)-1)]}
	}
	return s
}

func status(code int) map[string]string { return map[string]string{"X-Mock-Status": itoa(code)} }

func TestBreakerCountsOnlyTargetFailures(t *testing.T) {
	hang := map[string]string{"X-Mock-Hang": "1"}
	for _, tc := range []struct {
		name  string
		model string
		env   map[string]string
		steps []breakerStep
	}{
		{name: "5xx open it", model: "solo", steps: steps(3, status(500), 0, 0, 1)},
		{name: "connect errors open it", model: "dead", steps: steps(3, nil, 0, 0, 1)},
		{name: "first-byte timeouts open it", model: "solo", env: map[string]string{"FIRST_BYTE": "300ms"}, steps: steps(3, hang, 0, 0, 1)},
		{name: "malformed replies open it", model: "garbage", steps: steps(3, nil, 0, 0, 1)},
		{name: "429 on the provider's only key opens it", model: "solo", steps: steps(3, status(429), 0, 0, 1)},
		// The first 429 sets one key aside and the other serves: it says
		// nothing about the target. Then every key is spent.
		{name: "429 counts once every key is set aside", model: "pair", steps: steps(4, status(429), 0, 0, 0, 1)},
		{name: "a flood of 4xx never opens it", model: "solo", steps: append(append(append(
			steps(5, status(400), 0), steps(5, status(404), 0)...), steps(5, status(413), 0)...), steps(5, status(422), 0)...)},
		// Nor does it hide failures: 4xx in between do not reset the count.
		{name: "4xx between failures", model: "solo", steps: append(append(
			steps(1, status(500), 0), steps(5, status(400), 0)...), steps(2, status(500), 0, 1)...)},
		// The abandoned requests would otherwise end in first-byte timeouts.
		{name: "clients that leave never open it", model: "solo", env: map[string]string{"FIRST_BYTE": "3s"},
			steps: []breakerStep{{headers: hang, abandon: true}, {headers: hang, abandon: true}, {headers: hang, abandon: true},
				{headers: status(500)}, {headers: status(500)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"GARBAGE": garbageUpstream(t)}
			for k, v := range tc.env {
				env[k] = v
			}
			s := newStackYAML(t, env, breakerConfig)
			provider := map[string]string{"solo": "one-key", "pair": "two-keys"}[tc.model]
			if provider == "" {
				provider = tc.model
			}
			series := fmt.Sprintf(`sluice_target_state{model=%q,target="%s/%s"}`, tc.model, provider, tc.model)
			body := fmt.Sprintf(hello, tc.model)
			for i, st := range tc.steps {
				if st.abandon {
					id := fmt.Sprintf("leave-%d", i)
					conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
					if err != nil {
						t.Fatal(err)
					}
					var h []string
					for k, v := range st.headers {
						h = append(h, k+": "+v)
					}
					if _, err := conn.Write([]byte(rawRequest("/v1/chat/completions", body, append(h, "X-Request-Id: "+id)...))); err != nil {
						t.Fatal(err)
					}
					conn.Close()
					waitCancelled(t, s, id)
					waitIdle(t, s)
				} else {
					s.post(t, "/v1/chat/completions", body, st.headers)
				}
				if got := scrape(t, s, series); got != st.state {
					t.Fatalf("after request %d (%v): %s = %v, want %v", i+1, st.headers, series, got, st.state)
				}
			}
		})
	}
}

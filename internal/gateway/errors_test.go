package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape returns the value of one series from /metrics (-1 if absent).
func scrape(t *testing.T, s *stack, series string) float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, series+" "), 64)
			if err != nil {
				t.Fatalf("bad metric line %q", line)
			}
			return v
		}
	}
	return -1
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestErrorRows(t *testing.T) {
	s := newStack(t, map[string]string{"FIRST_BYTE": "300ms"})
	tests := []struct {
		name       string
		path, body string
		headers    map[string]string
		status     int
		code       string // OpenAI code
		atype      string // Anthropic type (for /v1/messages)
		msgHas     string
	}{
		{name: "bad json", path: "/v1/chat/completions", body: `{"model":`, status: 400, code: "invalid_request", msgHas: "not valid JSON"},
		{name: "missing model", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}]}`, status: 400, code: "invalid_request", msgHas: "model"},
		{name: "unknown model", path: "/v1/chat/completions", body: `{"model":"gpt-9"}`, status: 404, code: "model_not_found", msgHas: "gpt-9"},
		{name: "unknown provider/model", path: "/v1/chat/completions", body: `{"model":"nope/gpt-4o"}`, status: 404, code: "model_not_found"},
		// Translated to another format, a request is read whole first.
		{name: "translated without messages", path: "/v1/chat/completions", body: `{"model":"claude-3-5-haiku"}`, status: 400, code: "invalid_request", msgHas: "messages"},
		{name: "unreachable", path: "/v1/chat/completions", body: `{"model":"broken"}`, status: 502, code: "upstream_unreachable"},
		{name: "timeout", path: "/v1/chat/completions", body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
			headers: map[string]string{"X-Mock-TTFT": "2000"}, status: 504, code: "upstream_timeout"},
		{name: "anthropic bad json", path: "/v1/messages", body: `nope`, status: 400, atype: "invalid_request_error"},
		{name: "anthropic unknown model", path: "/v1/messages", body: `{"model":"claude-9","max_tokens":5}`, status: 404, atype: "not_found_error"},
		{name: "anthropic translated without messages", path: "/v1/messages", body: `{"model":"gpt-4o-mini","max_tokens":5}`, status: 400, atype: "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.post(t, tt.path, tt.body, tt.headers)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("error reply without x-request-id")
			}
			if tt.atype != "" {
				var e anthropicError
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "error" || e.Error.Type != tt.atype || e.Error.Message == "" {
					t.Fatalf("not an Anthropic error of type %s: %s", tt.atype, body)
				}
				return
			}
			var e openAIError
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != tt.code || e.Error.Type == "" || e.Error.Message == "" {
				t.Fatalf("not an OpenAI error with code %s: %s", tt.code, body)
			}
			if !strings.Contains(body, `"param":`) {
				t.Errorf("param field missing: %s", body)
			}
			if tt.msgHas != "" && !strings.Contains(e.Error.Message, tt.msgHas) {
				t.Errorf("message %q does not mention %q", e.Error.Message, tt.msgHas)
			}
		})
	}
}

func TestUpstreamErrorPassesThrough(t *testing.T) {
	s := newStack(t, nil)
	for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
		model := "gpt-4o-mini"
		if path == "/v1/messages" {
			model = "claude-3-5-haiku"
		}
		resp, body := s.post(t, path, `{"model":"`+model+`","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`,
			map[string]string{"X-Mock-Status": "429"})
		if resp.StatusCode != 429 {
			t.Fatalf("%s: status %d: %s", path, resp.StatusCode, body)
		}
		if strings.Contains(body, "rate_limit_exceeded") && path == "/v1/messages" {
			t.Errorf("%s: body rewritten by the gateway: %s", path, body)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: upstream retry-after not passed through", path)
		}
	}
}

func TestOverloaded(t *testing.T) {
	s := newStack(t, map[string]string{"MAX_IN_FLIGHT": "1"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"X-Mock-Latency": "1500"})
	}()
	// Wait until the slow request is in flight at the upstream.
	deadline := time.Now().Add(5 * time.Second)
	for scrape(t, s, "sluice_requests_in_flight") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("slow request never in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 503 || !strings.Contains(body, `"code":"overloaded"`) {
		t.Fatalf("status %d body %s, want 503 overloaded", resp.StatusCode, body)
	}
	<-done
}

func TestRequestIDs(t *testing.T) {
	s := newStack(t, nil)
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	resp, _ := s.post(t, "/v1/chat/completions", body, map[string]string{"X-Request-Id": "client-id.1:2_3"})
	if got := resp.Header.Get("X-Request-Id"); got != "client-id.1:2_3" {
		t.Errorf("valid client id not kept: %q", got)
	}
	if up := s.lastUpstream(t, "/v1/chat/completions"); up.Headers["x-request-id"] != "client-id.1:2_3" {
		t.Errorf("id not forwarded upstream: %q", up.Headers["x-request-id"])
	}
	resp, _ = s.post(t, "/v1/chat/completions", body, map[string]string{"X-Request-Id": "bad id with spaces"})
	got := resp.Header.Get("X-Request-Id")
	if got == "" || strings.Contains(got, " ") {
		t.Errorf("invalid client id not replaced: %q", got)
	}
	if resp.Header.Get("X-Upstream-Request-Id") == "" {
		t.Errorf("upstream id not returned as x-upstream-request-id")
	}
}

func TestHeaderForwarding(t *testing.T) {
	s := newStack(t, nil)
	s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, map[string]string{
		"X-Custom-Foo":   "bar",
		"X-Sluice-Debug": "secret-routing",
		"X-Api-Key":      clientSecret,
		"Api-Key":        clientSecret,
		"X-Goog-Api-Key": clientSecret,
		"Authorization":  "Bearer " + clientSecret,
		"Connection":     "keep-alive, X-Hop",
		"X-Hop":          "hop-value",
		"Cookie":         "session=" + clientSecret,
	})
	up := s.lastUpstream(t, "/v1/chat/completions")
	if up.Headers["x-custom-foo"] != "bar" {
		t.Errorf("custom header dropped: %v", up.Headers)
	}
	for _, h := range []string{"x-sluice-debug", "x-api-key", "api-key", "x-goog-api-key", "x-hop", "cookie"} {
		if _, ok := up.Headers[h]; ok {
			t.Errorf("%s forwarded upstream", h)
		}
	}
	for k, v := range up.Headers {
		if strings.Contains(v, clientSecret) {
			t.Errorf("client secret reached the upstream in %s", k)
		}
	}
}

// TestNoSecretsInLogs runs successes and failures at debug level and greps
// everything the gateway logged for the client's and the provider's keys.
func TestNoSecretsInLogs(t *testing.T) {
	s := newStack(t, map[string]string{"FIRST_BYTE": "300ms"})
	auth := map[string]string{"Authorization": "Bearer " + clientSecret, "X-Api-Key": clientSecret}
	for _, body := range []string{
		`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"broken","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"nope","messages":[]}`,
		`{bad json`,
	} {
		s.post(t, "/v1/chat/completions", body, auth)
	}
	s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + clientSecret, "X-Mock-TTFT": "1000"})
	s.post(t, "/v1/messages", `{"model":"claude-3-5-haiku","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Api-Key": clientSecret, "X-Mock-Disconnect-After": "2"})
	logs := s.logs.String()
	if !strings.Contains(logs, "request_id=") {
		t.Fatalf("no access lines were logged at debug level:\n%s", logs)
	}
	for _, secret := range []string{clientSecret, "sk-provider-openai", "sk-provider-anthropic"} {
		if strings.Contains(logs, secret) {
			t.Errorf("secret %q appears in the logs", secret)
		}
	}
}

// TestBodyTooLarge announces a body over the limit and sends none of it:
// the 413 comes from the headers alone, in the route's format (a client
// that keeps uploading may see the connection closed under it, as the body
// is never read).
func TestBodyTooLarge(t *testing.T) {
	s := newStack(t, nil)
	for path, want := range map[string]string{
		"/v1/chat/completions": `"code":"request_too_large"`,
		"/v1/messages":         `"type":"request_too_large"`,
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, 2<<20)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(b), want) || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
}

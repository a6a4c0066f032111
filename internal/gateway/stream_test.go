package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
)

// streamEvents posts a streaming request and returns the raw SSE body.
func streamBody(t *testing.T, s *stack, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	return s.post(t, path, body, headers)
}

func TestStreamUpstreamDiesMidway(t *testing.T) {
	s := newStack(t, nil)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `data: {"error":{`},
		{"/v1/messages", `{"model":"claude-3-5-haiku","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, "event: error\ndata: {\"type\":\"error\""},
		{"/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"hi"}`, "event: error\ndata: {\"type\":\"error\""},
	} {
		resp, body := streamBody(t, s, tc.path, tc.body, map[string]string{"X-Mock-Disconnect-After": "3", "X-Mock-Tokens": "20"})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", tc.path, resp.StatusCode)
		}
		if !strings.Contains(body, tc.want) || !strings.Contains(body, "upstream_unreachable") && !strings.Contains(body, "api_error") {
			t.Errorf("%s: stream cut without the format's error event:\n%s", tc.path, body)
		}
		if strings.Contains(body, "[DONE]") || strings.Contains(body, "message_stop") || strings.Contains(body, "response.completed") {
			t.Errorf("%s: a cut stream must not claim completion:\n%s", tc.path, body)
		}
		// Tokens were sent: the message says the reply is incomplete.
		if strings.Contains(body, "before a reply") || !strings.Contains(body, "incomplete") {
			t.Errorf("%s: the error event's message misstates the failure:\n%s", tc.path, body)
		}
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	s := newStack(t, map[string]string{"IDLE": "200ms"})
	resp, body := streamBody(t, s, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Mock-ITL": "1000", "X-Mock-Tokens": "5"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(body, `"code":"upstream_timeout"`) {
		t.Fatalf("idle upstream not cut with an error event:\n%s", body)
	}
}

func TestStreamLongerThanFirstByteTimeout(t *testing.T) {
	// The first-byte deadline must not cut a stream whose events keep coming.
	s := newStack(t, map[string]string{"FIRST_BYTE": "300ms", "IDLE": "300ms"})
	resp, body := streamBody(t, s, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Mock-ITL": "50", "X-Mock-Tokens": "16"})
	if resp.StatusCode != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream of ~800ms cut by a 300ms first-byte timeout: status %d\n%s", resp.StatusCode, body)
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	s := newStack(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"long one"}]}`
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"X-Mock-ITL: 50\r\nX-Mock-Tokens: 400\r\nX-Request-Id: disconnect-test\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	events := 0
	for events < 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			events++
		}
	}
	start := time.Now()
	conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = s.mock.WaitJournal(ctx, func(es []mock.Entry) bool {
		for _, e := range es {
			if e.Headers["x-request-id"] == "disconnect-test" && e.Cancelled {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("upstream not cancelled after the client went away: %v", err)
	}
	// 400 tokens at 50ms would take 20s; cancellation must come at once
	// (within a few inter-token gaps).
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("upstream cancelled only after %v", d)
	}
	deadline := time.Now().Add(3 * time.Second)
	for scrape(t, s, "sluice_streams_open") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stream still counted open after the client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPassthroughAndModels(t *testing.T) {
	s := newStack(t, nil)
	req, _ := http.NewRequest("GET", s.url+"/v1/files?purpose=batch", nil)
	req.Header.Set("Authorization", "Bearer "+clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	up := s.lastUpstream(t, "/v1/files")
	if up.Method != "GET" || up.Query != "purpose=batch" || up.Headers["authorization"] != "Bearer sk-provider-openai" {
		t.Errorf("passthrough upstream saw %s %s?%s auth=%q", up.Method, up.Path, up.Query, up.Headers["authorization"])
	}

	resp, err = http.Get(s.url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if list.Object != "list" || len(list.Data) != 4 || list.Data[0].ID != "gpt-4o-mini" {
		t.Errorf("models list: %+v", list)
	}

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/nope": 404} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestStreamTotalTimeout(t *testing.T) {
	s := newStack(t, map[string]string{"TOTAL": "400ms"})
	resp, body := streamBody(t, s, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Mock-ITL": "50", "X-Mock-Tokens": "40"}) // ≈ 2 s of events, cut at 400 ms
	if resp.StatusCode != 200 || !strings.Contains(body, `"code":"upstream_timeout"`) || strings.Contains(body, "[DONE]") {
		t.Fatalf("stream past its total timeout not cut with an error event: %d\n%s", resp.StatusCode, body)
	}
}

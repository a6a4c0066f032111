package gateway_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
)

// abandonConfig logs every request and waits long for the upstream: a
// request the gateway gives up on within the test's bounds was cancelled,
// not timed out.
const abandonConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: test-admin-token-0123456789}
telemetry: {enabled: true, flush_interval: 10ms}
providers:
  - name: openai
    kind: openai
    base_url: ${UPSTREAM}/v1
    api_keys: [sk-provider-openai]
    timeouts: {first_byte: 2m, idle: 2m, total: 5m}
  - name: anthropic
    kind: anthropic
    base_url: ${UPSTREAM}/v1
    api_keys: [sk-provider-anthropic]
    timeouts: {first_byte: 2m, idle: 2m, total: 5m}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
  - {name: claude-3-5-haiku, targets: [{provider: anthropic}]}
`

// rawRequest renders a POST of body to path with extra header lines.
func rawRequest(path, body string, headers ...string) string {
	var b strings.Builder
	b.WriteString("POST " + path + " HTTP/1.1\r\nHost: sluice\r\nContent-Type: application/json\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
	return b.String()
}

// waitCancelled waits until the mock journals the request with id as
// cancelled: the upstream saw its connection closed before it answered.
func waitCancelled(t *testing.T, s *stack, id string) {
	t.Helper()
	// Well under the upstream timeouts (2m): only a cancel ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := s.mock.WaitJournal(ctx, func(es []mock.Entry) bool {
		for _, e := range es {
			if e.Headers["x-request-id"] == id && e.Cancelled {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("the upstream request %s was not cancelled after its client left: %v", id, err)
	}
}

func TestClientLeavesWhileUpstreamWaits(t *testing.T) {
	s := newStackYAML(t, nil, abandonConfig)
	for _, tc := range []struct{ name, path, body, model string }{
		{"buffered", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, "gpt-4o-mini"},
		{"stream before its first byte", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "gpt-4o-mini"},
		{"anthropic stream before its first byte", "/v1/messages", `{"model":"claude-3-5-haiku","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, "claude-3-5-haiku"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "abandon-" + strings.ReplaceAll(tc.name, " ", "-")
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			// The mock holds the request without answering until its
			// connection closes; the client gives up at once.
			if _, err := conn.Write([]byte(rawRequest(tc.path, tc.body, "X-Mock-Hang: 1", "X-Request-Id: "+id))); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			waitCancelled(t, s, id)

			rows := waitLogs(t, s, "request_id="+id, 1)
			if len(rows) != 1 || rows[0].Status != 499 || rows[0].Model != tc.model {
				t.Fatalf("log rows %+v, want one with status 499", rows)
			}
			series := `sluice_client_cancelled_total{model="` + tc.model + `",provider="` + rows[0].Provider + `"}`
			if got := scrape(t, s, series); got < 1 {
				t.Errorf("%s = %v, want the request counted", series, got)
			}
		})
	}
	// Cancelled requests are not upstream errors.
	if got := scrape(t, s, `sluice_upstream_errors_total{kind="reset",provider="openai"}`); got > 0 {
		t.Errorf("a client that left was counted as an upstream reset (%v)", got)
	}
}

// readReply reads one HTTP reply off br and returns its status, request id
// and body.
func readReply(t *testing.T, br *bufio.Reader) (int, string, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("X-Request-Id"), b.String()
}

// A client that keeps its connection open, or sends its next request before
// the first is answered, is not mistaken for one that left: the watcher
// reads nothing from the connection. The first reply takes longer than a
// sweep of the watcher.
func TestKeepAliveAndPipelinedClientsStayServed(t *testing.T) {
	s := newStackYAML(t, nil, abandonConfig)
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	slow := rawRequest("/v1/chat/completions", body, "X-Mock-Latency: 700", "X-Request-Id: slow-1")
	next := rawRequest("/v1/chat/completions", body, "X-Request-Id: next-2")
	for _, tc := range []struct {
		name      string
		pipelined bool
	}{{"keep-alive", false}, {"pipelined", true}} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(conn)
			first := slow
			if tc.pipelined {
				first += next
			}
			if _, err := conn.Write([]byte(first)); err != nil {
				t.Fatal(err)
			}
			if status, id, got := readReply(t, br); status != 200 || id != "slow-1" || !strings.Contains(got, `"chat.completion"`) {
				t.Fatalf("first reply: %d %s %s", status, id, got)
			}
			if !tc.pipelined {
				if _, err := conn.Write([]byte(next)); err != nil {
					t.Fatal(err)
				}
			}
			if status, id, got := readReply(t, br); status != 200 || id != "next-2" || !strings.Contains(got, `"chat.completion"`) {
				t.Fatalf("second reply: %d %s %s", status, id, got)
			}
		})
	}
	for _, e := range s.mock.Journal() {
		if e.Cancelled {
			t.Errorf("upstream request %s cancelled", e.Headers["x-request-id"])
		}
	}
}

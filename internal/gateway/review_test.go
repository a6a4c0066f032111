package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
)

// A stream may outlast server.read_timeout: that deadline is for reading
// the request, not for the client watcher.
func TestStreamOutlivesReadTimeout(t *testing.T) {
	s := newStack(t, map[string]string{"READ_TIMEOUT": "300ms"})
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Mock-ITL": "60", "X-Mock-Tokens": "15"})
	if resp.StatusCode != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("a ~900ms stream was cut by a 300ms read timeout: %d\n%s", resp.StatusCode, body)
	}
}

func TestPassthroughKeepsEncodedPath(t *testing.T) {
	s := newStack(t, nil)
	resp, err := http.Get(s.url + "/v1/files/a%3Fb?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	up := s.lastUpstream(t, "/v1/files/a?b")
	if up.Query != "x=1" {
		t.Errorf("upstream query %q: the encoded ? was decoded into the request line", up.Query)
	}
	for _, path := range []string{"/v1/files/../../admin", "/v1/files/%2e%2e/x", "/v1/./files"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
		status, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.Contains(status, " 400 ") && !strings.Contains(status, " 404 ") {
			t.Errorf("%s: %q, want the dot segments refused", path, status)
		}
	}
}

func TestAnthropicPassthroughGoesToAnthropic(t *testing.T) {
	s := newStack(t, nil)
	resp, _ := s.post(t, "/v1/messages/batches", `{"requests":[]}`, nil)
	_ = resp
	up := s.lastUpstream(t, "/v1/messages/batches")
	if up.Headers["x-api-key"] != "sk-provider-anthropic" {
		t.Errorf("/v1/messages/batches went to the wrong provider: %v", up.Headers)
	}
}

func TestHTTP10StreamIsNotChunked(t *testing.T) {
	s := newStack(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, payload, _ := strings.Cut(string(raw), "\r\n\r\n")
	if strings.Contains(strings.ToLower(head), "transfer-encoding: chunked") || !strings.Contains(strings.ToLower(head), "content-length:") {
		t.Fatalf("HTTP/1.0 client got a chunked reply:\n%s", head)
	}
	if !strings.HasSuffix(payload, "data: [DONE]\n\n") {
		t.Fatalf("payload:\n%s", payload)
	}
}

// An upstream that closes idle keep-alive connections quickly must not turn
// the next POST on a pooled connection into a 502.
func TestStalePooledConnectionIsRetried(t *testing.T) {
	up := &fasthttp.Server{
		IdleTimeout: 100 * time.Millisecond,
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = up.Serve(ln) }()
	t.Cleanup(func() { _ = up.Shutdown() })
	cfg, err := config.Parse("stale.yaml", []byte(fmt.Sprintf(`
providers:
  - {name: up, kind: openai, base_url: "http://%s/v1"}
models:
  - {name: m, targets: [{provider: up}]}
`, ln.Addr())), nil)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	srv := gw.NewServer()
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(gln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background(), 0) })
	for i := 0; i < 3; i++ {
		if i > 0 {
			time.Sleep(300 * time.Millisecond) // the upstream closes the idle connection meanwhile
		}
		resp, err := http.Post("http://"+gln.Addr().String()+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"m","messages":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
	}
}

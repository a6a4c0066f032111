package mock

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// benchHandler runs the handler b.N times on one RequestCtx, as fasthttp would on one
// keep-alive connection.
func benchHandler(b *testing.B, path, body string, headers ...string) {
	s, err := New(Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI(path)
	req.Header.SetContentType("application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBodyString(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ctx.Response.Reset()
		h(ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func BenchmarkChatNonStream(b *testing.B) {
	benchHandler(b, "/v1/chat/completions", chatBody)
}

func BenchmarkChatNonStreamSteered(b *testing.B) {
	benchHandler(b, "/v1/chat/completions", chatBody, "X-Mock-Tokens", "32", "X-Mock-TTFT", "0")
}

func BenchmarkMessagesNonStream(b *testing.B) {
	benchHandler(b, "/v1/messages", `{"model":"claude-3-5-haiku","max_tokens":100,"messages":[{"role":"user","content":"Say hello to the gateway."}]}`)
}

func BenchmarkEmbeddings(b *testing.B) {
	benchHandler(b, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`)
}

// BenchmarkStreamEvents measures the mock's cost per streamed token event over a real
// loopback connection, with no pacing: ns/op is per event.
func BenchmarkStreamEvents(b *testing.B) {
	_, base := startMock(b, Options{}, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	const tokens = 10000
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Mock-Tokens: %d\r\nContent-Length: %d\r\n\r\n%s", tokens, len(body), body)
	br := bufio.NewReaderSize(conn, 64<<10)
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		if events%tokens == 0 {
			if _, err := io.WriteString(conn, req); err != nil {
				b.Fatal(err)
			}
		}
		// Read up to the next token event.
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(line, []byte(`"delta":{"content"`)) {
				break
			}
		}
		events++
	}
}

// BenchmarkHeldStreams opens b.N slow (paced) streams and keeps them open, then reports
// what each one costs the mock in heap, goroutine stack and goroutines. Client-side
// connections are counted too, so the numbers are an upper bound.
func BenchmarkHeldStreams(b *testing.B) {
	_, base := startMock(b, Options{}, nil)
	addr := strings.TrimPrefix(base, "http://")
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Mock-ITL: 60000\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	first := make([]byte, 1)
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, req); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(first); err != nil { // the stream has started
			b.Fatal(err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := float64(len(conns))
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/n, "goroutines/stream")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "heap-B/stream")
	b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/n, "stack-B/stream")
}

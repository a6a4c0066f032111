package mock

import (
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

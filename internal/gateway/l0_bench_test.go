package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
)

const staticReply = `{"id":"chatcmpl-static","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am a static reply."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}}`

// BenchmarkL0 drives a whole non-streamed request through the gateway
// (loopback TCP on both sides, a static fasthttp upstream) so that a CPU
// profile shows where the gateway's own time goes:
//
//	go test -run '^$' -bench L0 -cpuprofile /tmp/l0.prof ./internal/gateway
func BenchmarkL0(b *testing.B) {
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(staticReply)
	}}
	uln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = up.Serve(uln) }()
	defer up.Shutdown()

	cfg, err := config.Parse("l0.yaml", []byte(fmt.Sprintf(`
log: {level: warn}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1", api_keys: [sk-mock]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, uln.Addr())), nil)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()})
	if err != nil {
		b.Fatal(err)
	}
	srv := gw.NewServer()
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(gln) }()
	defer srv.Shutdown(context.Background(), 0)

	client := &fasthttp.HostClient{Addr: gln.Addr().String(), MaxConns: 64}
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how are you?"}]}`)
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			req.Reset()
			req.SetRequestURI("http://" + gln.Addr().String() + "/v1/chat/completions")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("Authorization", "Bearer sk-bench-0001")
			req.SetBody(body)
			if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				b.Fatalf("err %v status %d %s", err, resp.StatusCode(), resp.Body())
			}
		}
	})
}

package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/ratelimit"
)

const staticReply = `{"id":"chatcmpl-static","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am a static reply."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}}`

// BenchmarkL0 drives a whole non-streamed request through the gateway
// (loopback TCP on both sides, a static fasthttp upstream) so that a CPU
// profile shows where the gateway's own time goes:
//
//	go test -run '^$' -bench L0 -cpuprofile /tmp/l0.prof ./internal/gateway
func BenchmarkL0(b *testing.B) {
	benchTier(b, `
log: {level: warn}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1", api_keys: [sk-mock]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`)
}

// BenchmarkL1 is BenchmarkL0 with a static key that has every limit and a
// budget (tier L1's checks, in memory).
func BenchmarkL1(b *testing.B) {
	benchTier(b, `
log: {level: warn}
data_dir: `+b.TempDir()+`
auth:
  enabled: true
  keys:
    - {key: sk-bench-0001, id: bench, rpm: 1000000000, tpm: 1000000000000, max_concurrent: 1000000, budget_usd: 1000000000, budget_period: day}
pricing:
  gpt-4o-mini: {input: 0.15, output: 0.60}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1", api_keys: [sk-mock]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`)
}

// benchTier drives requests through a gateway built from cfgYAML (whose %s
// is the static upstream's address).
func benchTier(b *testing.B, cfgYAML string) {
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

	cfg, err := config.Parse("tier.yaml", []byte(fmt.Sprintf(cfgYAML, uln.Addr())), nil)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := gateway.Deps{Log: log, Metrics: metrics.New()}
	if cfg.Auth.Enabled {
		keys, err := auth.New(context.Background(), cfg, log)
		if err != nil {
			b.Fatal(err)
		}
		defer keys.Close()
		lim, err := ratelimit.New(cfg, ratelimit.Deps{Logger: log, Registerer: deps.Metrics.Prometheus(), Spend: keys})
		if err != nil {
			b.Fatal(err)
		}
		defer lim.Close(context.Background())
		deps.Keys, deps.Limits = keys, lim
	}
	gw, err := gateway.New(cfg, deps)
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

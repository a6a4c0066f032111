package gateway

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
)

// BenchmarkAuthStep is pipeline stage 2 as the request path runs it:
// header extraction, SHA-256 and the in-memory lookup (target < 300 ns,
// 0 allocations).
func BenchmarkAuthStep(b *testing.B) {
	cfg, err := config.Parse("bench.yaml", []byte(`
data_dir: `+b.TempDir()+`
auth:
  enabled: true
  keys: [{key: sk-bench-0001, id: bench}]
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
models: [{name: m, targets: [{provider: p}]}]
`), nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := auth.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer keys.Close()
	g := &Gateway{keys: keys}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.Set("Content-Type", "application/json")
	ctx.Request.Header.Set("User-Agent", "OpenAI/Go 3.0")
	ctx.Request.Header.Set("Authorization", "Bearer sk-bench-0001")
	b.ReportAllocs()
	for b.Loop() {
		if pol, herr := g.authenticate(&ctx); herr != nil || pol.ID != "bench" {
			b.Fatal("not authenticated")
		}
	}
}

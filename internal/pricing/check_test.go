package pricing

import (
	"path/filepath"
	"testing"

	"github.com/sluice-gw/sluice/internal/config"
)

// TestShippedConfigsPriced: every model named in the example and bench
// configs has a price in the catalog alone (their pricing sections
// dropped), so that `sluice pricing check` passes on each.
func TestShippedConfigsPriced(t *testing.T) {
	t.Setenv("SLUICE_POSTGRES_URL", "postgres://sluice@127.0.0.1:5432/sluice?sslmode=disable")
	t.Setenv("SLUICE_DATA_DIR", t.TempDir())
	var files []string
	for _, dir := range []string{"../../examples", "../../bench/configs"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	tb := catalog(t)
	for _, f := range files {
		cfg, err := config.Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, m := range tb.Unpriced(cfg) {
			t.Errorf("%s: model %s (target %s/%s) has no price in the catalog", f, m.Model, m.Provider, m.Upstream)
		}
	}
}

func TestUnpriced(t *testing.T) {
	cfg := &config.Config{Models: []config.Model{
		{Name: "gpt-4o-mini", Targets: []config.Target{{Provider: "openai"}}},
		{Name: "house-model", Targets: []config.Target{{Provider: "openai", Model: "gpt-4o"}, {Provider: "vllm", Model: "llama-3"}}},
		{Name: "mystery", Targets: []config.Target{{Provider: "vllm"}}},
		{Name: "claude-*", Targets: []config.Target{{Provider: "anthropic"}}},
	}}
	got := catalog(t).Unpriced(cfg)
	want := []Missing{{"house-model", "vllm", "llama-3"}, {"mystery", "vllm", "mystery"}}
	if len(got) != len(want) {
		t.Fatalf("Unpriced = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Unpriced[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

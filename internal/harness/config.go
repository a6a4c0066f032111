package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// GatewayConfig is the config a Deployment's instances serve: request
// logging to PostgreSQL, limits in Redis (fail_mode local), auth with
// static keys, the mock as the only provider. What differs between the
// tools is a field.
type GatewayConfig struct {
	// Tool names the writer in the header comment and the names derived
	// from it: key ids TOOL-load and TOOL-reload, the reload key
	// sk-TOOL-reload and the model TOOL-reload-extra.
	Tool string
	// LoadKey is the secret of the key the load uses; its limits are far
	// above any load.
	LoadKey string
	// Keys are more static keys as YAML flow mappings ("{key: …, id: …}"),
	// listed between the load key and the reload key.
	Keys []string
	// Retry is routing.retry; nil writes no routing section (the routing
	// defaults).
	Retry *Retry
	// FlushInterval and SinkTimeout are telemetry's, written out.
	FlushInterval, SinkTimeout time.Duration
	// FaultModels are public models after gpt-4o-mini, each with a target
	// of its own (so a circuit breaker of its own: one fault never makes
	// the healthy model cool down) and FaultFirstByte as its first_byte
	// timeout.
	FaultModels    []string
	FaultFirstByte time.Duration
}

// Retry is routing.retry.
type Retry struct {
	Attempts            int
	Backoff, MaxBackoff time.Duration
}

// Write writes the config of generation gen to path, atomically: an
// instance reloading reads the old file or the new one. gen varies what a
// reload changes (the reload key's limit, a model that comes and goes),
// so every reload applies something.
func (c GatewayConfig) Write(path string, gen int) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by tools/%s (generation %d); rewritten for every reload.
server:
  listen: ${SLUICE_LISTEN}
  shutdown_grace: 5s
admin:
  token: ${SLUICE_ADMIN_TOKEN}
log:
  level: warn
data_dir: ${SLUICE_DATA_DIR}
storage:
  postgres_url: ${SLUICE_POSTGRES_URL}
  redis_url: ${SLUICE_REDIS_URL}
auth:
  enabled: true
  sync_interval: 1s
  keys:
    - {key: %s, id: %s-load, name: load, rpm: 1000000000, tpm: 1000000000000, max_concurrent: 1000000}
`, c.Tool, gen, c.LoadKey, c.Tool)
	for _, k := range c.Keys {
		fmt.Fprintf(&b, "    - %s\n", k)
	}
	fmt.Fprintf(&b, `    - {key: sk-%s-reload, id: %s-reload, name: reload, rpm: %d}
limits:
  redis:
    fail_mode: local
    # Two instances, PostgreSQL, Redis, the mock and the load share the
    # machine: allow more than the 20 ms default before falling back.
    timeout: 100ms
`, c.Tool, c.Tool, 100000+gen)
	if c.Retry != nil {
		fmt.Fprintf(&b, "routing:\n  retry: {attempts: %d, backoff: %s, max_backoff: %s}\n", c.Retry.Attempts, c.Retry.Backoff, c.Retry.MaxBackoff)
	}
	fmt.Fprintf(&b, `telemetry:
  enabled: true
  sink: postgres
  flush_interval: %s
  sink_timeout: %s
providers:
  - name: mock
    kind: openai
    base_url: ${SLUICE_UPSTREAM}/v1
    api_keys: ["sk-mock"]
    timeouts: {connect: 1s, first_byte: 10s}
models:
  - name: gpt-4o-mini
    targets: [{provider: mock, model: gpt-4o-mini}]
`, c.FlushInterval, c.SinkTimeout)
	for _, m := range c.FaultModels {
		fmt.Fprintf(&b, "  - name: %s\n    timeouts: {first_byte: %s}\n    targets: [{provider: mock, model: gpt-4o-mini}]\n", m, c.FaultFirstByte)
	}
	if gen%2 == 1 {
		fmt.Fprintf(&b, "  - name: %s-reload-extra\n    targets: [{provider: mock, model: gpt-4o-mini}]\n", c.Tool)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load writes generation gen to dir/TOOL.yaml and parses it as `sluice
// serve` would, with the environment a Deployment gives its instances
// (placeholder addresses): what the tools' tests check their bounds
// against. It returns the config and its hash (config.Hash).
func (c GatewayConfig) Load(dir string, gen int) (*config.Config, string, error) {
	env := map[string]string{
		"SLUICE_LISTEN":       "127.0.0.1:18080",
		"SLUICE_DATA_DIR":     filepath.Join(dir, "data"),
		"SLUICE_UPSTREAM":     "http://127.0.0.1:19000",
		"SLUICE_ADMIN_TOKEN":  "admin-token",
		"SLUICE_POSTGRES_URL": "postgres://postgres@127.0.0.1:5432/sluice?sslmode=disable",
		"SLUICE_REDIS_URL":    "redis://127.0.0.1:6379/0",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	path := filepath.Join(dir, c.Tool+".yaml")
	if err := c.Write(path, gen); err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Parse(path, b, lookup)
	if err != nil {
		return nil, "", fmt.Errorf("generation %d: %w", gen, err)
	}
	return cfg, config.Hash(b), nil
}

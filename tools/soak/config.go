package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	adminToken = "soak-admin-token"
	loadKey    = "sk-soak-load" // limits far above any load

	// errorModel has its own target, so its own circuit breaker: the
	// upstream-error fault never makes the healthy model cool down.
	errorModel = "soak-error"

	// Request logging, written out in the config (the defaults).
	flushInterval = 100 * time.Millisecond
	sinkTimeout   = 2 * time.Second
)

// writeConfig writes the instances' config to path, atomically. gen
// varies what a reload changes (a key's limit, a model that comes and
// goes), so every reload applies something.
func writeConfig(path string, gen int) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by tools/soak (generation %d); rewritten for every reload.
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
    - {key: %s, id: soak-load, name: load, rpm: 1000000000, tpm: 1000000000000, max_concurrent: 1000000}
    - {key: sk-soak-reload, id: soak-reload, name: reload, rpm: %d}
limits:
  redis:
    fail_mode: local
    # Two instances, PostgreSQL, Redis, the mock and the load share the
    # machine: allow more than the 20 ms default before falling back.
    timeout: 100ms
telemetry:
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
  - name: %s
    timeouts: {first_byte: 1s}
    targets: [{provider: mock, model: gpt-4o-mini}]
`, gen, loadKey, 100000+gen, flushInterval, sinkTimeout, errorModel)
	if gen%2 == 1 {
		b.WriteString("  - name: soak-reload-extra\n    targets: [{provider: mock, model: gpt-4o-mini}]\n")
	}
	tmp := filepath.Join(filepath.Dir(path), ".soak.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

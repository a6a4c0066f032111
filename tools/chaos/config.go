package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The suite's settings that its bounds are computed from; the config
// file below spells the same values.
const (
	adminToken = "chaos-admin-token"
	loadKey    = "sk-chaos-load" // limits far above the load

	rpmLimit = 10 // rpm of the three limit keys

	// The fault models' first_byte timeout and the retry policy (the
	// routing defaults: 2 retries, backoff 100 ms doubling, at most 2 s).
	faultFirstByte = time.Second
	retryAttempts  = 2
	retryBackoff   = 100 * time.Millisecond
	retryMaxBack   = 2 * time.Second

	// Request logging (the defaults, written out).
	flushInterval = 100 * time.Millisecond
	sinkTimeout   = 2 * time.Second
)

// Keys with rpm 10 for the Redis scenario: before the kill, while Redis
// is down, after its restart (fresh buckets each).
var rpmKeys = map[string]string{
	"up":   "sk-chaos-rpm-up",
	"down": "sk-chaos-rpm-down",
	"back": "sk-chaos-rpm-back",
}

// Public models served by the mock: gpt-4o-mini is healthy; each
// chaos-* model has its own target and so its own circuit breaker, so one
// fault's breaker never refuses another's traffic.
var faultModels = []string{"chaos-error", "chaos-drop", "chaos-malformed", "chaos-hang", "chaos-stream"}

// writeConfig writes the instances' config to path. gen varies what a
// reload changes (a key's limit, a model that comes and goes), so each
// reload applies something.
func writeConfig(path string, gen int) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by tools/chaos (generation %d); rewritten for every reload.
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
    - {key: %s, id: chaos-load, name: load, rpm: 1000000000, tpm: 1000000000000, max_concurrent: 1000000}
    - {key: %s, id: chaos-rpm-up, name: rpm up, rpm: %d}
    - {key: %s, id: chaos-rpm-down, name: rpm down, rpm: %d}
    - {key: %s, id: chaos-rpm-back, name: rpm back, rpm: %d}
    - {key: sk-chaos-reload, id: chaos-reload, name: reload, rpm: %d}
limits:
  redis:
    fail_mode: local
    # Two instances, PostgreSQL, Redis, the mock and the load share two
    # cores: allow more than the 20 ms default before falling back.
    timeout: 100ms
routing:
  retry: {attempts: %d, backoff: %s, max_backoff: %s}
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
`, gen, loadKey, rpmKeys["up"], rpmLimit, rpmKeys["down"], rpmLimit, rpmKeys["back"], rpmLimit, 100000+gen,
		retryAttempts, retryBackoff, retryMaxBack, flushInterval, sinkTimeout)
	for _, m := range faultModels {
		fmt.Fprintf(&b, "  - name: %s\n    timeouts: {first_byte: %s}\n    targets: [{provider: mock, model: gpt-4o-mini}]\n", m, faultFirstByte)
	}
	if gen%2 == 1 {
		b.WriteString("  - name: chaos-reload-extra\n    targets: [{provider: mock, model: gpt-4o-mini}]\n")
	}
	// Atomically: an instance reloading reads the old file or the new one.
	tmp := filepath.Join(filepath.Dir(path), ".chaos.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

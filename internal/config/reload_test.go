package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const reloadBase = `
server: {listen: 127.0.0.1:8080, max_in_flight: 10}
admin: {token: some-admin-token}
log: {level: info}
data_dir: /tmp/a
auth:
  enabled: true
  keys:
    - {key: sk-one, id: one, rpm: 5, expires_at: "2030-01-01T00:00:00+02:00"}
providers:
  - {name: openai, kind: openai, base_url: "http://127.0.0.1:9000/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
telemetry: {enabled: true, log_bodies: none}
`

func TestRestartOnlyPathsNameFields(t *testing.T) {
	c := mustParse(t, reloadBase, nil)
	for _, p := range restartOnly {
		if !fieldAt(reflectValue(c), p).IsValid() {
			t.Errorf("restart-only path %q names no config field", p)
		}
	}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name          string
		edit          func(string) string
		changed, hard []string
	}{
		{name: "same text", edit: func(s string) string { return s }},
		{name: "time zone spelled the same", edit: func(s string) string { return s + "\n" }},
		{name: "models", edit: func(s string) string {
			return strings.Replace(s, "models:\n", "models:\n  - {name: gpt-4o, targets: [{provider: openai}]}\n", 1)
		}, changed: []string{"models"}},
		{name: "a static key's limit", edit: func(s string) string { return strings.Replace(s, "rpm: 5", "rpm: 6", 1) },
			changed: []string{"auth.keys"}},
		{name: "listener and a reloadable server setting", edit: func(s string) string {
			return strings.Replace(s, "listen: 127.0.0.1:8080, max_in_flight: 10", "listen: 127.0.0.1:8081, max_in_flight: 11", 1)
		}, changed: []string{"server.max_in_flight", "server.max_streams"}, // max_streams is 3/4 of it when absent
			hard: []string{"server.listen"}},
		{name: "memory ceiling and per-client cap need a restart", edit: func(s string) string {
			return strings.Replace(s, "max_in_flight: 10", "max_in_flight: 10, max_streams: 7, memory_limit: 64MiB, max_conns_per_client: 8, shed_latency: 30ms", 1)
		}, changed: []string{"server.shed_latency"}, hard: []string{"server.memory_limit", "server.max_conns_per_client"}},
		{name: "storage and data_dir", edit: func(s string) string {
			return strings.Replace(s, "data_dir: /tmp/a", "data_dir: /tmp/b\nstorage: {redis_url: redis://127.0.0.1:1}", 1)
		}, hard: []string{"data_dir", "storage", "limits.redis"}}, // limits.redis.url defaults to storage.redis_url
		{name: "telemetry: bodies reload, the sink does not", edit: func(s string) string {
			return strings.Replace(s, "{enabled: true, log_bodies: none}", "{enabled: true, log_bodies: full, sink: sqlite}", 1)
		}, changed: []string{"telemetry.log_bodies"}, hard: []string{"telemetry.sink"}},
		{name: "log level and format", edit: func(s string) string {
			return strings.Replace(s, "log: {level: info}", "log: {level: debug, format: json}", 1)
		}, changed: []string{"log.level"}, hard: []string{"log.format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			running := mustParse(t, reloadBase, nil)
			next := mustParse(t, tt.edit(reloadBase), nil)
			ch := Reconcile(running, next)
			if !slices.Equal(ch.Changed, tt.changed) || !slices.Equal(ch.NeedsRestart, tt.hard) {
				t.Fatalf("changed %q needs_restart %q; want %q and %q", ch.Changed, ch.NeedsRestart, tt.changed, tt.hard)
			}
			// next now runs with the running value of every restart-only
			// setting: a second comparison finds only the reloadable changes.
			again := Reconcile(running, next)
			if len(again.NeedsRestart) != 0 || !slices.Equal(again.Changed, tt.changed) {
				t.Errorf("after reconciling: changed %q needs_restart %q", again.Changed, again.NeedsRestart)
			}
			if next.Server.Listen != running.Server.Listen || next.DataDir != running.DataDir || next.Log.Format != running.Log.Format {
				t.Errorf("restart-only settings not kept: listen %q data_dir %q", next.Server.Listen, next.DataDir)
			}
		})
	}
}

func TestReconcileLeavesRunningAlone(t *testing.T) {
	running := mustParse(t, reloadBase, nil)
	next := mustParse(t, strings.Replace(reloadBase, "127.0.0.1:8080", "127.0.0.1:8081", 1), nil)
	Reconcile(running, next)
	if running.Server.Listen != "127.0.0.1:8080" {
		t.Fatalf("running config changed: %q", running.Server.Listen)
	}
}

func TestHash(t *testing.T) {
	a, b := Hash([]byte("x: 1\n")), Hash([]byte("x: 2\n"))
	if len(a) != 16 || a == b || a != Hash([]byte("x: 1\n")) {
		t.Fatalf("hashes %q %q", a, b)
	}
}

func reflectValue(c *Config) reflect.Value { return reflect.ValueOf(c).Elem() }

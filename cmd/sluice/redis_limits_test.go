package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/ratelimit"
	"github.com/sluice-gw/sluice/internal/testenv"
)

// TestLimitsSharedThroughRedis runs two gateway processes sharing one Redis:
// a 10-rpm key's requests split over both get exactly the refusals one
// instance would give (10 + 4 rapid requests: 4 refused), and its
// concurrency is counted once for both.
func TestLimitsSharedThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	redisURL, prefix := testenv.Redis(t)
	mockAddr := startMock(t)

	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: info}
data_dir: %s
storage: {redis_url: %q}
limits:
  redis: {prefix: %q}
auth:
  enabled: true
  keys:
    - {key: sk-shared-10rpm, id: shared, rpm: 10}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, t.TempDir(), redisURL, prefix, mockAddr)
	var logsA, logsB syncBuffer
	_, addrA, _ := startProcess(t, cfg, &logsA)
	_, addrB, _ := startProcess(t, cfg, &logsB)
	refused := 0
	for i := 0; i < 14; i++ {
		addr := addrA
		if i%2 == 1 {
			addr = addrB
		}
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-shared-10rpm")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
		case 429:
			refused++
		default:
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if refused != 4 {
		t.Fatalf("%d of 14 requests refused across two instances on a 10-rpm key, want exactly 4 (limits must not multiply with replicas)\nA:\n%s\nB:\n%s",
			refused, logsA.String(), logsB.String())
	}
}

// TestRedisDownLogsThroughSlog runs the binary with Redis unreachable:
// go-redis's own "failed to dial" lines come out in the configured log
// format (through slog, rate-limited), never raw on stderr.
func TestRedisDownLogsThroughSlog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: info}
data_dir: %s
storage: {redis_url: "redis://%s/0"}
auth:
  enabled: true
  keys: [{key: sk-redis-down, id: k, rpm: 10}]
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, t.TempDir(), dead, startMock(t))
	var logs syncBuffer
	startProcess(t, cfg, &logs)
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(logs.String(), "failed to dial") })
	dials := 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a line bypassed the log format: %s", line)
		}
		if strings.Contains(line, "failed to dial") {
			dials++
			if !strings.Contains(line, `msg="redis client"`) || !strings.Contains(line, "level=WARN") {
				t.Errorf("go-redis line not logged as a redis client warning: %s", line)
			}
		}
	}
	if dials != 1 {
		t.Errorf("%d dial-failure lines, want 1 (the rest are suppressed for %s):\n%s", dials, ratelimit.DefaultRedisLogEvery, logs.String())
	}
}

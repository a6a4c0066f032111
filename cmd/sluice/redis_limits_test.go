package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

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

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-gw/sluice/internal/testenv"
)

// TestServeWithLogDatabaseDown runs the real binary as tier L3 runs it
// (static key, request logs in PostgreSQL) with PostgreSQL down at start:
// it serves, /readyz says the logs are spooling, and once the database is
// started every request answered is in it exactly once, without a
// restart. The database is a private one (the shared server is never
// stopped).
func TestServeWithLogDatabaseDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, starts a private PostgreSQL")
	}
	pg := testenv.PrivatePostgres(t)
	pg.Stop()
	mockAddr := startMock(t)
	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: info}
data_dir: %q
storage: {postgres_url: %q}
auth:
  enabled: true
  keys: [{key: sk-bench-0001, id: bench}]
telemetry: {enabled: true, sink: postgres, flush_interval: 50ms}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, t.TempDir(), pg.URL(), mockAddr)
	var logs syncBuffer
	_, addr, _ := startProcess(t, cfg, &logs)
	base := "http://" + addr

	send := func(n int) {
		for i := 0; i < n; i++ {
			req, _ := http.NewRequest("POST", base+"/v1/chat/completions",
				strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Authorization", "Bearer sk-bench-0001")
			req.Header.Set("X-Request-Id", fmt.Sprintf("outage-%04d", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("request %d: status %d", i, resp.StatusCode)
			}
		}
	}
	send(200)
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(logs.String(), "spooling") })
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The key store is in the same database: not ready until it loads
	// once (the contract), and the detail names what is missing.
	if resp.StatusCode != 503 || !strings.Contains(string(body), "key store not loaded") || !strings.Contains(string(body), "spooled") {
		t.Errorf("/readyz with the database down: %d %s", resp.StatusCode, body)
	}

	pg.Start()
	count := func() (n, distinct int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			return -1, -1
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT request_id) FROM request_logs WHERE request_id LIKE 'outage-%'").Scan(&n, &distinct); err != nil {
			return -1, -1
		}
		return n, distinct
	}
	// The contract: spooled rows reach the sink within 10 s of its recovery.
	waitFor(t, 10*time.Second, func() bool { n, _ := count(); return n >= 200 })
	if n, d := count(); n != 200 || d != 200 {
		t.Fatalf("rows %d (distinct %d), want 200", n, d)
	}
	waitFor(t, 10*time.Second, func() bool { return get(base+"/readyz", "") == 200 })
}

package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// PrivatePG is a PostgreSQL server of one test's own, on an ephemeral
// loopback port, for tests that stop or kill the server (the shared one
// is never touched). Create it with PrivatePostgres. It is a
// harness.Postgres bound to the test.
type PrivatePG struct {
	t  testing.TB
	pg *harness.Postgres
}

// PrivatePostgres initializes a fresh cluster in a temporary directory
// (initdb, trust auth, user postgres) and starts it on an ephemeral port.
// When the test ends the server is stopped and the directory removed.
// The test is skipped when initdb cannot be found, or fails when
// SLUICE_TEST_REQUIRE_SERVICES=1.
//
// PostgreSQL refuses to run as root, so as root the server runs as the
// postgres OS user on a directory chowned to it (harness.Postgres).
func PrivatePostgres(t testing.TB) *PrivatePG {
	t.Helper()
	unavailable := func(msg string) {
		t.Helper()
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("private PostgreSQL: %s, and SLUICE_TEST_REQUIRE_SERVICES=1 requires this test to run", msg)
		}
		t.Skipf("private PostgreSQL: %s: skipping (install the PostgreSQL server binaries to run it)", msg)
	}
	if harness.PostgresBin() == "" {
		unavailable("initdb not found in /usr/lib/postgresql/*/bin or on PATH")
	}
	if _, err := harness.PostgresUser(); err != nil {
		unavailable(err.Error())
	}
	root, err := os.MkdirTemp("", "sluice-pg-")
	if err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	// The server's user must be able to enter the directory.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	p := &PrivatePG{t: t}
	t.Cleanup(func() {
		if p.pg != nil {
			if err := p.pg.Stop(); err != nil {
				t.Errorf("private PostgreSQL: stop: %v", err)
			}
		}
		if err := os.RemoveAll(root); err != nil {
			t.Errorf("private PostgreSQL: remove %s: %v", root, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := harness.NewPostgres(ctx, filepath.Join(root, "pg"))
	if err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	// The port is picked free and could be taken before the server binds
	// it; try a few.
	for attempt := 0; ; attempt++ {
		err := pg.Start(ctx)
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("private PostgreSQL: start: %v", err)
		}
		if pg.Port, err = harness.FreePort(); err != nil {
			t.Fatalf("private PostgreSQL: %v", err)
		}
	}
	p.pg = pg
	return p
}

// URL is the server's postgres:// URL (database postgres, user postgres).
func (p *PrivatePG) URL() string { return p.pg.URL("postgres") }

// Port is the server's TCP port; it stays the same across Stop and Start.
func (p *PrivatePG) Port() int { return p.pg.Port }

// Stop shuts the server down (fast mode: sessions are disconnected) and
// waits until it is gone.
func (p *PrivatePG) Stop() {
	p.t.Helper()
	if err := p.pg.Stop(); err != nil {
		p.t.Fatalf("private PostgreSQL: stop: %v", err)
	}
}

// Start starts the server again on the same port and waits until it
// accepts connections.
func (p *PrivatePG) Start() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.pg.Start(ctx); err != nil {
		p.t.Fatalf("private PostgreSQL: start: %v", err)
	}
}

package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// TestPropagation runs two Services on one store, as two gateway instances
// share one PostgreSQL (or, on one machine, one SQLite file), and checks
// that a create, update, rotate and revoke made through one reaches the
// other's cache within the bound: sync_interval plus one poll. The test
// waits with a deadline of the contract's 5 s and fails past it; the
// latencies it measured are logged.
func TestPropagation(t *testing.T) {
	const interval = 100 * time.Millisecond
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			stA, another := kind.open(t)
			cfg := testConfig(t.TempDir())
			cfg.Auth.SyncInterval = config.Duration(interval)
			a := startService(t, cfg, stA, nil)
			b := startService(t, cfg, migrated(t, another()), nil)
			ctx := context.Background()
			status := func(s *Service, secret string) Status {
				_, st := s.Cache().Authenticate([]byte(secret))
				return st
			}
			var worst time.Duration
			wait := func(what string, cond func() bool) {
				t.Helper()
				d := eventually(t, 5*time.Second, what, cond)
				worst = max(worst, d)
				t.Logf("%s: %v", what, d.Round(time.Millisecond))
			}

			k, secret := mustCreate(t, a, KeyInput{Models: []string{"m1"}})
			if status(a, secret) != StatusOK {
				t.Fatal("create: not on the instance that made it at once")
			}
			wait("create reaches the other instance", func() bool { return status(b, secret) == StatusOK })

			if _, err := a.Update(ctx, k.ID, []byte(`{"models":["m2"]}`)); err != nil {
				t.Fatal(err)
			}
			wait("update reaches the other instance", func() bool {
				p, st := b.Cache().Authenticate([]byte(secret))
				return st == StatusOK && p.Allows("m2") && !p.Allows("m1")
			})

			_, secret2, err := b.Rotate(ctx, k.ID) // changes flow both ways
			if err != nil {
				t.Fatal(err)
			}
			if status(b, secret) != StatusUnknown || status(b, secret2) != StatusOK {
				t.Fatal("rotate: not on the instance that made it at once")
			}
			wait("rotate reaches the other instance", func() bool {
				return status(a, secret) == StatusUnknown && status(a, secret2) == StatusOK
			})

			if err := a.Revoke(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			if status(a, secret2) != StatusUnknown {
				t.Fatal("revoke: not on the instance that made it at once")
			}
			wait("revoke reaches the other instance", func() bool { return status(b, secret2) == StatusUnknown })

			// The bound: one interval until the next poll, plus the poll.
			// Allow generous slack for a loaded test machine, but far
			// under the contract's 5 s.
			if limit := interval + time.Second; worst > limit {
				t.Errorf("slowest propagation %v, want under %v", worst, limit)
			}
		})
	}
}

// TestPostgresDownAtStart starts a Service whose PostgreSQL is unreachable
// (behind a proxy that refuses connections, so that the shared server is
// never touched): New returns at once, not ready, with static keys working
// and admin calls refused; once the database is reachable the Service
// migrates, loads and becomes ready by itself.
func TestPostgresDownAtStart(t *testing.T) {
	dbURL := testPostgres(t)
	u, _ := url.Parse(dbURL)
	p := startProxy(t, u.Host)
	u.Host = p.addr
	u.User = url.UserPassword(u.User.Username(), "hunter2-not-a-real-password")

	var logs syncBuffer
	cfg := testConfig(t.TempDir(), config.StaticKey{Key: staticSecret})
	cfg.Storage.PostgresURL = config.Secret(u.String())
	start := time.Now()
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New with PostgreSQL down: %v", err)
	}
	defer s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("New took %v with PostgreSQL refusing connections", d)
	}
	if s.Ready() {
		t.Fatal("ready without a key store")
	}
	if _, st := s.Cache().Authenticate([]byte(staticSecret)); st != StatusOK {
		t.Errorf("static key while the store is down: %v", st)
	}
	if _, err := s.Get(context.Background(), config.StaticKeyID(staticSecret)); err != nil {
		t.Errorf("Get of a static key while the store is down: %v", err)
	}
	if _, _, err := s.Create(context.Background(), KeyInput{}); !errors.Is(err, ErrNotReady) {
		t.Errorf("Create while the store is down = %v, want ErrNotReady", err)
	}
	if _, _, err := s.List(context.Background(), "", 0); !errors.Is(err, ErrNotReady) {
		t.Errorf("List while the store is down = %v, want ErrNotReady", err)
	}

	p.up.Store(true)
	eventually(t, 10*time.Second, "ready once PostgreSQL is up", s.Ready)
	_, secret := mustCreate(t, s, KeyInput{})
	if _, st := s.Cache().Authenticate([]byte(secret)); st != StatusOK {
		t.Errorf("key created after recovery: %v", st)
	}
	out := logs.String()
	if !strings.Contains(out, "key store not available") || !strings.Contains(out, "key store loaded") {
		t.Errorf("logs do not tell the story:\n%s", out)
	}
	for _, secret := range []string{"hunter2", secret, staticSecret} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret appears in the logs:\n%s", out)
		}
	}
}

// proxy forwards TCP connections to target while up, and closes them at
// once while down.
type proxy struct {
	addr string
	up   atomic.Bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				_ = c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close() })
			wg.Go(func() { _, _ = io.Copy(c, up); _ = c.Close() })
		}
	})
	return p
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNew covers New's own choices: SQLite in data_dir by default, an
// error when that cannot work, and a bad PostgreSQL URL reported without
// quoting it.
func TestNew(t *testing.T) {
	dir := t.TempDir()
	s, err := New(context.Background(), testConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Ready() {
		t.Error("SQLite service not ready after New")
	}
	_, secret := mustCreate(t, s, KeyInput{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A restart loads the stored key from data_dir/sluice.db.
	s, err = New(context.Background(), testConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, st := s.Cache().Authenticate([]byte(secret)); st != StatusOK {
		t.Errorf("key after restart: %v", st)
	}
	_ = s.Close()

	file := dir + "/" + SQLiteFile
	if _, err := New(context.Background(), testConfig(file), nil); err == nil {
		t.Error("New with data_dir naming a file succeeded")
	}

	cfg := testConfig(dir)
	cfg.Storage.PostgresURL = "postgres://u:hunter2@[::1/db"
	_, err = New(context.Background(), cfg, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New with a malformed PostgreSQL URL = %v", err)
	}
}

func TestNewPostgres(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Storage.PostgresURL = config.Secret(testPostgres(t))
	s, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Ready() {
		t.Fatal("PostgreSQL service not ready after New")
	}
	_, secret := mustCreate(t, s, KeyInput{})
	if _, st := s.Cache().Authenticate([]byte(secret)); st != StatusOK {
		t.Errorf("new key: %v", st)
	}
}

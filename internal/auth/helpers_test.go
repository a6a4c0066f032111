package auth

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/testenv"
)

// testPostgres returns the URL of a fresh database (see testenv.Postgres).
func testPostgres(t testing.TB) string { return testenv.Postgres(t) }

// storeKind is a store implementation every store test runs against. db
// creates a fresh, empty database and returns a function that opens a new
// store (not migrated) on it.
type storeKind struct {
	name string
	db   func(t *testing.T) func() Store
}

// open returns a migrated store on a fresh database and the opener of
// further stores on the same database.
func (k storeKind) open(t *testing.T) (Store, func() Store) {
	another := k.db(t)
	return migrated(t, another()), another
}

func storeKinds() []storeKind {
	return []storeKind{
		{"sqlite", func(t *testing.T) func() Store {
			dir := t.TempDir()
			return func() Store {
				st, err := OpenSQLite(dir)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				return st
			}
		}},
		{"postgres", func(t *testing.T) func() Store {
			u := testPostgres(t)
			return func() Store {
				st, err := OpenPostgres(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				return st
			}
		}},
	}
}

func migrated(t *testing.T, st Store) Store {
	t.Helper()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// testConfig is a config with auth on, the given static keys and a short
// sync interval.
func testConfig(dataDir string, keys ...config.StaticKey) *config.Config {
	c := &config.Config{DataDir: dataDir}
	c.Auth.Enabled = true
	c.Auth.Keys = keys
	c.Auth.SyncInterval = config.Duration(50 * time.Millisecond)
	return c
}

// startService builds and starts a Service on st with clock now (nil:
// time.Now); it is closed when the test ends.
func startService(t *testing.T, cfg *config.Config, st Store, now func() time.Time) *Service {
	t.Helper()
	s, err := newService(cfg, st, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// countingStore counts every call into a Store.
type countingStore struct {
	Store
	calls atomic.Int64
}

func (c *countingStore) Migrate(ctx context.Context) error {
	c.calls.Add(1)
	return c.Store.Migrate(ctx)
}

func (c *countingStore) Changes(ctx context.Context, since int64) ([]Record, int64, error) {
	c.calls.Add(1)
	return c.Store.Changes(ctx, since)
}

func (c *countingStore) Get(ctx context.Context, id string) (Record, error) {
	c.calls.Add(1)
	return c.Store.Get(ctx, id)
}

func (c *countingStore) List(ctx context.Context, afterSeq int64, limit int) ([]Record, error) {
	c.calls.Add(1)
	return c.Store.List(ctx, afterSeq, limit)
}

func (c *countingStore) Create(ctx context.Context, rec Record, a AuditEntry) (Record, error) {
	c.calls.Add(1)
	return c.Store.Create(ctx, rec, a)
}

func (c *countingStore) Update(ctx context.Context, id string, fn func(*Record) (*AuditEntry, error)) (Record, error) {
	c.calls.Add(1)
	return c.Store.Update(ctx, id, fn)
}

func (c *countingStore) Audit(ctx context.Context, keyID string, before int64, limit int) ([]AuditEntry, error) {
	c.calls.Add(1)
	return c.Store.Audit(ctx, keyID, before, limit)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// eventually polls cond every few milliseconds until it holds or the
// deadline passes, and returns how long that took. It is how tests wait
// for another instance's sync loop: a deadline, not a fixed sleep.
func eventually(t *testing.T, deadline time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > deadline {
			t.Fatalf("%s: not within %s", what, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustCreate(t *testing.T, s *Service, in KeyInput) (Key, string) {
	t.Helper()
	k, secret, err := s.Create(WithActor(context.Background(), "tester"), in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(secret, SecretPrefix) {
		t.Fatalf("Create returned secret without prefix")
	}
	return k, secret
}

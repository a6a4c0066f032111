package migrate

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/sluice-gw/sluice/internal/testenv"
)

// conn is one connection (pool) to a test database.
type conn struct {
	// apply runs Postgres or SQLite on this connection.
	apply func(ctx context.Context, component string, ms []Migration) (int, error)
	// count runs a query returning one integer.
	count func(t *testing.T, query string, args ...any) int
}

// target is a dialect the apply tests run against: fresh creates a new,
// empty database and returns an opener of connections to it.
type target struct {
	name  string
	fresh func(t *testing.T) func() conn
}

func targets() []target {
	return []target{
		{"sqlite", func(t *testing.T) func() conn {
			file := filepath.Join(t.TempDir(), "test.db")
			return func() conn { return sqliteConn(t, file) }
		}},
		{"postgres", func(t *testing.T) func() conn {
			u := testenv.Postgres(t)
			return func() conn { return pgConn(t, u) }
		}},
	}
}

// openSQLite opens file the way auth and telemetry do.
func openSQLite(t *testing.T, file string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func sqliteConn(t *testing.T, file string) conn {
	db := openSQLite(t, file)
	return conn{
		apply: func(ctx context.Context, component string, ms []Migration) (int, error) {
			return SQLite(ctx, db, component, ms)
		},
		count: func(t *testing.T, query string, args ...any) int {
			t.Helper()
			var n int
			if err := db.QueryRow(query, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		},
	}
}

func openPg(t *testing.T, u string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func pgConn(t *testing.T, u string) conn {
	pool := openPg(t, u)
	return conn{
		apply: func(ctx context.Context, component string, ms []Migration) (int, error) {
			return Postgres(ctx, pool, component, ms)
		},
		count: func(t *testing.T, query string, args ...any) int {
			t.Helper()
			var n int
			if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		},
	}
}

// testMigrations run on both dialects; the second holds two statements.
var testMigrations = []Migration{
	{1, "0001_widgets.sql", "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"},
	{2, "0002_gadgets.sql", "CREATE TABLE gadgets (id INTEGER PRIMARY KEY, w INTEGER);\nCREATE INDEX gadgets_w ON gadgets (w);"},
	{5, "0005_note.sql", "ALTER TABLE widgets ADD COLUMN note TEXT"},
}

const countRows = `SELECT count(*) FROM schema_migrations WHERE component = $1`

func TestApply(t *testing.T) {
	ctx := context.Background()
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Run("twice is idempotent", func(t *testing.T) {
				c := tg.fresh(t)()
				for run, want := range []int{3, 0} {
					n, err := c.apply(ctx, "comp", testMigrations)
					if err != nil || n != want {
						t.Fatalf("run %d applied %d, %v; want %d", run+1, n, err, want)
					}
				}
				if n := c.count(t, countRows, "comp"); n != 3 {
					t.Errorf("schema_migrations has %d rows, want 3", n)
				}
				if n := c.count(t, `SELECT count(*) FROM schema_migrations WHERE component = $1 AND version = $2 AND name = $3 AND applied_at IS NOT NULL`,
					"comp", 5, "0005_note.sql"); n != 1 {
					t.Errorf("row of 0005_note.sql: %d, want 1", n)
				}
				// Every migration ran: the column of 0005 and the table of 0002 exist.
				if n := c.count(t, `SELECT count(note) FROM widgets`); n != 0 {
					t.Errorf("widgets has %d notes", n)
				}
				if n := c.count(t, `SELECT count(*) FROM gadgets`); n != 0 {
					t.Errorf("gadgets has %d rows", n)
				}
			})
			t.Run("later versions apply later", func(t *testing.T) {
				c := tg.fresh(t)()
				for i, step := range []struct {
					ms   []Migration
					want int
				}{{testMigrations[:1], 1}, {testMigrations, 2}, {testMigrations, 0}} {
					n, err := c.apply(ctx, "comp", step.ms)
					if err != nil || n != step.want {
						t.Fatalf("step %d applied %d, %v; want %d", i, n, err, step.want)
					}
				}
			})
			t.Run("components are independent", func(t *testing.T) {
				c := tg.fresh(t)()
				a := []Migration{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER)"}}
				b := []Migration{{1, "0001_b.sql", "CREATE TABLE b (x INTEGER)"}, {2, "0002_b.sql", "CREATE TABLE b2 (x INTEGER)"}}
				for _, step := range []struct {
					component string
					ms        []Migration
					want      int
				}{{"a", a, 1}, {"b", b, 2}, {"a", a, 0}, {"b", b, 0}} {
					n, err := c.apply(ctx, step.component, step.ms)
					if err != nil || n != step.want {
						t.Fatalf("%s applied %d, %v; want %d", step.component, n, err, step.want)
					}
				}
				if n := c.count(t, `SELECT count(*) FROM schema_migrations`); n != 3 {
					t.Errorf("schema_migrations has %d rows, want 3", n)
				}
			})
			t.Run("a failure rolls everything back", func(t *testing.T) {
				c := tg.fresh(t)()
				bad := []Migration{testMigrations[0], {2, "0002_bad.sql", "CREATE TABLE widgets (id INTEGER)"}}
				n, err := c.apply(ctx, "comp", bad)
				if err == nil || n != 0 || !strings.HasPrefix(err.Error(), "migrate: migration 0002_bad.sql: ") {
					t.Fatalf("bad migration: applied %d, %v; want migrate: migration 0002_bad.sql: ...", n, err)
				}
				// Neither 0001's table nor schema_migrations survived: the
				// fixed set applies from scratch.
				n, err = c.apply(ctx, "comp", testMigrations)
				if err != nil || n != 3 {
					t.Fatalf("after the failure applied %d, %v; want 3", n, err)
				}
			})
			t.Run("cancelled context", func(t *testing.T) {
				c := tg.fresh(t)()
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				n, err := c.apply(cctx, "comp", testMigrations)
				if !errors.Is(err, context.Canceled) || n != 0 {
					t.Fatalf("applied %d, %v; want context.Canceled", n, err)
				}
				if n, err := c.apply(ctx, "comp", testMigrations); err != nil || n != 3 {
					t.Fatalf("then applied %d, %v; want 3", n, err)
				}
			})
			t.Run("bad arguments", func(t *testing.T) {
				c := tg.fresh(t)()
				if _, err := c.apply(ctx, "", testMigrations); err == nil {
					t.Error("empty component: no error")
				}
				if _, err := c.apply(ctx, "comp", []Migration{testMigrations[1], testMigrations[0]}); err == nil {
					t.Error("unordered migrations: no error")
				}
			})
			t.Run("concurrent appliers", func(t *testing.T) {
				open := tg.fresh(t)
				const appliers = 4
				conns := make([]conn, appliers)
				for i := range conns {
					conns[i] = open()
				}
				var wg sync.WaitGroup
				applied := make(chan int, appliers)
				errs := make(chan error, appliers)
				for _, c := range conns {
					wg.Go(func() {
						n, err := c.apply(ctx, "comp", testMigrations)
						applied <- n
						errs <- err
					})
				}
				wg.Wait()
				close(applied)
				close(errs)
				for err := range errs {
					if err != nil {
						t.Errorf("concurrent apply: %v", err)
					}
				}
				total := 0
				for n := range applied {
					total += n
				}
				if total != len(testMigrations) {
					t.Errorf("appliers applied %d in all, want %d", total, len(testMigrations))
				}
				if n := conns[0].count(t, countRows, "comp"); n != len(testMigrations) {
					t.Errorf("schema_migrations has %d rows, want %d", n, len(testMigrations))
				}
			})
		})
	}
}

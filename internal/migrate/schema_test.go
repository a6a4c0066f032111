package migrate

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/testenv"
)

// TestPostgresLockValue pins the lock key: every Sluice version must use
// this one, or instances of two versions would migrate concurrently.
func TestPostgresLockValue(t *testing.T) {
	if PostgresLock != 0x736c756963650001 {
		t.Fatalf("PostgresLock = %#x; it must stay 0x736c756963650001", PostgresLock)
	}
}

func TestSchemaMigrationsShape(t *testing.T) {
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		pool := openPg(t, testenv.Postgres(t))
		if _, err := Postgres(ctx, pool, "comp", nil); err != nil {
			t.Fatal(err)
		}
		rows, err := pool.Query(ctx, `SELECT column_name::text || ' ' || data_type::text || ' ' || is_nullable::text
FROM information_schema.columns WHERE table_name = 'schema_migrations' ORDER BY ordinal_position`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := []string{"component text NO", "version integer NO", "name text NO", "applied_at timestamp with time zone NO"}
		if !slices.Equal(got, want) {
			t.Errorf("columns = %q, want %q", got, want)
		}
		var key string
		if err := pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'schema_migrations'::regclass AND contype = 'p'`).Scan(&key); err != nil {
			t.Fatal(err)
		}
		if key != "PRIMARY KEY (component, version)" {
			t.Errorf("key = %q", key)
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		db := openSQLite(t, t.TempDir()+"/test.db")
		if _, err := SQLite(ctx, db, "comp", testMigrations[:1]); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`SELECT name || ' ' || type || ' ' || "notnull" || ' ' || pk FROM pragma_table_info('schema_migrations') ORDER BY cid`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		var got []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := []string{"component TEXT 1 1", "version INTEGER 1 2", "name TEXT 1 0", "applied_at INTEGER 1 0"}
		if !slices.Equal(got, want) {
			t.Errorf("columns = %q, want %q", got, want)
		}
		var at int64
		if err := db.QueryRow(`SELECT applied_at FROM schema_migrations`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		// Unix microseconds: after 2020 in microseconds, not in seconds or milliseconds.
		if at < time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() {
			t.Errorf("applied_at = %d, want unix microseconds", at)
		}
	})
}

// TestPostgresWaitsForLock holds PostgresLock in another session and
// checks that Postgres waits for it, then applies once it is released.
func TestPostgresWaitsForLock(t *testing.T) {
	ctx := context.Background()
	u := testenv.Postgres(t)
	holder := openPg(t, u)
	hc, err := holder.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Release()
	if _, err := hc.Exec(ctx, `SELECT pg_advisory_lock($1)`, PostgresLock); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	applier := openPg(t, u)
	go func() {
		n, err := Postgres(ctx, applier, "comp", testMigrations)
		done <- result{n, err}
	}()
	// Wait until the applier's session is queued on exactly this key
	// (an advisory bigint key shows as classid = high 32 bits, objid =
	// low 32 bits, objsubid = 1).
	for {
		var waiting int
		if err := holder.QueryRow(ctx, `SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = $1`,
			PostgresLock).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("Postgres returned %d, %v while the lock was held", r.n, r.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := hc.Exec(ctx, `SELECT pg_advisory_unlock($1)`, PostgresLock); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.n != len(testMigrations) {
		t.Fatalf("after the release Postgres applied %d, %v; want %d", r.n, r.err, len(testMigrations))
	}
}

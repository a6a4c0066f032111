package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteSchemaMigrations is the SQLite definition of schema_migrations:
// applied_at holds unix microseconds.
const sqliteSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (component, version)
)`

// SQLite applies the migrations in ms (ordered by version, as Load
// returns them) that schema_migrations lacks for component, and returns
// how many it applied. One transaction creates schema_migrations when
// missing and runs each pending migration followed by its row; an error
// rolls all of it back.
//
// Open db with _txlock=immediate (and a _busy_timeout), as auth and
// telemetry do: the transaction then takes the write lock when it begins,
// so that concurrent appliers (processes sharing the file) wait for each
// other instead of one failing to upgrade its read lock.
func SQLite(ctx context.Context, db *sql.DB, component string, ms []Migration) (int, error) {
	if err := checkArgs(component, ms); err != nil {
		return 0, err
	}
	tx, err := beginSQLite(ctx, db)
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	exec := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	if err := exec(sqliteSchemaMigrations); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	done, err := sqliteDone(ctx, tx, component)
	if err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	applied, err := applyPending(ms, done, component, time.Now().UnixMicro(), exec)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return applied, nil
}

// sqliteDone returns the versions recorded for component.
func sqliteDone(ctx context.Context, tx *sql.Tx, component string) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, selectDone, component)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}

// busyRetryFor bounds how long beginSQLite retries a BEGIN that SQLite
// refused as busy.
const busyRetryFor = 10 * time.Second

// beginSQLite begins the migration's transaction. SQLite can refuse a
// BEGIN IMMEDIATE with SQLITE_BUSY without waiting out the busy timeout —
// seen when several connections open a new file at once and one of them is
// switching it to WAL (TestApply's concurrent appliers, about one run in
// fifty) — so a busy refusal is retried, with a growing pause, until
// busyRetryFor or ctx ends. Other errors return at once.
func beginSQLite(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	deadline := time.Now().Add(busyRetryFor)
	pause := 5 * time.Millisecond
	for {
		tx, err := db.BeginTx(ctx, nil)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return tx, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

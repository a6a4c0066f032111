package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresLock is the key of the transaction-scoped advisory lock
// (pg_advisory_xact_lock) that serializes every Sluice migration in a
// PostgreSQL database, whatever the component. It must never change:
// instances of different versions would otherwise migrate concurrently.
// ("slu" "ice" 0x0001; other Sluice locks, such as telemetry's partition
// lock 0x736c756963650101, use other low bytes.)
const PostgresLock int64 = 0x736c756963650001

// pgSchemaMigrations is the PostgreSQL definition of schema_migrations.
const pgSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    name       TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (component, version)
)`

// PgBeginner starts a PostgreSQL transaction: a *pgxpool.Pool or a
// *pgx.Conn.
type PgBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Postgres applies the migrations in ms (ordered by version, as Load
// returns them) that schema_migrations lacks for component, and returns
// how many it applied. One transaction takes PostgresLock, creates
// schema_migrations when missing, and runs each pending migration followed
// by its row; an error rolls all of it back.
func Postgres(ctx context.Context, db PgBeginner, component string, ms []Migration) (int, error) {
	if err := checkArgs(component, ms); err != nil {
		return 0, err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	// Roll back even when ctx is what failed; after Commit this is a no-op.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	exec := func(query string, args ...any) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	}
	if err := exec(`SELECT pg_advisory_xact_lock($1)`, PostgresLock); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	if err := exec(pgSchemaMigrations); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	rows, err := tx.Query(ctx, selectDone, component)
	if err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	applied, err := applyPending(ms, done, component, time.Now().UTC(), exec)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return applied, nil
}

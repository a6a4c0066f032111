package telemetry

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-gw/sluice/internal/migrate"
)

// migrationFiles holds migrations/<dialect>/NNNN_name.sql, applied by
// internal/migrate: each file runs once, in order, in the transaction that
// records its schema_migrations row.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationComponent is this package's name in schema_migrations, the
// table internal/migrate defines for every component (internal/auth
// records its own there), keyed by (component, version).
const migrationComponent = "telemetry"

// migratePostgres applies the migrations the database lacks, under
// internal/migrate's advisory lock, and returns how many it applied.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	ms, err := migrate.Load(migrationFiles, "migrations/postgres")
	if err != nil {
		return 0, fmt.Errorf("telemetry: postgres: %w", err)
	}
	n, err := migrate.Postgres(ctx, pool, migrationComponent, ms)
	if err != nil {
		return 0, fmt.Errorf("telemetry: postgres: %w", err)
	}
	return n, nil
}

// migrateSQLite applies the migrations the file lacks; the connection's
// immediate transactions exclude other writers.
func migrateSQLite(ctx context.Context, db *sql.DB) (int, error) {
	ms, err := migrate.Load(migrationFiles, "migrations/sqlite")
	if err != nil {
		return 0, fmt.Errorf("telemetry: sqlite: %w", err)
	}
	n, err := migrate.SQLite(ctx, db, migrationComponent, ms)
	if err != nil {
		return 0, fmt.Errorf("telemetry: sqlite: %w", err)
	}
	return n, nil
}

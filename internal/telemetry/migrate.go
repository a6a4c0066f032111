package telemetry

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles holds migrations/<dialect>/NNNN_name.sql. Each file runs
// once, in order, inside one transaction with its schema_migrations row.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationComponent is this package's name in schema_migrations, the
// table internal/auth creates with the same definition in the same
// database (PostgreSQL), keyed by (component, version).
const migrationComponent = "telemetry"

// pgMigrationLock is the advisory lock internal/auth takes for its
// migrations: sharing it serializes every Sluice migration in a database,
// so two instances (or auth and telemetry) never race to create
// schema_migrations or apply the same file.
const pgMigrationLock int64 = 0x736c756963650001

// The schema_migrations definitions, identical to internal/auth's.
const (
	pgSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    name       TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (component, version)
)`
	sqliteSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (component, version)
)`
)

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations of a dialect, by version.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("telemetry: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("telemetry: migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("telemetry: migrations: %w", err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("telemetry: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migratePostgres applies the migrations the database lacks, under the
// advisory lock, and returns how many it applied.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	ms, err := loadMigrations("postgres")
	if err != nil {
		return 0, err
	}
	applied := 0
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgMigrationLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, pgSchemaMigrations); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations WHERE component = $1`, migrationComponent)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, m := range ms {
			if slices.Contains(done, int32(m.version)) {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
				migrationComponent, m.version, m.name, time.Now().UTC()); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
			applied++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("telemetry: postgres migrate: %w", err)
	}
	return applied, nil
}

// migrateSQLite applies the migrations the file lacks; the connection's
// immediate transactions exclude other writers.
func migrateSQLite(ctx context.Context, db *sql.DB) (int, error) {
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("telemetry: sqlite migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, sqliteSchemaMigrations); err != nil {
		return 0, fmt.Errorf("telemetry: sqlite migrate: create schema_migrations: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations WHERE component = ?`, migrationComponent)
	if err != nil {
		return 0, fmt.Errorf("telemetry: sqlite migrate: read schema_migrations: %w", err)
	}
	var done []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("telemetry: sqlite migrate: read schema_migrations: %w", err)
		}
		done = append(done, v)
	}
	err = rows.Err()
	_ = rows.Close()
	if err != nil {
		return 0, fmt.Errorf("telemetry: sqlite migrate: read schema_migrations: %w", err)
	}
	applied := 0
	for _, m := range ms {
		if slices.Contains(done, m.version) {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return 0, fmt.Errorf("telemetry: sqlite migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)`,
			migrationComponent, m.version, m.name, time.Now().UnixMicro()); err != nil {
			return 0, fmt.Errorf("telemetry: sqlite record migration %s: %w", m.name, err)
		}
		applied++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("telemetry: sqlite migrate: commit: %w", err)
	}
	return applied, nil
}

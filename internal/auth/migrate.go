package auth

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds migrations/<dialect>/NNNN_name.sql. Each file runs
// once, in order, inside one transaction with its schema_migrations row.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationComponent is this package's name in schema_migrations, a table
// other packages (telemetry) share with their own component name.
const migrationComponent = "auth"

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
		return nil, fmt.Errorf("auth: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("auth: migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("auth: migrations: %w", err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("auth: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrator applies a dialect's migrations. lock, when set, is run first in
// the transaction to exclude other instances (PostgreSQL's advisory lock;
// SQLite's BEGIN IMMEDIATE already does). table creates schema_migrations.
type migrator struct {
	db      backend
	dialect string
	lock    string
	table   string
}

// run applies every migration the database lacks and returns how many it
// applied.
func (m *migrator) run(ctx context.Context) (int, error) {
	ms, err := loadMigrations(m.dialect)
	if err != nil {
		return 0, err
	}
	applied := 0
	err = m.db.tx(ctx, func(q querier) error {
		if m.lock != "" {
			if err := q.exec(ctx, m.lock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if err := q.exec(ctx, m.table); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rs, err := q.query(ctx, `SELECT version FROM schema_migrations WHERE component = $1`, migrationComponent)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done := map[int]bool{}
		for rs.Next() {
			var v int
			if err := rs.Scan(&v); err != nil {
				rs.Close()
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			done[v] = true
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, mg := range ms {
			if done[mg.version] {
				continue
			}
			if err := q.exec(ctx, mg.sql); err != nil {
				return fmt.Errorf("migration %s: %w", mg.name, err)
			}
			if err := q.exec(ctx, `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
				migrationComponent, mg.version, mg.name, m.db.timeArg(time.Now())); err != nil {
				return fmt.Errorf("record migration %s: %w", mg.name, err)
			}
			applied++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("auth store: migrate: %w", err)
	}
	return applied, nil
}

package auth

import (
	"context"
	"embed"
	"fmt"
	"path"

	"github.com/sluice-gw/sluice/internal/migrate"
)

// migrationFiles holds migrations/<dialect>/NNNN_name.sql, applied by
// internal/migrate: each file runs once, in order, in the transaction that
// records its schema_migrations row.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationComponent is this package's name in schema_migrations, a table
// other packages (telemetry) share with their own component name.
const migrationComponent = "auth"

// loadMigrations reads the embedded migrations of a dialect, by version.
func loadMigrations(dialect string) ([]migrate.Migration, error) {
	ms, err := migrate.Load(migrationFiles, path.Join("migrations", dialect))
	if err != nil {
		return nil, fmt.Errorf("auth store: %w", err)
	}
	return ms, nil
}

// migrator applies a dialect's migrations to the store's database with
// internal/migrate, which owns schema_migrations and the advisory lock.
type migrator struct {
	db      backend
	dialect string
}

// run applies every migration the database lacks and returns how many it
// applied.
func (m *migrator) run(ctx context.Context) (int, error) {
	ms, err := loadMigrations(m.dialect)
	if err != nil {
		return 0, err
	}
	var n int
	switch db := m.db.(type) {
	case *pgDB:
		n, err = migrate.Postgres(ctx, db.pool, migrationComponent, ms)
	case *sqliteDB:
		n, err = migrate.SQLite(ctx, db.db, migrationComponent, ms)
	default:
		err = fmt.Errorf("migrate: unsupported backend %T", m.db)
	}
	if err != nil {
		return 0, fmt.Errorf("auth store: %w", err)
	}
	return n, nil
}

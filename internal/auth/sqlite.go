package auth

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLiteFile is the key store's file name under the data directory.
const SQLiteFile = "sluice.db"

// OpenSQLite opens (creating it and its directory when missing) the SQLite
// key store in dataDir/sluice.db, in WAL mode. Call Migrate before use.
func OpenSQLite(dataDir string) (Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("auth store: %w", err)
	}
	file := filepath.Join(dataDir, SQLiteFile)
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	// Write transactions take the write lock when they begin, so that two
	// writers (two processes on one file) queue instead of one failing
	// to upgrade its read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("auth store: open %s: %w", file, err)
	}
	// Writes are serialized by SQLite anyway; a few connections let polls
	// and admin reads run beside a write.
	db.SetMaxOpenConns(4)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("auth store: open %s: %w", file, err)
	}
	b := &sqliteDB{db: db}
	return &sqlStore{db: b, m: &migrator{
		db:      b,
		dialect: "sqlite",
	}}, nil
}

// sqliteDB adapts database/sql to the store's backend.
type sqliteDB struct{ db *sql.DB }

type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type sqliteQ struct{ q sqlQuerier }

func (s sqliteQ) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.q.ExecContext(ctx, query, args...)
	return err
}

func (s sqliteQ) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func (s *sqliteDB) exec(ctx context.Context, query string, args ...any) error {
	return sqliteQ{s.db}.exec(ctx, query, args...)
}

func (s *sqliteDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	return sqliteQ{s.db}.query(ctx, query, args...)
}

func (s *sqliteDB) tx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(sqliteQ{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// timeArg stores times as unix microseconds.
func (s *sqliteDB) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func (s *sqliteDB) close() { _ = s.db.Close() }

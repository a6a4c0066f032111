package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenPostgres returns a PostgreSQL key store on a pgx pool. It does not
// connect: a database that is down fails Migrate and the queries, not
// OpenPostgres, which fails only on a malformed URL. The error never
// quotes the URL, which may hold a password.
func OpenPostgres(url string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("auth store: invalid storage.postgres_url: want a postgres:// URL or a \"host=... dbname=...\" connection string")
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["application_name"] = "sluice"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("auth store: postgres pool: %w", err)
	}
	b := &pgDB{pool: pool}
	return &sqlStore{db: b, m: &migrator{
		db:      b,
		dialect: "postgres",
	}}, nil
}

// pgDB adapts a pgx pool to the store's backend.
type pgDB struct{ pool *pgxpool.Pool }

// pgxQuerier is what a pool and a transaction share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgQ struct{ q pgxQuerier }

func (p pgQ) exec(ctx context.Context, query string, args ...any) error {
	_, err := p.q.Exec(ctx, query, args...)
	return err
}

func (p pgQ) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func (p *pgDB) exec(ctx context.Context, query string, args ...any) error {
	return pgQ{p.pool}.exec(ctx, query, args...)
}

func (p *pgDB) query(ctx context.Context, query string, args ...any) (rows, error) {
	return pgQ{p.pool}.query(ctx, query, args...)
}

func (p *pgDB) tx(ctx context.Context, fn func(q querier) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(pgQ{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// timeArg passes times as timestamptz.
func (p *pgDB) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func (p *pgDB) close() { p.pool.Close() }

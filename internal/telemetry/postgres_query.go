package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Logs implements Sink.
func (s *Postgres) Logs(ctx context.Context, q LogQuery) (LogPage, error) {
	p, err := planLogs(q)
	if err != nil {
		return LogPage{}, err
	}
	if err := s.ensureReady(ctx); err != nil {
		return LogPage{}, err
	}
	query, args := logsSQL(pgDialect, p)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return LogPage{}, fmt.Errorf("telemetry: postgres logs: %w", err)
	}
	defer rows.Close()
	out := make([]Record, 0, min(p.limit+1, 128))
	for rows.Next() {
		var r Record
		var status, attempts int32
		var lat, ttft, up, over int64
		if err := rows.Scan(&r.Time, &r.RequestID, &r.KeyID, &r.KeyName, &r.Team, &r.Tags,
			&r.EndUser, &r.ClientIP, &r.UserAgent, &r.Route, &r.Format, &r.Model,
			&r.Provider, &r.UpstreamModel, &r.Stream, &status, &r.ErrorCode, &attempts,
			&r.Fallback, &lat, &ttft, &up, &over,
			&r.PromptTokens, &r.CompletionTokens, &r.CachedTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &r.TokensEstimated,
			&r.CostUSD, &r.Guardrails, &r.RateLimit, &r.RequestBody, &r.ResponseBody); err != nil {
			return LogPage{}, fmt.Errorf("telemetry: postgres logs: %w", err)
		}
		r.Time = r.Time.UTC()
		r.Status, r.Attempts = int(status), int(attempts)
		r.Latency, r.TTFT, r.UpstreamTime, r.Overhead = time.Duration(lat), time.Duration(ttft), time.Duration(up), time.Duration(over)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return LogPage{}, fmt.Errorf("telemetry: postgres logs: %w", err)
	}
	return p.page(out), nil
}

// Usage implements Sink.
func (s *Postgres) Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	p, err := planUsage(q)
	if err != nil {
		return nil, err
	}
	return s.usage(ctx, p)
}

// pgUsageWorkMem is the work_mem of a usage query: a 90-day answer by
// end user holds some 100,000 groups (about 80 MB of hash table), which
// spill to disk under the default 4 MB; PostgreSQL lets a hash table grow
// to hash_mem_multiplier (2) times this (docs/benchmarks.md).
const pgUsageWorkMem = "64MB"

// usage answers a planned usage query (p.raw: from request_logs alone),
// in one read-only REPEATABLE READ transaction, so that the rollups it
// reads are those of the state it planned with (retention may drop a
// coarse bucket meanwhile).
func (s *Postgres) usage(ctx context.Context, p usagePlan) ([]UsageRow, error) {
	if err := s.ensureReady(ctx); err != nil {
		return nil, err
	}
	out := []UsageRow{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if !p.raw {
			var err error
			if p.state, err = pgRollupState(ctx, tx); err != nil {
				return err
			}
		}
		// JIT compiles these plans (their cost passes jit_above_cost) for
		// some 50 ms, more than it saves on them.
		if _, err := tx.Exec(ctx, `SELECT set_config('work_mem', $1, true), set_config('jit', 'off', true)`, pgUsageWorkMem); err != nil {
			return err
		}
		query, args := usageSQL(pgDialect, p)
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r UsageRow
			if err := rows.Scan(usageDest(p, &r)...); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry: postgres usage: %w", err)
	}
	return out, nil
}

func (s *Postgres) ensureReady(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyLocked(ctx)
}

// rollupState reads how far the rollups go.
func (s *Postgres) rollupState(ctx context.Context) (rollupState, error) {
	return pgRollupState(ctx, s.pool)
}

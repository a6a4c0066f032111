package telemetry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLiteFile is the usual file name of the SQLite sink under the data
// directory.
const SQLiteFile = "telemetry.db"

// SQLiteOptions configures the SQLite sink.
type SQLiteOptions struct {
	// Retention deletes rows older than this, checked hourly while
	// writing; 0 = keep.
	Retention time.Duration
	// Logger receives the sink's log lines; nil = discard.
	Logger *slog.Logger
	// Clock drives retention; nil = time.Now.
	Clock func() time.Time
}

// SQLite is the embedded sink: one file of its own in WAL mode, each batch
// one transaction of INSERT OR IGNORE on the unique (request_id, time).
type SQLite struct {
	db   *sql.DB
	opts SQLiteOptions
	log  *slog.Logger
	now  func() time.Time

	mu        sync.Mutex // guards nextPrune
	nextPrune time.Time

	roll *roller // rolls up ended days (sqlite_rollup.go)
}

// OpenSQLite opens (creating it and its directory when missing) the
// SQLite sink at path and migrates it.
func OpenSQLite(path string, opts SQLiteOptions) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("telemetry: sqlite: a file path is required")
	}
	if opts.Retention < 0 {
		return nil, errors.New("telemetry: sqlite retention must not be negative")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("telemetry: sqlite: %w", err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	// WAL with synchronous=NORMAL is durable across a process crash (the
	// kill -9 case); only an OS crash may lose the last transactions.
	q.Set("_synchronous", "NORMAL")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("telemetry: sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &SQLite{db: db, opts: opts, log: opts.Logger, now: opts.Clock}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := migrateSQLite(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	s.roll = newRoller(s.Finalize, s.log)
	return s, nil
}

// Name implements Sink.
func (s *SQLite) Name() string { return "sqlite" }

// Close implements Sink.
func (s *SQLite) Close() error {
	s.roll.close()
	return s.db.Close()
}

// Ping implements Sink.
func (s *SQLite) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("telemetry: sqlite: %w", err)
	}
	return nil
}

var sqliteInsert = "INSERT OR IGNORE INTO request_logs (" + columnList + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"

// Write implements Sink: one transaction per batch.
func (s *SQLite) Write(ctx context.Context, batch []Record) error {
	if len(batch) == 0 {
		return nil
	}
	s.maybePrune(ctx)
	s.roll.kick(s.now())
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("telemetry: sqlite write: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, sqliteInsert)
	if err != nil {
		return fmt.Errorf("telemetry: sqlite write: %w", err)
	}
	defer stmt.Close()
	ru, err := sqliteRollup(ctx, tx)
	if err != nil {
		return fmt.Errorf("telemetry: sqlite write: %w", err)
	}
	args := make([]any, len(columns))
	for i := range batch {
		sqliteArgs(args, &batch[i])
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("telemetry: sqlite write: %w", err)
		}
		// 0 rows: a duplicate (a replay) that INSERT OR IGNORE skipped.
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("telemetry: sqlite write: %w", err)
		} else if n > 0 {
			ru.add(&batch[i])
		}
	}
	if err := sqliteAddRollup(ctx, tx, ru); err != nil {
		return fmt.Errorf("telemetry: sqlite write: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("telemetry: sqlite write: %w", err)
	}
	return nil
}

func sqliteArgs(v []any, x *Record) {
	v[0] = x.Time.UnixNano()
	v[1] = x.RequestID
	v[2] = x.KeyID
	v[3] = x.KeyName
	v[4] = x.Team
	v[5] = jsonOrNil(len(x.Tags) > 0, x.Tags)
	v[6] = x.EndUser
	v[7] = x.ClientIP
	v[8] = x.UserAgent
	v[9] = x.Route
	v[10] = x.Format
	v[11] = x.Model
	v[12] = x.Provider
	v[13] = x.UpstreamModel
	v[14] = x.Stream
	v[15] = x.Status
	v[16] = x.ErrorCode
	v[17] = x.Attempts
	v[18] = x.Fallback
	v[19] = int64(x.Latency)
	v[20] = int64(x.TTFT)
	v[21] = int64(x.UpstreamTime)
	v[22] = int64(x.Overhead)
	v[23] = x.PromptTokens
	v[24] = x.CompletionTokens
	v[25] = x.CachedTokens
	v[26] = x.CacheWriteTokens
	v[27] = x.ReasoningTokens
	v[28] = x.TokensEstimated
	v[29] = x.CostUSD
	v[30] = jsonOrNil(len(x.Guardrails) > 0, x.Guardrails)
	v[31] = x.RateLimit
	v[32] = nilIfEmpty(x.RequestBody)
	v[33] = nilIfEmpty(x.ResponseBody)
}

// jsonOrNil is v as JSON text, or NULL when !set. Maps of strings and
// verdicts always marshal.
func jsonOrNil(set bool, v any) any {
	if !set {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// maybePrune applies Options.Retention at most hourly; a failure is
// logged and retried at the next hour.
func (s *SQLite) maybePrune(ctx context.Context) {
	if s.opts.Retention <= 0 {
		return
	}
	s.mu.Lock()
	now := s.now()
	due := !now.Before(s.nextPrune)
	if due {
		s.nextPrune = now.Add(pruneEvery)
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.Prune(ctx, now.Add(-s.opts.Retention)); err != nil {
		s.log.Warn("telemetry: sqlite retention failed; retrying in an hour", "error", err)
	}
}

// Prune deletes the rows older than before, and keeps the rollups equal
// to the rows (sqlite_rollup.go).
func (s *SQLite) Prune(ctx context.Context, before time.Time) error {
	n, err := s.prune(ctx, before)
	if err != nil {
		return fmt.Errorf("telemetry: sqlite prune: %w", err)
	}
	if n > 0 {
		s.log.Info("telemetry: sqlite rows deleted by retention", "rows", n)
	}
	return nil
}

// Logs implements Sink.
func (s *SQLite) Logs(ctx context.Context, q LogQuery) (LogPage, error) {
	p, err := planLogs(q)
	if err != nil {
		return LogPage{}, err
	}
	query, args := logsSQL(sqliteDialect, p)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return LogPage{}, fmt.Errorf("telemetry: sqlite logs: %w", err)
	}
	defer rows.Close()
	out := make([]Record, 0, min(p.limit+1, 128))
	for rows.Next() {
		var r Record
		var ns, lat, ttft, up, over int64
		var tags, verdicts sql.NullString
		if err := rows.Scan(&ns, &r.RequestID, &r.KeyID, &r.KeyName, &r.Team, &tags,
			&r.EndUser, &r.ClientIP, &r.UserAgent, &r.Route, &r.Format, &r.Model,
			&r.Provider, &r.UpstreamModel, &r.Stream, &r.Status, &r.ErrorCode, &r.Attempts,
			&r.Fallback, &lat, &ttft, &up, &over,
			&r.PromptTokens, &r.CompletionTokens, &r.CachedTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &r.TokensEstimated,
			&r.CostUSD, &verdicts, &r.RateLimit, &r.RequestBody, &r.ResponseBody); err != nil {
			return LogPage{}, fmt.Errorf("telemetry: sqlite logs: %w", err)
		}
		r.Time = time.Unix(0, ns).UTC()
		r.Latency, r.TTFT, r.UpstreamTime, r.Overhead = time.Duration(lat), time.Duration(ttft), time.Duration(up), time.Duration(over)
		if tags.Valid {
			if err := json.Unmarshal([]byte(tags.String), &r.Tags); err != nil {
				return LogPage{}, fmt.Errorf("telemetry: sqlite logs: tags: %w", err)
			}
		}
		if verdicts.Valid {
			if err := json.Unmarshal([]byte(verdicts.String), &r.Guardrails); err != nil {
				return LogPage{}, fmt.Errorf("telemetry: sqlite logs: guardrails: %w", err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return LogPage{}, fmt.Errorf("telemetry: sqlite logs: %w", err)
	}
	return p.page(out), nil
}

// Usage implements Sink.
func (s *SQLite) Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	p, err := planUsage(q)
	if err != nil {
		return nil, err
	}
	return s.usage(ctx, p)
}

// usage answers a planned usage query (p.raw: from request_logs alone).
// Its statement is a snapshot of its own, read after the rollup state it
// is planned with: if retention moved spans_from meanwhile (dropping
// buckets the plan may read), it is planned and run again.
func (s *SQLite) usage(ctx context.Context, p usagePlan) ([]UsageRow, error) {
	for {
		if !p.raw {
			var err error
			if p.state, err = s.rollupState(ctx); err != nil {
				return nil, fmt.Errorf("telemetry: sqlite usage: %w", err)
			}
		}
		out, err := s.usageOnce(ctx, p)
		if err != nil || p.raw {
			return out, err
		}
		st, err := s.rollupState(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: sqlite usage: %w", err)
		}
		if st.spansFrom == p.state.spansFrom {
			return out, nil
		}
	}
}

func (s *SQLite) usageOnce(ctx context.Context, p usagePlan) ([]UsageRow, error) {
	query, args := usageSQL(sqliteDialect, p)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: sqlite usage: %w", err)
	}
	defer rows.Close()
	out := []UsageRow{}
	for rows.Next() {
		var r UsageRow
		if err := rows.Scan(usageDest(p, &r)...); err != nil {
			return nil, fmt.Errorf("telemetry: sqlite usage: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("telemetry: sqlite usage: %w", err)
	}
	return out, nil
}

func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

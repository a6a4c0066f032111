package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresOptions configures the PostgreSQL sink.
type PostgresOptions struct {
	// Dedup writes every batch through a staging table and INSERT ... ON
	// CONFLICT DO NOTHING. Off, batches are plain COPYs and only a batch
	// that hits a duplicate (a replay after a crash) takes that path, so
	// rows are unique on (request_id, time) either way; on costs
	// throughput on every batch but also skips duplicates inside a batch.
	Dedup bool
	// Retention drops day partitions whose rows are all older than this,
	// checked hourly while writing; 0 = keep.
	Retention time.Duration
	// Logger receives the sink's log lines; nil = discard.
	Logger *slog.Logger
	// PartitionsAhead is how many days after today get a partition in
	// advance; 0 = 3. Any other day gets one when a row needs it.
	PartitionsAhead int
	// MaxConns bounds the pool; 0 = 4.
	MaxConns int32
	// Clock drives partitions ahead and retention; nil = time.Now.
	Clock func() time.Time
}

// Postgres is the PostgreSQL sink: a pgx pool writing with COPY into
// request_logs, partitioned by UTC day. It connects lazily; the first call
// that reaches the database runs the embedded migrations.
type Postgres struct {
	pool *pgxpool.Pool
	opts PostgresOptions
	log  *slog.Logger
	now  func() time.Time

	// mu guards the schema state below; it is held across DDL, which
	// only the writer and the admin queries wait on.
	mu        sync.Mutex
	ready     bool
	parts     map[int64]bool // UTC days (since 1970-01-01) with a partition
	nextMaint time.Time

	bufs sync.Pool // *[]byte COPY buffers

	roll *roller // rolls up ended days (postgres_rollup.go)
}

// pgPartitionLock serializes partition DDL (create, drop) across
// instances.
const pgPartitionLock int64 = 0x736c756963650101

// OpenPostgres returns a PostgreSQL sink. It does not connect, so it
// succeeds while the database is down; it fails only on a malformed URL,
// and its error never quotes the URL (which may hold a password).
func OpenPostgres(ctx context.Context, url string, opts PostgresOptions) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("telemetry: invalid postgres URL: want a postgres:// URL or a \"host=... dbname=...\" connection string")
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 4
	}
	if opts.PartitionsAhead <= 0 {
		opts.PartitionsAhead = 3
	}
	if opts.Retention < 0 {
		return nil, errors.New("telemetry: postgres retention must not be negative")
	}
	cfg.MaxConns = opts.MaxConns
	cfg.ConnConfig.RuntimeParams["application_name"] = "sluice-telemetry"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("telemetry: postgres pool: %w", err)
	}
	s := &Postgres{pool: pool, opts: opts, log: opts.Logger, now: opts.Clock, parts: map[int64]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.roll = newRoller(s.Finalize, s.log)
	return s, nil
}

// Name implements Sink.
func (s *Postgres) Name() string { return "postgres" }

// Close implements Sink.
func (s *Postgres) Close() error {
	s.roll.close()
	s.pool.Close()
	return nil
}

// Ping checks the connection and, the first time it succeeds, migrates.
func (s *Postgres) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("telemetry: postgres: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyLocked(ctx)
}

// readyLocked migrates once and loads the partitions that exist.
func (s *Postgres) readyLocked(ctx context.Context) error {
	if s.ready {
		return nil
	}
	n, err := migratePostgres(ctx, s.pool)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("telemetry: postgres schema migrated", "applied", n)
	}
	if err := s.loadPartitionsLocked(ctx); err != nil {
		return err
	}
	s.ready = true
	return nil
}

// dayOf is t's UTC day number.
func dayOf(t time.Time) int64 {
	sec := t.Unix()
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return d
}

func dayStart(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

// partitionName is request_logs_pYYYYMMDD: built from a day number, never
// from input.
func partitionName(day int64) string { return "request_logs_p" + dayStart(day).Format("20060102") }

// parsePartitionName is partitionName's inverse; ok is false for tables
// that are not ours.
func parsePartitionName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, "request_logs_p")
	if !ok || len(s) != 8 {
		return 0, false
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0, false
	}
	return dayOf(t), true
}

func (s *Postgres) listPartitions(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'request_logs'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("telemetry: postgres: list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("telemetry: postgres: list partitions: %w", err)
	}
	return names, nil
}

func (s *Postgres) loadPartitionsLocked(ctx context.Context) error {
	names, err := s.listPartitions(ctx)
	if err != nil {
		return err
	}
	s.parts = map[int64]bool{}
	for _, n := range names {
		if d, ok := parsePartitionName(n); ok {
			s.parts[d] = true
		}
	}
	return nil
}

// ensurePartitionsLocked creates the partitions of days that lack one.
func (s *Postgres) ensurePartitionsLocked(ctx context.Context, days []int64) error {
	for _, d := range days {
		if s.parts[d] {
			continue
		}
		name := partitionName(d)
		ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF request_logs FOR VALUES FROM ('%s') TO ('%s')`,
			name, dayStart(d).Format(time.RFC3339), dayStart(d+1).Format(time.RFC3339))
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgPartitionLock); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, ddl)
			return err
		})
		if err != nil {
			return fmt.Errorf("telemetry: postgres: create partition %s: %w", name, err)
		}
		s.parts[d] = true
		s.log.Debug("telemetry: postgres partition ready", "partition", name)
	}
	return nil
}

// maintainLocked creates the partitions ahead and applies retention, at
// most hourly.
func (s *Postgres) maintainLocked(ctx context.Context) error {
	now := s.now()
	if now.Before(s.nextMaint) {
		return nil
	}
	today := dayOf(now)
	days := make([]int64, 0, s.opts.PartitionsAhead+1)
	for d := today; d <= today+int64(s.opts.PartitionsAhead); d++ {
		days = append(days, d)
	}
	if err := s.ensurePartitionsLocked(ctx, days); err != nil {
		return err
	}
	if s.opts.Retention > 0 {
		if err := s.pruneLocked(ctx, now.Add(-s.opts.Retention)); err != nil {
			return err
		}
	}
	s.nextMaint = now.Add(pruneEvery)
	return nil
}

// Prune drops the day partitions that end at or before before, and the
// days' rollups with them.
func (s *Postgres) Prune(ctx context.Context, before time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.readyLocked(ctx); err != nil {
		return err
	}
	return s.pruneLocked(ctx, before)
}

func (s *Postgres) pruneLocked(ctx context.Context, before time.Time) error {
	names, err := s.listPartitions(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		d, ok := parsePartitionName(n)
		if !ok || dayStart(d+1).After(before) {
			continue
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgPartitionLock); err != nil {
				return err
			}
			// The name is partitionName(d) again, not the catalog's text.
			if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+partitionName(d)); err != nil {
				return err
			}
			// The day's rollups go with its rows, in the same transaction,
			// and so do the coarse buckets that hold it: queries read the
			// days before spans_from from the daily tables.
			for _, t := range rollupTables {
				if _, err := tx.Exec(ctx, `DELETE FROM `+t.name+` WHERE day = $1`, dayStart(d)); err != nil {
					return err
				}
			}
			if err := pruneSpans(ctx, pgDialect, pgExec(tx), d+1); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE usage_rollup_state SET spans_from = GREATEST(spans_from, $1)`, dayStart(d+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("telemetry: postgres: drop partition %s: %w", partitionName(d), err)
		}
		delete(s.parts, d)
		s.log.Info("telemetry: postgres partition dropped by retention", "partition", partitionName(d))
	}
	return nil
}

// prepare makes the schema, and the partitions batch needs, exist.
func (s *Postgres) prepare(ctx context.Context, batch []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.readyLocked(ctx); err != nil {
		return err
	}
	if err := s.maintainLocked(ctx); err != nil {
		return err
	}
	var days []int64
	for i := range batch {
		d := dayOf(batch[i].Time)
		if !s.parts[d] && !containsDay(days, d) {
			days = append(days, d)
		}
	}
	return s.ensurePartitionsLocked(ctx, days)
}

func containsDay(days []int64, d int64) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}

// Write implements Sink with COPY (see PostgresOptions.Dedup).
func (s *Postgres) Write(ctx context.Context, batch []Record) error {
	if len(batch) == 0 {
		return nil
	}
	if err := s.prepare(ctx, batch); err != nil {
		return err
	}
	s.roll.kick(s.now())
	err := s.copy(ctx, batch, s.opts.Dedup)
	if pgCode(err) == "23514" {
		// "no partition of relation found for row": another instance's
		// retention dropped a partition this one believed in.
		s.mu.Lock()
		err = s.loadPartitionsLocked(ctx)
		s.mu.Unlock()
		if err == nil {
			if err = s.prepare(ctx, batch); err == nil {
				err = s.copy(ctx, batch, s.opts.Dedup)
			}
		}
	}
	if !s.opts.Dedup && pgCode(err) == "23505" {
		err = s.copy(ctx, batch, true)
	}
	if c := pgCode(err); c == "40P01" || c == "40001" {
		// A deadlock or serialization failure (writers adding to the
		// same rollup rows; their order makes this unexpected): the
		// transaction rolled back as a whole, so try once more.
		err = s.copy(ctx, batch, s.opts.Dedup)
	}
	if err == nil {
		return nil
	}
	if c := pgCode(err); strings.HasPrefix(c, "22") || strings.HasPrefix(c, "23") {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return fmt.Errorf("telemetry: postgres write: %w", err)
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// copy writes batch with COPY (binary, see pgcopy.go) and adds what it
// inserted for rolled-up days to the rollups, in one transaction holding
// the shared rollup locks of the batch's days (pgLockDays): straight into
// request_logs (all or nothing), or with dedup into a per-session staging
// table and then on with ON CONFLICT DO NOTHING, whose RETURNING names the
// rows inserted.
func (s *Postgres) copy(ctx context.Context, batch []Record, dedup bool) error {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer func() {
		if cap(*bp) <= 8<<20 {
			s.bufs.Put(bp)
		}
	}()
	*bp = appendPGCopy((*bp)[:0], batch)
	data := *bp
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ru, err := pgLockDays(ctx, tx, batch)
		if err != nil {
			return err
		}
		if !dedup {
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), pgCopyLogs); err != nil {
				return err
			}
			for i := range batch {
				ru.add(&batch[i])
			}
			return pgAddRollup(ctx, tx, ru)
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS request_logs_stage
(LIKE request_logs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), pgCopyStage); err != nil {
			return err
		}
		if !ru.wantsAny(batch) {
			// No row of a rolled-up day: nothing to learn from RETURNING.
			_, err := tx.Exec(ctx, pgInsertStageQuiet)
			return err
		}
		rows, err := tx.Query(ctx, pgInsertStage)
		if err != nil {
			return err
		}
		var r Record
		var status int32
		_, err = pgx.ForEachRow(rows, []any{&r.Time, &r.KeyID, &r.Team, &r.Model, &r.EndUser, &status,
			&r.PromptTokens, &r.CompletionTokens, &r.CachedTokens, &r.CacheWriteTokens, &r.ReasoningTokens, &r.CostUSD},
			func() error {
				r.Status = int(status)
				ru.add(&r)
				return nil
			})
		if err != nil {
			return err
		}
		return pgAddRollup(ctx, tx, ru)
	})
}

var (
	pgCopyLogs         = "COPY request_logs (" + columnList + ") FROM STDIN (FORMAT binary)"
	pgCopyStage        = "COPY request_logs_stage (" + columnList + ") FROM STDIN (FORMAT binary)"
	pgInsertStageQuiet = "INSERT INTO request_logs (" + columnList + ") SELECT " + columnList +
		" FROM request_logs_stage ON CONFLICT (request_id, time) DO NOTHING"
	pgInsertStage = pgInsertStageQuiet + " RETURNING time, key_id, team, model, end_user, status," +
		" prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_usd"
)

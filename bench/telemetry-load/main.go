// Command telemetry-load loads request-log rows into PostgreSQL through
// Sluice's telemetry sink (binary COPY, the same code sluice serve runs)
// and times the admin API's logs and usage queries on them. It backs
// bench/scripts/telemetry-10m.sh; see there for usage.
package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-gw/sluice/internal/telemetry"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "telemetry-load:", err)
		os.Exit(1)
	}
}

type options struct {
	url         string
	sqlite      string
	rows        int
	days        int
	keys        int
	models      int
	batch       int
	workers     int
	dedup       bool
	keep        bool
	queriesOnly bool
	runs        int
}

func run() error {
	var o options
	flag.StringVar(&o.url, "url", os.Getenv("SLUICE_BENCH_POSTGRES"), "postgres:// URL of the database to load (default $SLUICE_BENCH_POSTGRES)")
	flag.StringVar(&o.sqlite, "sqlite", "", "load the SQLite sink's `FILE` instead of PostgreSQL")
	flag.IntVar(&o.rows, "rows", 10_000_000, "rows to load")
	flag.IntVar(&o.days, "days", 30, "days the rows span, ending now")
	flag.IntVar(&o.keys, "keys", 1000, "distinct key ids")
	flag.IntVar(&o.models, "models", 20, "distinct models")
	flag.IntVar(&o.batch, "batch", 1000, "rows per COPY batch")
	flag.IntVar(&o.workers, "workers", 2, "concurrent writers")
	flag.BoolVar(&o.dedup, "dedup", false, "write through the de-duplicating path")
	flag.BoolVar(&o.keep, "keep", false, "load even if request_logs already holds rows")
	flag.BoolVar(&o.queriesOnly, "queries-only", false, "skip loading; time the queries on the rows there")
	flag.IntVar(&o.runs, "runs", 5, "runs of each query (the median and the slowest are reported)")
	flag.Parse()
	if o.url == "" && o.sqlite == "" {
		return errors.New("no database: pass -url or set SLUICE_BENCH_POSTGRES")
	}
	if o.rows <= 0 || o.days <= 0 || o.keys <= 0 || o.models <= 0 || o.batch <= 0 || o.workers <= 0 || o.runs <= 0 {
		return errors.New("-rows, -days, -keys, -models, -batch, -workers and -runs must be positive")
	}
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	end := time.Now().UTC().Truncate(time.Microsecond)
	start := end.Add(-time.Duration(o.days) * 24 * time.Hour)
	// The sink's clock stands still at the first row's time while it
	// loads, as if the rows arrived as they happened: no day has ended, so
	// none is rolled up while loading; Finalize then rolls up every day
	// but today, as the sink does once each day ends.
	clock := func() time.Time { return start }
	var sink benchSink
	if o.sqlite != "" {
		s, err := telemetry.OpenSQLite(o.sqlite, telemetry.SQLiteOptions{Logger: logger, Clock: clock})
		if err != nil {
			return err
		}
		sink = s
	} else {
		s, err := telemetry.OpenPostgres(ctx, o.url, telemetry.PostgresOptions{Dedup: o.dedup, Logger: logger,
			MaxConns: int32(o.workers + 2), Clock: clock})
		if err != nil {
			return err
		}
		sink = s
	}
	defer sink.Close()
	t0 := time.Now()
	if err := sink.Ping(ctx); err != nil {
		return err
	}
	// The first Ping migrates: on a load made by an older binary, this is
	// the time the new migrations took (their backfills included).
	fmt.Printf("schema ready in %v\n", time.Since(t0).Round(time.Millisecond))
	if !o.queriesOnly {
		if err := load(ctx, sink, o, start, end); err != nil {
			return err
		}
	}
	t0 = time.Now()
	n, err := sink.Finalize(ctx, end)
	if err != nil {
		return err
	}
	if n > 0 {
		took := time.Since(t0)
		fmt.Printf("rolled up %d days in %v (%v a day; the sink does one as each day ends)\n",
			n, took.Round(time.Millisecond), (took / time.Duration(n)).Round(time.Millisecond))
	}
	if err := analyze(ctx, o); err != nil {
		return err
	}
	return queries(ctx, sink, o, start, end)
}

// load writes o.rows rows spread evenly over [start, end).
// benchSink is what the loader needs of a sink.
type benchSink interface {
	telemetry.Sink
	Finalize(ctx context.Context, now time.Time) (int, error)
}

func load(ctx context.Context, sink benchSink, o options, start, end time.Time) error {
	page, err := sink.Logs(ctx, telemetry.LogQuery{Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Data) > 0 && !o.keep {
		return errors.New("request_logs already holds rows: use a fresh database, or pass -keep (or -queries-only)")
	}
	step := end.Sub(start) / time.Duration(o.rows)
	batches := (o.rows + o.batch - 1) / o.batch
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.workers)
	began := time.Now()
	fmt.Printf("loading %d rows over %d days (%d keys, %d models), batches of %d, %d writers, dedup=%v\n",
		o.rows, o.days, o.keys, o.models, o.batch, o.workers, o.dedup)
	for w := range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			buf := make([]telemetry.Record, 0, o.batch)
			for {
				b := int(next.Add(1) - 1)
				if b >= batches {
					return
				}
				buf = buf[:0]
				for i := b * o.batch; i < min((b+1)*o.batch, o.rows); i++ {
					buf = append(buf, row(rng, o, i, start.Add(time.Duration(i)*step)))
				}
				if err := sink.Write(ctx, buf); err != nil {
					errs <- err
					return
				}
				if d := done.Add(1); d%int64(max(batches/10, 1)) == 0 {
					fmt.Printf("  %3d%%  %d rows  %.0f rows/s\n", d*100/int64(batches), d*int64(o.batch), float64(d*int64(o.batch))/time.Since(began).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Printf("loaded %d rows in %v: %.0f rows/s\n", o.rows, took.Round(time.Millisecond), float64(o.rows)/took.Seconds())
	return nil
}

// analyze refreshes the planner's statistics and prints the table's size.
func analyze(ctx context.Context, o options) error {
	if o.sqlite != "" {
		return analyzeSQLite(ctx, o.sqlite)
	}
	conn, err := pgx.Connect(ctx, o.url)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer conn.Close(ctx)
	t0 := time.Now()
	if _, err := conn.Exec(ctx, "ANALYZE request_logs, "+strings.Join(rollupTables, ", ")); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	var rows int64
	var size, indexes string
	err = conn.QueryRow(ctx, `SELECT COALESCE(sum(c.reltuples), 0)::bigint,
       pg_size_pretty(COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint),
       pg_size_pretty(COALESCE(sum(pg_indexes_size(c.oid)), 0)::bigint)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'request_logs'::regclass`).Scan(&rows, &size, &indexes)
	if err != nil {
		return fmt.Errorf("table size: %w", err)
	}
	fmt.Printf("ANALYZE took %v; request_logs: about %d rows, %s on disk (indexes %s)\n",
		time.Since(t0).Round(time.Millisecond), rows, size, indexes)
	for _, table := range rollupTables {
		err := conn.QueryRow(ctx, `SELECT c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid))
FROM pg_class c WHERE c.oid = $1::regclass`, table).Scan(&rows, &size)
		if err != nil {
			return fmt.Errorf("table size: %w", err)
		}
		fmt.Printf("%s: about %d rows, %s on disk\n", table, rows, size)
	}
	return nil
}

// analyzeSQLite runs ANALYZE on the SQLite file and prints its size.
func analyzeSQLite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer db.Close()
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("ANALYZE took %v; %s: %d MB\n", time.Since(t0).Round(time.Millisecond), path, fi.Size()>>20)
	for _, table := range append([]string{"request_logs"}, rollupTables...) {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return err
		}
		fmt.Printf("%s: %d rows\n", table, n)
	}
	return nil
}

// rollupTables are the sinks' usage rollup tables.
var rollupTables = []string{"usage_daily_model", "usage_daily_key", "usage_daily_key_model", "usage_daily_end_user",
	"usage_span_key_model", "usage_span_end_user"}

var statuses = []int{200, 200, 200, 200, 200, 200, 200, 200, 429, 400, 502, 499}

// row is request i: a typical record with varied key, model, user and status.
func row(rng *rand.Rand, o options, i int, t time.Time) telemetry.Record {
	prompt := int64(50 + rng.IntN(2000))
	completion := int64(10 + rng.IntN(500))
	key := rng.IntN(o.keys)
	return telemetry.Record{
		RequestID: fmt.Sprintf("req-%011d", i), Time: t,
		// Each key belongs to one of 20 teams.
		KeyID: fmt.Sprintf("key_%04d", key), KeyName: "bench key", Team: fmt.Sprintf("team-%02d", key%20),
		EndUser: fmt.Sprintf("user-%d", rng.IntN(100_000)), ClientIP: "10.0.0.1", UserAgent: "openai-python/1.40.0",
		Route: "/v1/chat/completions", Format: "openai", Model: fmt.Sprintf("model-%02d", rng.IntN(o.models)),
		Provider: "openai", UpstreamModel: "gpt-4o-mini-2024-07-18", Stream: rng.IntN(2) == 0,
		Status: statuses[rng.IntN(len(statuses))], Attempts: 1,
		Latency: time.Duration(200+rng.IntN(3000)) * time.Millisecond, TTFT: time.Duration(50+rng.IntN(500)) * time.Millisecond,
		UpstreamTime: time.Duration(190+rng.IntN(3000)) * time.Millisecond, Overhead: time.Duration(50+rng.IntN(300)) * time.Microsecond,
		PromptTokens: prompt, CompletionTokens: completion, CachedTokens: int64(rng.IntN(64)),
		CacheWriteTokens: int64(rng.IntN(16)), ReasoningTokens: rng.Int64N(completion),
		CostUSD: float64(prompt)*0.15e-6 + float64(completion)*0.6e-6,
	}
}

type query struct {
	name string
	run  func(ctx context.Context) (int, error) // returns the rows answered
}

// queries times the admin API's queries and prints a Markdown table.
func queries(ctx context.Context, sink benchSink, o options, start, end time.Time) error {
	day := end.Add(-36 * time.Hour).Truncate(24 * time.Hour)
	logs := func(q telemetry.LogQuery) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			p, err := sink.Logs(ctx, q)
			return len(p.Data), err
		}
	}
	usage := func(q telemetry.UsageQuery) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			rows, err := sink.Usage(ctx, q)
			return len(rows), err
		}
	}
	deep := func(ctx context.Context) (int, error) {
		// Ten pages of 100, each continuing from the last cursor.
		q := telemetry.LogQuery{KeyID: "key_0042", Limit: 100}
		n := 0
		for range 10 {
			p, err := sink.Logs(ctx, q)
			if err != nil || p.NextCursor == "" {
				return n + len(p.Data), err
			}
			n += len(p.Data)
			q.Cursor = p.NextCursor
		}
		return n, nil
	}
	qs := []query{
		{"logs: newest page (limit 100)", logs(telemetry.LogQuery{})},
		{"logs: by request_id", logs(telemetry.LogQuery{RequestID: fmt.Sprintf("req-%011d", o.rows/2)})},
		{"logs: one key, one day", logs(telemetry.LogQuery{KeyID: "key_0042", Since: day, Until: day.Add(24 * time.Hour)})},
		{"logs: one key, 10 pages of 100 (cursor)", deep},
		{"logs: model + status 429, one hour", logs(telemetry.LogQuery{Model: "model-07", Status: 429, Since: day, Until: day.Add(time.Hour)})},
		{"logs: end user, all time", logs(telemetry.LogQuery{EndUser: "user-4242", Since: start})},
		{"logs: one team, newest page", logs(telemetry.LogQuery{Team: "team-07"})},
		{"usage: one hour by key, model", usage(telemetry.UsageQuery{Since: day, Until: day.Add(time.Hour), GroupBy: []string{"key", "model"}})},
		{"usage: one day by key, model", usage(telemetry.UsageQuery{Since: day, Until: day.Add(24 * time.Hour), GroupBy: []string{"key", "model"}})},
		{"usage: one day and an hour by key, model", usage(telemetry.UsageQuery{Since: day, Until: day.Add(25 * time.Hour), GroupBy: []string{"key", "model"}})},
	}
	// The whole range, from a time of day (not midnight) to an hour past
	// the last row: whole days from the rollups, both ends from the rows.
	all := fmt.Sprintf("usage: all %d days", o.days)
	for _, g := range [][]string{nil, {"day"}, {"model"}, {"team", "model"}, {"key"}, {"key", "day"}, {"key", "model"}, {"end_user"}} {
		name := all + ", total"
		if g != nil {
			name = all + " by " + strings.Join(g, ", ")
		}
		qs = append(qs, query{name, usage(telemetry.UsageQuery{Since: start, Until: end.Add(time.Hour), GroupBy: g})})
	}
	var b strings.Builder
	b.WriteString("| query | rows | median | slowest |\n|---|---:|---:|---:|\n")
	for _, q := range qs {
		var times []time.Duration
		n := 0
		for range o.runs {
			t0 := time.Now()
			got, err := q.run(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			times = append(times, time.Since(t0))
			n = got
		}
		slices.SortFunc(times, cmp.Compare[time.Duration])
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", q.name, n, ms(times[len(times)/2]), ms(times[len(times)-1]))
	}
	fmt.Print(b.String())
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

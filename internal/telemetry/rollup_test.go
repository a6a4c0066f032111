package telemetry

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-gw/sluice/internal/migrate"
	"github.com/sluice-gw/sluice/internal/testenv"
)

// planner is what the rollup tests need of a sink besides Sink: an
// answer to a planned usage query, so that the raw path can be forced.
type planner interface {
	Sink
	Pruner
	Finalize(ctx context.Context, now time.Time) (int, error)
	rollupState(ctx context.Context) (rollupState, error)
	usage(ctx context.Context, p usagePlan) ([]UsageRow, error)
}

var (
	_ planner = (*Postgres)(nil)
	_ planner = (*SQLite)(nil)
)

// rollupStart is the first day of the rollup tests' data.
var rollupStart = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)

// randomRecords are n records over days days from rollupStart, with few
// distinct keys, teams, models and end users (so that groups merge) and
// random statuses, tokens and costs; times are whole microseconds, which
// both sinks keep. Some fall on day boundaries exactly.
func randomRecords(rng *rand.Rand, n, from, days int) []Record {
	out := make([]Record, n)
	for i := range out {
		t := rollupStart.Add(time.Duration(rng.Int64N(int64(days)*int64(24*time.Hour))) / time.Microsecond * time.Microsecond)
		if rng.IntN(20) == 0 {
			t = rollupStart.Add(time.Duration(rng.IntN(days)) * 24 * time.Hour)
		}
		out[i] = Record{
			RequestID:        fmt.Sprintf("rnd-%06d", from+i),
			Time:             t,
			KeyID:            fmt.Sprintf("key_%d", rng.IntN(4)),
			Team:             []string{"", "platform", "data"}[rng.IntN(3)],
			EndUser:          []string{"", "alice", "bob", "carol", "dan"}[rng.IntN(5)],
			Model:            []string{"gpt-4o-mini", "claude-3-5-haiku", "gemini-2.0-flash"}[rng.IntN(3)],
			Status:           []int{200, 200, 200, 400, 429, 499, 502}[rng.IntN(7)],
			PromptTokens:     rng.Int64N(5000),
			CompletionTokens: rng.Int64N(800),
			CachedTokens:     rng.Int64N(1000),
			CacheWriteTokens: rng.Int64N(300),
			ReasoningTokens:  rng.Int64N(200),
			CostUSD:          float64(rng.IntN(100000)) * 1e-7,
		}
	}
	return out
}

// randomUsageQuery is a query with random bounds (open, on a day
// boundary, or anywhere in and around data of days days) and random
// groups; one in three has groups that the coarse tier serves.
func randomUsageQuery(rng *rand.Rand, days int) UsageQuery {
	bound := func() time.Time {
		switch rng.IntN(4) {
		case 0:
			return time.Time{}
		case 1:
			return rollupStart.Add(time.Duration(rng.IntN(days+3)-1) * 24 * time.Hour)
		}
		return rollupStart.Add(time.Duration(rng.Int64N(int64(days+2)*int64(24*time.Hour))) - 24*time.Hour)
	}
	q := UsageQuery{Since: bound(), Until: bound()}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		q.Since, q.Until = q.Until, q.Since
	}
	if rng.IntN(3) == 0 {
		q.GroupBy = [][]string{{"end_user"}, {"key", "model"}, {"model", "team", "key"}}[rng.IntN(3)]
		return q
	}
	for _, g := range Groups {
		if rng.IntN(3) == 0 {
			q.GroupBy = append(q.GroupBy, g)
		}
	}
	return q
}

// testRollups writes random batches (replays and duplicates within a
// batch included) over days days, rolls up the first three quarters,
// writes half as many again (late rows for rolled-up days, replays of
// rows already rolled up), and checks that random usage queries answer
// the same from the rollups as from the rows alone, and as computed here;
// then again after retention deleted the first quarter's rows; then
// again after more late rows (some for the days retention deleted) and a
// roll-up of every day. Over 8 days only the narrow buckets of the coarse
// tier fill; over 150, every width.
func testRollups(t *testing.T, s planner, days int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	seed := rng.Uint64()
	t.Logf("seed %d", seed)
	rng = rand.New(rand.NewPCG(7, seed))
	dayAt := func(d int) time.Time { return rollupStart.Add(time.Duration(d) * 24 * time.Hour) }
	// The rollups start on the first day (the sink's clock): nothing is
	// rolled up yet.
	if n, err := s.Finalize(ctx, rollupStart); err != nil || n != 0 {
		t.Fatalf("Finalize at the start = %d, %v", n, err)
	}
	all := randomRecords(rng, 5000, 0, days)
	// write writes all[from:to] and returns what it sent.
	write := func(from, to int) (sent []Record) {
		for i := from; i < to; {
			n := 1 + rng.IntN(400)
			batch := append([]Record{}, all[i:min(i+n, to)]...)
			if i > 0 && rng.IntN(3) == 0 {
				// A replay: records already written come again.
				batch = append(batch, all[rng.IntN(i)])
			}
			if len(batch) > 1 && rng.IntN(3) == 0 {
				batch = append(batch, batch[0])
			}
			if err := s.Write(ctx, batch); err != nil {
				t.Fatalf("Write: %v", err)
			}
			sent = append(sent, batch...)
			i += n
		}
		return sent
	}
	write(0, 2000)
	fin := days * 3 / 4
	if n, err := s.Finalize(ctx, dayAt(fin).Add(time.Minute)); err != nil || n != fin {
		t.Fatalf("Finalize of %d days = %d, %v", fin, n, err)
	}
	write(2000, 4000)
	if n, err := s.Finalize(ctx, dayAt(fin).Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("Finalize again = %d, %v", n, err)
	}
	check := func(t *testing.T, kept []Record) {
		for i := range 60 {
			q := randomUsageQuery(rng, days)
			if i < 6 { // the whole range, and all of it per day, always
				q = UsageQuery{GroupBy: [][]string{nil, {"day"}, {"end_user", "day"}, {"team", "key", "model", "day"},
					{"end_user"}, {"key", "model"}}[i]}
			}
			p, err := planUsage(q)
			if err != nil {
				t.Fatal(err)
			}
			if p.state, err = s.rollupState(ctx); err != nil {
				t.Fatal(err)
			}
			sp := p.span()
			got, err := s.usage(ctx, p)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			p.raw = true
			raw, err := s.usage(ctx, p)
			if err != nil {
				t.Fatalf("%+v (raw): %v", q, err)
			}
			t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
				t.Logf("since %v until %v group_by %v, rollups used: %v, days %+v, buckets %+v", q.Since, q.Until, q.GroupBy,
					sp.ok, sp.days, sp.spans)
				sameUsage(t, got, raw)
				sameUsage(t, got, expectUsage(kept, q))
			})
		}
	}
	t.Run("written", func(t *testing.T) { check(t, all[:4000]) })

	// Retention in the middle of a day: PostgreSQL drops the days before
	// (whole partitions), SQLite deletes up to the very instant.
	before := dayAt(days / 4).Add(7*time.Hour + 30*time.Minute)
	if err := s.Prune(ctx, before); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	cut := before
	if s.Name() == "postgres" {
		cut = dayAt(days / 4)
	}
	var kept []Record
	for _, r := range all[:4000] {
		if !r.Time.Before(cut) {
			kept = append(kept, r)
		}
	}
	t.Run("after retention", func(t *testing.T) { check(t, kept) })

	// More late rows, some of days retention deleted (and replays of rows
	// it deleted, which are stored again), then every day rolled up.
	stored := map[string]bool{}
	for _, r := range kept {
		stored[r.RequestID] = true
	}
	for _, r := range write(4000, len(all)) {
		if !stored[r.RequestID] {
			stored[r.RequestID] = true
			kept = append(kept, r)
		}
	}
	if _, err := s.Finalize(ctx, dayAt(days).Add(time.Minute)); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	t.Run("late rows after retention", func(t *testing.T) { check(t, kept) })
}

func TestSQLiteRollups(t *testing.T) {
	for _, days := range []int{8, 150} {
		t.Run(fmt.Sprintf("days=%d", days), func(t *testing.T) {
			s, err := OpenSQLite(filepath.Join(t.TempDir(), SQLiteFile), SQLiteOptions{Clock: func() time.Time { return rollupStart }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			testRollups(t, s, days)
		})
	}
}

func TestPostgresRollups(t *testing.T) {
	for _, tt := range []struct {
		dedup bool
		days  int
	}{{true, 8}, {false, 8}, {false, 150}} {
		t.Run(fmt.Sprintf("dedup=%v,days=%d", tt.dedup, tt.days), func(t *testing.T) {
			s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Dedup: tt.dedup, Clock: func() time.Time { return rollupStart }})
			testRollups(t, s, tt.days)
		})
	}
}

// oldRows are rows as version 1 of the schema held them: no cache-write
// or reasoning counts.
func oldRows(rng *rand.Rand) []Record {
	rows := randomRecords(rng, 1500, 100000, 150)
	for i := range rows {
		rows[i].CacheWriteTokens, rows[i].ReasoningTokens = 0, 0
	}
	return rows
}

// oldInsert is an INSERT of version 1's columns that oldInsertArgs fill.
func oldInsert(d dialect) string {
	cols := []string{"time", "request_id", "key_id", "team", "end_user", "model", "status",
		"prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd"}
	ps := make([]string, len(cols))
	for i := range ps {
		ps[i] = d.param(i + 1)
	}
	return "INSERT INTO request_logs (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ps, ", ") + ")"
}

func oldInsertArgs(d dialect, r *Record) []any {
	return []any{d.timeArg(r.Time), r.RequestID, r.KeyID, r.Team, r.EndUser, r.Model, r.Status,
		r.PromptTokens, r.CompletionTokens, r.CachedTokens, r.CostUSD}
}

// checkBackfill compares random usage queries on rows written before the
// rollups existed with what they must answer.
func checkBackfill(t *testing.T, s planner, rng *rand.Rand, rows []Record) {
	ctx := context.Background()
	for i := range 40 {
		q := randomUsageQuery(rng, 150)
		if i == 0 {
			q = UsageQuery{GroupBy: []string{"key", "team", "model", "end_user", "day"}}
		}
		p, _ := planUsage(q)
		got, err := s.usage(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.state, err = s.rollupState(ctx); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Logf("since %v until %v group_by %v, rollups used: %v", q.Since, q.Until, q.GroupBy, p.span().ok)
			sameUsage(t, got, expectUsage(rows, q))
		})
	}
}

// TestSQLiteRollupBackfill writes rows with only migration 0001 applied,
// then opens the sink (migration 0002 fills the rollups from them).
func TestSQLiteRollupBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), SQLiteFile)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrate.Load(migrationFiles, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := migrate.SQLite(ctx, db, migrationComponent, ms[:1]); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	rows := oldRows(rng)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if _, err := tx.ExecContext(ctx, oldInsert(sqliteDialect), oldInsertArgs(sqliteDialect, &rows[i])...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	checkBackfill(t, openTestSQLite(t, path), rng, rows)
}

func TestPostgresRollupBackfill(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ms, err := migrate.Load(migrationFiles, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Postgres(ctx, pool, migrationComponent, ms[:1]); err != nil {
		t.Fatal(err)
	}
	for d := dayOf(rollupStart); d < dayOf(rollupStart)+150; d++ {
		if _, err := pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s PARTITION OF request_logs FOR VALUES FROM ('%s') TO ('%s')`,
			partitionName(d), dayStart(d).Format(time.RFC3339), dayStart(d+1).Format(time.RFC3339))); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	rows := oldRows(rng)
	b := &pgx.Batch{}
	for i := range rows {
		b.Queue(oldInsert(pgDialect), oldInsertArgs(pgDialect, &rows[i])...)
	}
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	s := openTestPostgres(t, url, PostgresOptions{Clock: func() time.Time { return rollupStart }})
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	checkBackfill(t, s, rng, rows)
}

// testRollupRace writes rows of two days from several goroutines while
// the days are rolled up: whichever commits first, no row may be missing
// from the rollups or counted twice. The two days are a 2-day bucket of
// the coarse tier (rollupStart's day number is even), built with day 1.
func testRollupRace(t *testing.T, s planner) {
	ctx := context.Background()
	if _, err := s.Finalize(ctx, rollupStart); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	all := randomRecords(rng, 3000, 0, 2)
	for i := range all {
		// Days 0 and 1 only.
		all[i].Time = rollupStart.Add(time.Duration(rng.Int64N(int64(48*time.Hour))) / time.Microsecond * time.Microsecond)
	}
	const writers = 4
	errs := make(chan error, writers+1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * 50; i < len(all); i += writers * 50 {
				if err := s.Write(ctx, all[i:min(i+50, len(all))]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Day 0 ends, then day 1, while the writers write.
		for _, h := range []int{24, 48} {
			if _, err := s.Finalize(ctx, rollupStart.Add(time.Duration(h)*time.Hour)); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st, err := s.rollupState(ctx); err != nil || !st.ok || st.finalized != dayOf(rollupStart)+2 {
		t.Fatalf("finalized before day %d (%v, %v), want %d", st.finalized, st.ok, err, dayOf(rollupStart)+2)
	}
	// By end user and by key and model: the 2-day bucket of days 0 and 1,
	// built while late rows of day 0 were written.
	for _, g := range [][]string{nil, {"day"}, {"key", "team", "model", "end_user", "day"}, {"end_user"}, {"key", "model"}} {
		got, err := s.Usage(ctx, UsageQuery{GroupBy: g})
		if err != nil {
			t.Fatal(err)
		}
		sameUsage(t, got, expectUsage(all, UsageQuery{GroupBy: g}))
	}
}

func TestSQLiteRollupRace(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), SQLiteFile), SQLiteOptions{Clock: func() time.Time { return rollupStart }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	testRollupRace(t, s)
}

func TestPostgresRollupRace(t *testing.T) {
	for _, dedup := range []bool{true, false} {
		t.Run(fmt.Sprintf("dedup=%v", dedup), func(t *testing.T) {
			s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Dedup: dedup, MaxConns: 8, Clock: func() time.Time { return rollupStart }})
			testRollupRace(t, s)
		})
	}
}

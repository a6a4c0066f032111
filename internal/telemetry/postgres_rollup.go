package telemetry

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL side of the usage rollups (rollup.go). A day's rollup
// lock (an advisory lock, pgRollupLock) orders the writers of the day's
// rows against the one that rolls the day up: each write holds the shared
// locks of its batch's days and only then reads finalized_before, so it
// either sees the day rolled up and adds its rows to the rollups, or
// commits before the day is summed (whose exclusive lock waits for it),
// and the sum includes its rows. The roll-up that completes coarse
// buckets (span.go) holds the locks of all their days, for the same
// reason: a late row of one of those days is either in the halves the
// bucket is summed from or added to the built bucket by its write.

// pgRollupLock is the advisory lock key of a day's rollup: "sluc" and the
// day number. pgRollupSkipLock is the key that writers hold shared
// besides, and Finalize exclusively while it moves finalized_before over
// days without rows.
func pgRollupLock(day int64) int64 { return int64(0x736c7563)<<32 + day }

const pgRollupSkipLock = int64(0x736c7564) << 32

// pgLockDays takes the shared rollup locks (the skip lock, then those of
// batch's days in order), then reads which days are rolled up.
func pgLockDays(ctx context.Context, tx pgx.Tx, batch []Record) (*rollup, error) {
	var days []int64
	for i := range batch {
		if d := dayOf(batch[i].Time); !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	keys := []int64{pgRollupSkipLock}
	for _, d := range days {
		keys = append(keys, pgRollupLock(d))
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(k) FROM unnest($1::int8[]) AS k`, keys); err != nil {
		return nil, err
	}
	// A statement of its own: its snapshot is taken after the locks.
	st, err := pgRollupState(ctx, tx)
	if err != nil {
		return nil, err
	}
	return newRollup(pgText, st), nil
}

// pgQuerier is a pool or a transaction.
type pgQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgRollupState reads usage_rollup_state.
func pgRollupState(ctx context.Context, q pgQuerier) (rollupState, error) {
	var fin, from *time.Time
	if err := q.QueryRow(ctx, `SELECT finalized_before, spans_from FROM usage_rollup_state`).Scan(&fin, &from); err != nil {
		return rollupState{}, err
	}
	st := rollupState{spansFrom: noSpansFrom}
	if fin != nil {
		st.finalized, st.ok = dayOf(*fin), true
	}
	if from != nil {
		st.spansFrom = dayOf(*from)
	}
	return st, nil
}

// pgAddRollup adds ru to the rollup tables of both tiers, each one
// UPSERT over arrays (one row per group, in the order rows sorts them),
// sent together. Nothing when the batch holds no row of a rolled-up day,
// the usual case (rows of today).
func pgAddRollup(ctx context.Context, tx pgx.Tx, ru *rollup) error {
	if ru.empty() {
		return nil
	}
	b := &pgx.Batch{}
	for i, t := range allRollupTables {
		if rows := ru.rows(t); len(rows) > 0 {
			b.Queue(pgRollupUpserts[i], pgRollupArgs(t, rows)...)
		}
	}
	return tx.SendBatch(ctx, b).Close()
}

// pgRollupUpserts are the UPSERTs of pgAddRollup, one per allRollupTables
// entry: a span table's widths, the day as a day number, then one array
// per group column and one per sum.
var pgRollupUpserts = func() []string {
	out := make([]string, len(allRollupTables))
	for i, t := range allRollupTables {
		var arrays, names []string
		n := 0
		if t.span {
			n++
			arrays = append(arrays, "$1::int4[]")
			names = append(names, "w")
		}
		n++
		arrays = append(arrays, "$"+strconv.Itoa(n)+"::int4[]")
		names = append(names, "d")
		for j := range t.dims {
			n++
			arrays = append(arrays, "$"+strconv.Itoa(n)+"::text[]")
			names = append(names, "g"+strconv.Itoa(j))
		}
		for j, c := range rollupColumns {
			n++
			typ := "::int8[]"
			if c == "cost_usd" {
				typ = "::float8[]"
			}
			arrays = append(arrays, "$"+strconv.Itoa(n)+typ)
			names = append(names, "s"+strconv.Itoa(j))
		}
		sel := "date '1970-01-01' + " + strings.Join(names, ", ")
		if t.span {
			sel = "w, date '1970-01-01' + " + strings.Join(names[1:], ", ")
		}
		out[i] = t.upsert("INSERT INTO " + t.name + " " + t.insertColumns() + " SELECT " + sel +
			" FROM unnest(" + strings.Join(arrays, ", ") + ") AS x(" + strings.Join(names, ", ") + ")")
	}
	return out
}()

// pgRollupArgs are the arrays of t's UPSERT.
func pgRollupArgs(t rollupTable, rows []rollupRow) []any {
	n := len(rows)
	widths := make([]int32, n)
	days := make([]int32, n)
	groups := make([][]string, len(t.dims))
	for i := range groups {
		groups[i] = make([]string, n)
	}
	sums := make([][]int64, 7)
	for i := range sums {
		sums[i] = make([]int64, n)
	}
	costs := make([]float64, n)
	for i := range rows {
		r := &rows[i]
		widths[i] = int32(r.days)
		days[i] = int32(r.day)
		for j, d := range t.dims {
			groups[j][i] = r.group(d)
		}
		for j, v := range [...]int64{r.requests, r.errors, r.prompt, r.completion, r.cached, r.cacheWrite, r.reasoning} {
			sums[j][i] = v
		}
		costs[i] = r.cost
	}
	args := []any{days}
	if t.span {
		args = []any{widths, days}
	}
	for _, g := range groups {
		args = append(args, g)
	}
	for _, s := range sums {
		args = append(args, s)
	}
	return append(args, costs)
}

var (
	pgRollupFill = rollupFill(pgDialect)
	pgSpanBuilds = spanBuilds(pgDialect)
)

// pgExec runs statements in tx.
func pgExec(tx pgx.Tx) execer {
	return func(ctx context.Context, sql string, args ...any) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}
}

// Finalize rolls up every day before now's UTC day that is not yet, one
// day per transaction, and returns how many days it rolled up. The sink
// calls it by itself in the background once a day has ended (roller);
// tools that load old rows call it after. Days without rows are skipped
// (pgSkipEmpty), so the first call on a database whose rollups never
// started (an empty table at migration) starts them at its first row's
// day.
func (s *Postgres) Finalize(ctx context.Context, now time.Time) (int, error) {
	if err := s.ensureReady(ctx); err != nil {
		return 0, err
	}
	today := dayOf(now)
	n := 0
	for {
		var day int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
			day, err = pgSkipEmpty(ctx, tx, today)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("telemetry: postgres rollups: %w", err)
		}
		if day >= today {
			return n, nil
		}
		t0 := time.Now()
		if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return pgRollUp(ctx, tx, day) }); err != nil {
			return n, fmt.Errorf("telemetry: postgres rollups: roll up %s: %w", dayText(day), err)
		}
		s.log.Info("telemetry: postgres day rolled up", "day", dayText(day), "took", time.Since(t0).Round(time.Millisecond))
		n++
	}
}

// pgSkipEmpty moves finalized_before to the first day, before today, that
// has rows (today if none does), when it is later, and returns it. Under
// the skip lock no write is in flight, so days it skips stay empty; the
// buckets that their end completes are built from the days before.
func pgSkipEmpty(ctx context.Context, tx pgx.Tx, today int64) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgRollupSkipLock); err != nil {
		return 0, err
	}
	st, err := pgRollupState(ctx, tx)
	day, ok := st.finalized, st.ok
	if err != nil || ok && day >= today {
		return day, err
	}
	var first *time.Time
	if ok {
		err = tx.QueryRow(ctx, `SELECT min(time) FROM request_logs WHERE time >= $1`, dayStart(day)).Scan(&first)
	} else {
		err = tx.QueryRow(ctx, `SELECT min(time) FROM request_logs`).Scan(&first)
	}
	if err != nil {
		return 0, err
	}
	next := today
	if first != nil {
		next = min(next, dayOf(*first))
	}
	if ok && next <= day {
		return day, nil
	}
	if ok {
		if err := advanceSpans(ctx, pgDialect, pgSpanBuilds, pgExec(tx), day, next, st.spansFrom, false); err != nil {
			return 0, err
		}
	}
	_, err = tx.Exec(ctx, `UPDATE usage_rollup_state SET finalized_before = $1`, dayStart(next))
	return next, err
}

// pgRollUp sums day's rows into the rollups, builds the buckets that end
// with it, and moves finalized_before past it, holding the rollup locks of
// the day and of the buckets' days (in order, as writes take them),
// unless another instance did meanwhile.
func pgRollUp(ctx context.Context, tx pgx.Tx, day int64) error {
	first := day
	for _, b := range spansDone(day, day+1, noSpansFrom) {
		first = min(first, b.day)
	}
	var keys []int64
	for d := first; d <= day; d++ {
		keys = append(keys, pgRollupLock(d))
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k`, keys); err != nil {
		return err
	}
	st, err := pgRollupState(ctx, tx)
	if err != nil || !st.ok || st.finalized != day {
		return err
	}
	for _, t := range rollupTables { // none expected; makes a retry safe
		if _, err := tx.Exec(ctx, `DELETE FROM `+t.name+` WHERE day = $1`, dayStart(day)); err != nil {
			return err
		}
	}
	for i, q := range pgRollupFill {
		args := []any{dayStart(day)}
		if i == 0 {
			args = append(args, dayStart(day), dayStart(day+1))
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	if err := advanceSpans(ctx, pgDialect, pgSpanBuilds, pgExec(tx), day, day+1, st.spansFrom, true); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE usage_rollup_state SET finalized_before = $1`, dayStart(day+1))
	return err
}

package telemetry

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The SQLite side of the usage rollups (rollup.go). Every transaction of
// the sink is immediate (one writer at a time), so a write reads
// finalized_before in the transaction that stores its rows and no roll-up
// can interleave: the locks PostgreSQL needs are not needed here.

// sqliteQuerier is a database or a transaction.
type sqliteQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqliteRollupState reads usage_rollup_state.
func sqliteRollupState(ctx context.Context, q sqliteQuerier) (rollupState, error) {
	var fin, from sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT finalized_before, spans_from FROM usage_rollup_state`).Scan(&fin, &from); err != nil {
		return rollupState{}, err
	}
	st := rollupState{spansFrom: noSpansFrom}
	for _, c := range []struct {
		name string
		s    sql.NullString
		day  *int64
	}{{"finalized_before", fin, &st.finalized}, {"spans_from", from, &st.spansFrom}} {
		if !c.s.Valid {
			continue
		}
		t, err := time.Parse(time.DateOnly, c.s.String)
		if err != nil {
			return rollupState{}, fmt.Errorf("usage_rollup_state.%s %q: %w", c.name, c.s.String, err)
		}
		*c.day = dayOf(t)
	}
	st.ok = fin.Valid
	return st, nil
}

// sqliteFinalized reads finalized_before: every day before it is rolled
// up (ok false: none is yet).
func sqliteFinalized(ctx context.Context, q sqliteQuerier) (day int64, ok bool, err error) {
	st, err := sqliteRollupState(ctx, q)
	return st.finalized, st.ok, err
}

// rollupState reads how far the rollups go.
func (s *SQLite) rollupState(ctx context.Context) (rollupState, error) {
	return sqliteRollupState(ctx, s.db)
}

// sqliteRollup is the rollup of a write in tx.
func sqliteRollup(ctx context.Context, tx *sql.Tx) (*rollup, error) {
	st, err := sqliteRollupState(ctx, tx)
	if err != nil {
		return nil, err
	}
	return newRollup(nil, st), nil
}

// sqliteRollupUpserts are the UPSERTs of one row into each
// allRollupTables entry: a span table's width, the day, the group
// columns, the sums.
var sqliteRollupUpserts = func() []string {
	out := make([]string, len(allRollupTables))
	for i, t := range allRollupTables {
		n := 1 + len(t.dims) + len(rollupColumns)
		if t.span {
			n++
		}
		out[i] = t.upsert("INSERT INTO " + t.name + " " + t.insertColumns() +
			" VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")")
	}
	return out
}()

// sqliteAddRollup adds ru to the rollup tables of both tiers, a row at a
// time. Nothing when the batch holds no row of a rolled-up day, the usual
// case.
func sqliteAddRollup(ctx context.Context, tx *sql.Tx, ru *rollup) error {
	if ru.empty() {
		return nil
	}
	for i, t := range allRollupTables {
		rows := ru.rows(t)
		if len(rows) == 0 {
			continue
		}
		stmt, err := tx.PrepareContext(ctx, sqliteRollupUpserts[i])
		if err != nil {
			return err
		}
		for _, r := range rows {
			args := []any{dayText(r.day)}
			if t.span {
				args = []any{r.days, dayText(r.day)}
			}
			for _, d := range t.dims {
				args = append(args, r.group(d))
			}
			args = append(args, r.requests, r.errors, r.prompt, r.completion, r.cached, r.cacheWrite, r.reasoning, r.cost)
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				_ = stmt.Close()
				return err
			}
		}
		if err := stmt.Close(); err != nil {
			return err
		}
	}
	return nil
}

var (
	sqliteRollupFill = rollupFill(sqliteDialect)
	sqliteSpanBuilds = spanBuilds(sqliteDialect)
)

// sqliteExec runs statements in tx.
func sqliteExec(tx *sql.Tx) execer {
	return func(ctx context.Context, query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
}

// sqliteAdvanceSpans keeps the coarse tier as finalized_before moves from
// a to b (advanceSpans).
func sqliteAdvanceSpans(ctx context.Context, tx *sql.Tx, a, b, from int64, rolled bool) error {
	return advanceSpans(ctx, sqliteDialect, sqliteSpanBuilds, sqliteExec(tx), a, b, from, rolled)
}

// sqliteRollUp replaces day's rollups by the sums of its rows.
func sqliteRollUp(ctx context.Context, tx *sql.Tx, day int64) error {
	for _, t := range rollupTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE day = ?`, dayText(day)); err != nil {
			return err
		}
	}
	for i, q := range sqliteRollupFill {
		args := []any{dayText(day)}
		if i == 0 {
			args = append(args, dayStart(day).UnixNano(), dayStart(day+1).UnixNano())
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// Finalize rolls up every day before now's UTC day that is not yet, one
// day per transaction, and returns how many days it rolled up. The sink
// calls it by itself in the background once a day has ended (roller);
// tools that load old rows call it after. Days without rows are skipped,
// so the first call on a file whose rollups never started (an empty table
// at migration) starts them at its first row's day.
func (s *SQLite) Finalize(ctx context.Context, now time.Time) (int, error) {
	today := dayOf(now)
	n := 0
	for {
		done, err := s.rollUpNext(ctx, today)
		if err != nil {
			return n, fmt.Errorf("telemetry: sqlite rollups: %w", err)
		}
		if done {
			return n, nil
		}
		n++
	}
}

// rollUpNext skips the days without rows after the last one rolled up,
// then rolls up the next day if it is before today. done reports that
// there was nothing left to roll up.
func (s *SQLite) rollUpNext(ctx context.Context, today int64) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	st, err := sqliteRollupState(ctx, tx)
	day, ok := st.finalized, st.ok
	if err != nil || ok && day >= today {
		return true, err
	}
	var first sql.NullInt64
	if ok {
		err = tx.QueryRowContext(ctx, `SELECT min(time) FROM request_logs WHERE time >= ?`, dayStart(day).UnixNano()).Scan(&first)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT min(time) FROM request_logs`).Scan(&first)
	}
	if err != nil {
		return false, err
	}
	next := today
	if first.Valid {
		next = min(next, dayOf(time.Unix(0, first.Int64)))
	}
	if ok && next > day {
		// Days without rows: the buckets their end completes.
		if err := sqliteAdvanceSpans(ctx, tx, day, next, st.spansFrom, false); err != nil {
			return false, err
		}
	}
	if !ok || next > day {
		day = next
	}
	if day >= today {
		if _, err := tx.ExecContext(ctx, `UPDATE usage_rollup_state SET finalized_before = ?`, dayText(day)); err != nil {
			return false, err
		}
		return true, tx.Commit()
	}
	t0 := time.Now()
	if err := sqliteRollUp(ctx, tx, day); err != nil {
		return false, fmt.Errorf("roll up %s: %w", dayText(day), err)
	}
	if err := sqliteAdvanceSpans(ctx, tx, day, day+1, st.spansFrom, true); err != nil {
		return false, fmt.Errorf("roll up %s: %w", dayText(day), err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE usage_rollup_state SET finalized_before = ?`, dayText(day+1)); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	s.log.Info("telemetry: sqlite day rolled up", "day", dayText(day), "took", time.Since(t0).Round(time.Millisecond))
	return false, nil
}

// prune deletes the rows older than before and keeps the rollups equal to
// the rows, in one transaction: the rollups of the days before before's
// day go, and that day's, which lost only some of its rows, are summed
// again from the rows it keeps (if it is rolled up); the coarse buckets
// that hold any of those days go, and spans_from moves past them.
func (s *SQLite) prune(ctx context.Context, before time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `DELETE FROM request_logs WHERE time < ?`, before.UnixNano())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	day := dayOf(before)
	for _, t := range rollupTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE day < ?`, dayText(day)); err != nil {
			return 0, err
		}
	}
	finalized, ok, err := sqliteFinalized(ctx, tx)
	if err != nil {
		return 0, err
	}
	first := day // the first day whose rows are all kept
	if dayStart(day).Before(before) {
		first++
		if ok && day < finalized {
			if err := sqliteRollUp(ctx, tx, day); err != nil {
				return 0, err
			}
		}
	}
	if err := pruneSpans(ctx, sqliteDialect, sqliteExec(tx), first); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE usage_rollup_state SET spans_from = max(coalesce(spans_from, ''), ?)`,
		dayText(first)); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

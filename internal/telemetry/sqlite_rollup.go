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

// sqliteFinalized reads finalized_before: every day before it is rolled
// up (ok false: none is yet).
func sqliteFinalized(ctx context.Context, q sqliteQuerier) (day int64, ok bool, err error) {
	var s sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT finalized_before FROM usage_rollup_state`).Scan(&s); err != nil {
		return 0, false, err
	}
	if !s.Valid {
		return 0, false, nil
	}
	t, err := time.Parse(time.DateOnly, s.String)
	if err != nil {
		return 0, false, fmt.Errorf("usage_rollup_state.finalized_before %q: %w", s.String, err)
	}
	return dayOf(t), true, nil
}

// finalizedBefore is the first day not rolled up (ok false: none is).
func (s *SQLite) finalizedBefore(ctx context.Context) (int64, bool, error) {
	return sqliteFinalized(ctx, s.db)
}

// sqliteRollup is the rollup of a write in tx.
func sqliteRollup(ctx context.Context, tx *sql.Tx) (*rollup, error) {
	day, ok, err := sqliteFinalized(ctx, tx)
	if err != nil {
		return nil, err
	}
	return newRollup(nil, day, ok), nil
}

// sqliteRollupUpserts are the UPSERTs of one row into each rollupTables
// entry: day, the group columns, the sums.
var sqliteRollupUpserts = func() []string {
	out := make([]string, len(rollupTables))
	for i, t := range rollupTables {
		n := 1 + len(t.dims) + len(rollupColumns)
		out[i] = t.upsert("INSERT INTO " + t.name + " " + t.insertColumns() +
			" VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")")
	}
	return out
}()

// sqliteAddRollup adds ru to the four rollup tables, a row at a time.
// Nothing when the batch holds no row of a rolled-up day, the usual case.
func sqliteAddRollup(ctx context.Context, tx *sql.Tx, ru *rollup) error {
	if ru.empty() {
		return nil
	}
	for i, t := range rollupTables {
		stmt, err := tx.PrepareContext(ctx, sqliteRollupUpserts[i])
		if err != nil {
			return err
		}
		for _, r := range ru.rows(t) {
			args := []any{dayText(r.day)}
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

var sqliteRollupFill = rollupFill(sqliteDialect)

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
	day, ok, err := sqliteFinalized(ctx, tx)
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
// again from the rows it keeps (if it is rolled up).
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
	if ok && day < finalized && dayStart(day).Before(before) {
		if err := sqliteRollUp(ctx, tx, day); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

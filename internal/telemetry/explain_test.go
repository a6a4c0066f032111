package telemetry

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/testenv"
)

// loadRows writes n records spread evenly over days UTC days from start,
// with keys key_0..key_(keys-1), in batches of 1000.
func loadRows(tb testing.TB, s *Postgres, n, days, keys int, start time.Time) {
	tb.Helper()
	ctx := context.Background()
	step := time.Duration(int64(days) * int64(24*time.Hour) / int64(n))
	batch := make([]Record, 0, 1000)
	for i := range n {
		r := sampleRecord(i, start.Add(time.Duration(i)*step))
		r.KeyID = fmt.Sprintf("key_%d", (i*7919)%keys)
		// Many end users and teams, each a small share of the rows.
		r.EndUser = fmt.Sprintf("user-%d", (i*104729)%5000)
		r.Team = fmt.Sprintf("team-%d", (i*31)%100)
		r.Guardrails = nil
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.Write(ctx, batch); err != nil {
				tb.Fatalf("load: %v", err)
			}
			batch = batch[:0]
		}
	}
}

// explain returns the text plan of a query with its arguments.
func explain(t *testing.T, s *Postgres, query string, args []any) string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPostgresQueriesUseIndexes loads 100,000 rows over 5 days and checks
// with EXPLAIN that the admin queries read them through an index: no
// sequential scan of any partition.
func TestPostgresQueriesUseIndexes(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	// The sink's clock is the data's first day, so the partitions it
	// makes ahead all hold rows: the planner seq-scans a never-analyzed
	// empty partition (zero pages, nothing to read), which would muddle
	// the assertion.
	s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Clock: func() time.Time { return start }})
	loadRows(t, s, 100_000, 5, 200, start)
	if n := pgCount(t, s, ""); n != 100_000 {
		t.Fatalf("%d rows loaded", n)
	}
	if n, err := s.Finalize(context.Background(), start.Add(5*24*time.Hour)); err != nil || n != 5 {
		t.Fatalf("Finalize = %d, %v; want 5 days rolled up", n, err)
	}
	if _, err := s.pool.Exec(context.Background(), "ANALYZE request_logs, usage_daily_model, usage_daily_key, usage_daily_key_model, usage_daily_end_user"); err != nil {
		t.Fatal(err)
	}
	day3 := start.Add(48 * time.Hour)
	lastPage, err := s.Logs(context.Background(), LogQuery{KeyID: "key_17", Limit: 3})
	if err != nil || lastPage.NextCursor == "" {
		t.Fatalf("Logs: %v %+v", err, lastPage)
	}
	tests := []struct {
		name  string
		sql   func() (string, []any)
		index string // a name the plan must mention
	}{
		{"logs by key and time range", func() (string, []any) {
			p, _ := planLogs(LogQuery{KeyID: "key_17", Since: day3, Until: day3.Add(24 * time.Hour)})
			return logsSQL(pgDialect, p)
		}, "key_id_time"},
		{"logs by key, next page", func() (string, []any) {
			p, _ := planLogs(LogQuery{KeyID: "key_17", Cursor: lastPage.NextCursor})
			return logsSQL(pgDialect, p)
		}, "key_id_time"},
		{"logs by request_id", func() (string, []any) {
			p, _ := planLogs(LogQuery{RequestID: "req-00054321"})
			return logsSQL(pgDialect, p)
		}, "request_id_time"},
		{"logs newest first", func() (string, []any) {
			p, _ := planLogs(LogQuery{})
			return logsSQL(pgDialect, p)
		}, "time_request_id"},
		{"logs of a time range", func() (string, []any) {
			p, _ := planLogs(LogQuery{Since: day3, Until: day3.Add(time.Hour), Model: "gpt-4o-mini"})
			return logsSQL(pgDialect, p)
		}, "time_request_id"},
		{"logs of one end user", func() (string, []any) {
			p, _ := planLogs(LogQuery{EndUser: "user-4242"})
			return logsSQL(pgDialect, p)
		}, "end_user_time"},
		// Team has no index of its own: the time index, filtered.
		{"logs of one team and an hour", func() (string, []any) {
			p, _ := planLogs(LogQuery{Team: "team-7", Since: day3, Until: day3.Add(time.Hour)})
			return logsSQL(pgDialect, p)
		}, "time_request_id"},
		{"usage of an hour by key, model, day", func() (string, []any) {
			p, _ := planUsage(UsageQuery{Since: day3, Until: day3.Add(time.Hour), GroupBy: []string{"key", "model", "day"}})
			return usageSQL(pgDialect, p)
		}, "time_request_id"},
		// Whole days from the rollup (whose table it may read whole: it
		// is small), the partial ends from request_logs by time.
		{"usage of 3 days and a bit by team, model", func() (string, []any) {
			p, _ := planUsage(UsageQuery{Since: start.Add(20 * time.Hour), Until: day3.Add(30 * time.Hour), GroupBy: []string{"team", "model"}})
			p.state = rollupState{finalized: dayOf(start) + 5, ok: true, spansFrom: noSpansFrom}
			return usageSQL(pgDialect, p)
		}, "time_request_id"},
		{"usage of 3 days and a bit by end user", func() (string, []any) {
			p, _ := planUsage(UsageQuery{Since: start.Add(20 * time.Hour), Until: day3.Add(30 * time.Hour), GroupBy: []string{"end_user"}})
			p.state = rollupState{finalized: dayOf(start) + 5, ok: true, spansFrom: noSpansFrom}
			return usageSQL(pgDialect, p)
		}, "time_request_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, args := tt.sql()
			plan := explain(t, s, q, args)
			if strings.Contains(plan, "Seq Scan on request_logs") {
				t.Fatalf("sequential scan:\n%s", plan)
			}
			if !strings.Contains(plan, "Index") || !strings.Contains(plan, tt.index) {
				t.Fatalf("plan does not use an index named *%s*:\n%s", tt.index, plan)
			}
			if testing.Verbose() {
				t.Logf("%s\n%s", q, plan)
			}
		})
	}
}

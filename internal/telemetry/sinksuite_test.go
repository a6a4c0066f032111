package telemetry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

// suiteStart is the first record's time in the suite's data set.
var suiteStart = time.Date(2025, 1, 10, 22, 0, 0, 0, time.UTC)

// suiteRecords spans three UTC days, three keys, two models, several
// statuses and end users; pairs of records share a timestamp, so
// pagination must break ties by request_id. Times are whole
// microseconds, which both sinks keep exactly.
func suiteRecords() []Record {
	var out []Record
	for i := range 60 {
		r := sampleRecord(i, suiteStart.Add(time.Duration(i/2)*97*time.Minute+time.Duration(i/2)*time.Microsecond))
		r.KeyID = fmt.Sprintf("key_%d", i%3)
		r.EndUser = fmt.Sprintf("user-%d", i%4)
		r.Team = []string{"platform", "data", ""}[i%5%3]
		if i == 5 {
			r.RequestBody = []byte(`{"model":"gpt-4o-mini","messages":[]}`)
			r.ResponseBody = []byte(`{"id":"x"}`)
			r.ErrorCode = "upstream_unreachable"
			r.RateLimit = "rpm"
			r.Fallback = true
			r.TokensEstimated = true
		}
		if i == 6 {
			r.Tags = nil
			r.Guardrails = nil
		}
		out = append(out, r)
	}
	return out
}

// expectLogs filters and orders records as Logs must.
func expectLogs(all []Record, q LogQuery) []Record {
	var out []Record
	for _, r := range all {
		switch {
		case q.RequestID != "" && r.RequestID != q.RequestID,
			q.KeyID != "" && r.KeyID != q.KeyID,
			q.Model != "" && r.Model != q.Model,
			q.EndUser != "" && r.EndUser != q.EndUser,
			q.Team != "" && r.Team != q.Team,
			q.Status != 0 && r.Status != q.Status,
			!q.Since.IsZero() && r.Time.Before(q.Since),
			!q.Until.IsZero() && !r.Time.Before(q.Until):
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.RequestID, a.RequestID)
	})
	return out
}

func expectUsage(all []Record, q UsageQuery) []UsageRow {
	p, _ := planUsage(q)
	sums := map[[5]string]*UsageRow{}
	var keys [][5]string
	for _, r := range all {
		if (!q.Since.IsZero() && r.Time.Before(q.Since)) || (!q.Until.IsZero() && !r.Time.Before(q.Until)) {
			continue
		}
		var k [5]string
		for i, v := range [...]string{r.KeyID, r.Team, r.Model, r.EndUser, r.Time.UTC().Format("2006-01-02")} {
			if p.group[i] {
				k[i] = v
			}
		}
		row, ok := sums[k]
		if !ok {
			row = &UsageRow{KeyID: k[0], Team: k[1], Model: k[2], EndUser: k[3], Day: k[4]}
			sums[k] = row
			keys = append(keys, k)
		}
		row.Requests++
		if r.Status >= 400 {
			row.Errors++
		}
		row.PromptTokens += r.PromptTokens
		row.CompletionTokens += r.CompletionTokens
		row.CachedTokens += r.CachedTokens
		row.CacheWriteTokens += r.CacheWriteTokens
		row.ReasoningTokens += r.ReasoningTokens
		row.CostUSD += r.CostUSD
	}
	slices.SortFunc(keys, func(a, b [5]string) int {
		for i := range a {
			if c := cmp.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	out := []UsageRow{}
	for _, k := range keys {
		out = append(out, *sums[k])
	}
	if len(out) == 0 && len(q.GroupBy) == 0 {
		out = append(out, UsageRow{})
	}
	return out
}

// sameUsage compares usage answers: integers exactly, costs to 1e-9
// relative (float sums depend on the order of their terms).
func sameUsage(t *testing.T, got, want []UsageRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d\ngot  %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		w, g := want[i], got[i]
		if diff := math.Abs(g.CostUSD - w.CostUSD); diff > 1e-9*math.Max(1, math.Abs(w.CostUSD)) {
			t.Errorf("row %d cost %v, want %v", i, g.CostUSD, w.CostUSD)
		}
		g.CostUSD = w.CostUSD
		if g != w {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
	}
}

// sameRecord compares what a sink returns with what was written.
func sameRecord(t *testing.T, got, want Record) {
	t.Helper()
	if !got.Time.Equal(want.Time) {
		t.Errorf("%s: time %v, want %v", want.RequestID, got.Time, want.Time)
	}
	got.Time = want.Time
	if len(want.Tags) == 0 && len(got.Tags) == 0 {
		got.Tags = want.Tags
	}
	if len(want.Guardrails) == 0 && len(got.Guardrails) == 0 {
		got.Guardrails = want.Guardrails
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record %s:\n got %+v\nwant %+v", want.RequestID, got, want)
	}
}

func requestIDs(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RequestID
	}
	return out
}

// testSinkSuite runs the behaviour every Sink shares: idempotent writes,
// each Logs filter, keyset pagination, usage grouping, invalid queries.
func testSinkSuite(t *testing.T, sink Sink) {
	ctx := context.Background()
	all := suiteRecords()
	if err := sink.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := sink.Write(ctx, all[:40]); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := sink.Write(ctx, all[20:]); err != nil { // overlaps: a replay
		t.Fatalf("Write (overlapping): %v", err)
	}
	if err := sink.Write(ctx, nil); err != nil {
		t.Fatalf("Write (empty): %v", err)
	}

	t.Run("idempotent", func(t *testing.T) {
		pg, err := sink.Logs(ctx, LogQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Data) != len(all) || pg.NextCursor != "" {
			t.Fatalf("%d rows (next %q), want %d", len(pg.Data), pg.NextCursor, len(all))
		}
	})

	t.Run("fidelity", func(t *testing.T) {
		for _, i := range []int{0, 5, 6, 59} {
			pg, err := sink.Logs(ctx, LogQuery{RequestID: all[i].RequestID})
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Data) != 1 {
				t.Fatalf("%s: %d rows", all[i].RequestID, len(pg.Data))
			}
			sameRecord(t, pg.Data[0], all[i])
		}
	})

	day2 := time.Date(2025, 1, 11, 0, 0, 0, 0, time.UTC)
	filters := []struct {
		name string
		q    LogQuery
	}{
		{"all", LogQuery{}},
		{"request_id", LogQuery{RequestID: all[17].RequestID}},
		{"unknown request_id", LogQuery{RequestID: "nope"}},
		{"key", LogQuery{KeyID: "key_1"}},
		{"model", LogQuery{Model: "claude-3-5-haiku"}},
		{"end_user", LogQuery{EndUser: "user-2"}},
		{"team", LogQuery{Team: "data"}},
		{"team and end user", LogQuery{Team: "platform", EndUser: "user-1"}},
		{"status", LogQuery{Status: 429}},
		{"since", LogQuery{Since: day2}},
		{"until", LogQuery{Until: day2}},
		{"range", LogQuery{Since: day2, Until: day2.Add(24 * time.Hour)}},
		{"since is inclusive", LogQuery{Since: all[10].Time, Until: all[10].Time.Add(time.Microsecond)}},
		{"key and range", LogQuery{KeyID: "key_2", Since: day2, Until: day2.Add(24 * time.Hour)}},
		{"everything", LogQuery{KeyID: "key_0", Model: "gpt-4o-mini", EndUser: "user-0", Status: 200, Since: suiteStart}},
	}
	for _, f := range filters {
		t.Run("logs/"+f.name, func(t *testing.T) {
			want := expectLogs(all, f.q)
			// Page through with a small limit: the pages must add up to
			// the whole answer, in order, without repeats.
			q := f.q
			q.Limit = 4
			var got []Record
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatal("pagination does not end")
				}
				pg, err := sink.Logs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(pg.Data) > 4 {
					t.Fatalf("page of %d rows, limit 4", len(pg.Data))
				}
				got = append(got, pg.Data...)
				if pg.NextCursor == "" {
					break
				}
				q.Cursor = pg.NextCursor
			}
			if !slices.Equal(requestIDs(got), requestIDs(want)) {
				t.Fatalf("got %v\nwant %v", requestIDs(got), requestIDs(want))
			}
		})
	}

	t.Run("logs/default limit", func(t *testing.T) {
		pg, err := sink.Logs(ctx, LogQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Data) != len(all) || pg.Data == nil {
			t.Fatalf("%d rows", len(pg.Data))
		}
		pg, err = sink.Logs(ctx, LogQuery{RequestID: "nope"})
		if err != nil || pg.Data == nil || len(pg.Data) != 0 || pg.NextCursor != "" {
			t.Fatalf("empty page = %+v, %v (want data [] not null)", pg, err)
		}
	})

	groupings := [][]string{nil, {"key"}, {"model"}, {"day"}, {"team"}, {"end_user"}, {"key", "model"}, {"day", "key"},
		{"model", "day", "key"}, {"key", "key"}, {"team", "end_user"}, {"end_user", "day", "model", "team", "key"}}
	for _, g := range groupings {
		for _, rng := range []struct {
			name         string
			since, until time.Time
		}{
			{"all time", time.Time{}, time.Time{}},
			{"day 2", day2, day2.Add(24 * time.Hour)},
			{"partial days", day2.Add(-90 * time.Minute), day2.Add(26 * time.Hour)},
			{"since only", day2.Add(time.Hour), time.Time{}},
			{"until only", time.Time{}, day2.Add(30 * time.Hour)},
			{"within a day", day2.Add(time.Hour), day2.Add(5 * time.Hour)},
			{"empty", day2.Add(-1000 * time.Hour), day2.Add(-999 * time.Hour)},
		} {
			t.Run(fmt.Sprintf("usage/%v/%s", g, rng.name), func(t *testing.T) {
				q := UsageQuery{Since: rng.since, Until: rng.until, GroupBy: g}
				got, err := sink.Usage(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				sameUsage(t, got, expectUsage(all, q))
			})
		}
	}

	invalid := []struct {
		name  string
		run   func() error
		param string
	}{
		{"bad cursor", func() error { _, err := sink.Logs(ctx, LogQuery{Cursor: "%%%"}); return err }, "cursor"},
		{"cursor of garbage", func() error { _, err := sink.Logs(ctx, LogQuery{Cursor: "AA"}); return err }, "cursor"},
		{"negative limit", func() error { _, err := sink.Logs(ctx, LogQuery{Limit: -1}); return err }, "limit"},
		{"until before since", func() error {
			_, err := sink.Logs(ctx, LogQuery{Since: day2, Until: day2.Add(-time.Second)})
			return err
		}, "until"},
		{"usage until before since", func() error {
			_, err := sink.Usage(ctx, UsageQuery{Since: day2, Until: day2.Add(-time.Second)})
			return err
		}, "until"},
		{"unknown group", func() error {
			_, err := sink.Usage(ctx, UsageQuery{GroupBy: []string{"key", "key_id; DROP TABLE request_logs"}})
			return err
		}, "group_by"},
	}
	for _, tt := range invalid {
		t.Run("invalid/"+tt.name, func(t *testing.T) {
			err := tt.run()
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Param != tt.param || !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("err = %v, want a *QueryError for %s", err, tt.param)
			}
		})
	}
}

package telemetry

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestCursorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		id   string
	}{
		{"now", time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC), "req-1"},
		{"epoch", time.Unix(0, 0).UTC(), "x"},
		{"before epoch", time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), "id:with:colons"},
		{"odd id", time.Unix(1700000000, 1).UTC(), "a/b+c=d\x00é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decodeCursor(encodeCursor(tt.t, tt.id))
			if err != nil {
				t.Fatal(err)
			}
			if !c.time.Equal(tt.t) || c.id != tt.id {
				t.Fatalf("got (%v, %q), want (%v, %q)", c.time, c.id, tt.t, tt.id)
			}
		})
	}
}

func TestQueryValidation(t *testing.T) {
	now := time.Now()
	logs := []struct {
		name  string
		q     LogQuery
		param string // "" = valid
		limit int
	}{
		{"defaults", LogQuery{}, "", DefaultPageSize},
		{"limit kept", LogQuery{Limit: 5}, "", 5},
		{"limit capped", LogQuery{Limit: 5000}, "", MaxPageSize},
		{"negative limit", LogQuery{Limit: -1}, "limit", 0},
		{"negative status", LogQuery{Status: -2}, "status", 0},
		{"until before since", LogQuery{Since: now, Until: now.Add(-1)}, "until", 0},
		{"until equals since", LogQuery{Since: now, Until: now}, "", DefaultPageSize},
		{"bad cursor", LogQuery{Cursor: "!!"}, "cursor", 0},
		{"empty id in cursor", LogQuery{Cursor: encodeCursor(now, "")}, "cursor", 0},
	}
	for _, tt := range logs {
		t.Run("logs/"+tt.name, func(t *testing.T) {
			p, err := planLogs(tt.q)
			checkQueryErr(t, err, tt.param)
			if err == nil && p.limit != tt.limit {
				t.Fatalf("limit = %d, want %d", p.limit, tt.limit)
			}
		})
	}
	usage := []struct {
		name  string
		q     UsageQuery
		param string
	}{
		{"no groups", UsageQuery{}, ""},
		{"all groups", UsageQuery{GroupBy: []string{"day", "model", "key"}}, ""},
		{"every group", UsageQuery{GroupBy: []string{"end_user", "team", "day", "model", "key"}}, ""},
		{"unknown group", UsageQuery{GroupBy: []string{"user"}}, "group_by"},
		{"case matters", UsageQuery{GroupBy: []string{"Key"}}, "group_by"},
		{"until before since", UsageQuery{Since: now, Until: now.Add(-time.Hour)}, "until"},
	}
	for _, tt := range usage {
		t.Run("usage/"+tt.name, func(t *testing.T) {
			_, err := planUsage(tt.q)
			checkQueryErr(t, err, tt.param)
		})
	}
}

func checkQueryErr(t *testing.T, err error, param string) {
	t.Helper()
	if param == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Param != param || !errors.Is(err, ErrInvalidQuery) {
		t.Fatalf("err = %v, want a *QueryError on %s", err, param)
	}
}

// TestSQLOnlyFromWhitelist checks that no query value reaches the SQL text.
func TestSQLOnlyFromWhitelist(t *testing.T) {
	evil := "x' OR 1=1; DROP TABLE request_logs; --"
	p, err := planLogs(LogQuery{RequestID: evil, KeyID: evil, Model: evil, EndUser: evil, Team: evil, Status: 200,
		Since: time.Unix(1, 0), Until: time.Unix(2, 0), Cursor: encodeCursor(time.Unix(1, 5), evil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []dialect{pgDialect, sqliteDialect} {
		sql, args := logsSQL(d, p)
		if strings.Contains(sql, "DROP") || strings.Contains(sql, "1=1") {
			t.Fatalf("value in SQL: %s", sql)
		}
		if len(args) != 11 {
			t.Fatalf("%d args, want 11", len(args))
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(time.Unix(1700000000, 123).UTC(), "req-1"))
	f.Add("")
	f.Add("AAAA")
	f.Add("____________")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		// A cursor that decodes re-encodes to one that decodes the same.
		again, err := decodeCursor(encodeCursor(c.time, c.id))
		if err != nil || !again.time.Equal(c.time) || again.id != c.id {
			t.Fatalf("re-decode of %q: %+v, %v", s, again, err)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x01\x1f\n", "nul\x00", "bad\xff\xfe", "é日本\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: not a JSON string: %s (%v)", s, out, err)
		}
		if strings.IndexByte(got, 0) >= 0 || !utf8.ValidString(got) {
			t.Fatalf("%q: jsonb would refuse %q", s, got)
		}
		if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && got != s {
			t.Fatalf("%q: changed to %q", s, got)
		}
	})
}

package main

import (
	"strings"
	"testing"
	"time"
)

func TestUsageGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
		code   int
		query  string // what the server got
	}{
		{"total", nil, "usage-total.golden", 0, "/admin/v1/usage?"},
		{"by team and end user", []string{"--group-by", "end_user, team", "--since", "7d"}, "usage-team-end-user.golden", 0,
			"/admin/v1/usage?group_by=team%2Cend_user&since=2026-11-30T12%3A00%3A00Z"},
		{"by key, model, day", []string{"--group-by", "day,key,model", "--since", "2026-12-06", "--until", "2026-12-08T00:00:00Z"},
			"usage-key-model-day.golden", 0,
			"/admin/v1/usage?group_by=key%2Cmodel%2Cday&since=2026-12-06T00%3A00%3A00Z&until=2026-12-08T00%3A00%3A00Z"},
		{"csv", []string{"--group-by", "key,model,day", "--csv"}, "usage-csv.golden", 0, "/admin/v1/usage?group_by=key%2Cmodel%2Cday"},
		{"json", []string{"--group-by", "team,end_user", "--json"}, "usage-json.golden", 0, "/admin/v1/usage?group_by=team%2Cend_user"},
		{"unknown group", []string{"--group-by", "key,user"}, "usage-unknown-group.golden", 2, ""},
		{"csv and json", []string{"--csv", "--json"}, "usage-csv-json.golden", 2, ""},
		{"until before since", []string{"--since", "1h", "--until", "2h"}, "usage-until-before-since.golden", 2, ""},
		{"server refuses", []string{"--group-by", "model"}, "usage-refused.golden", 1, "/admin/v1/usage?group_by=model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAdmin(t)
			r := a.run("usage", nil, tt.args...)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			goldenOutput(t, tt.golden, "$ sluice usage "+strings.Join(tt.args, " ")+"\n"+r.stdout+"--- stderr\n"+r.stderr)
			sent := a.sent()
			if tt.query == "" {
				if len(sent) != 0 {
					t.Errorf("a refused command line sent %q", sent)
				}
				return
			}
			if len(sent) != 1 || sent[0] != tt.query {
				t.Errorf("sent %q, want [%q]", sent, tt.query)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := mustTime(t, "2026-12-07T12:00:00Z")
	tests := []struct {
		in, want string // want "" = the zero time; "error" = refused
	}{
		{"", ""},
		{"2026-12-01T08:30:00Z", "2026-12-01T08:30:00Z"},
		{"2026-12-01T08:30:00.5+02:00", "2026-12-01T06:30:00.5Z"},
		{"2026-12-01", "2026-12-01T00:00:00Z"},
		{"90m", "2026-12-07T10:30:00Z"},
		{"1h30m", "2026-12-07T10:30:00Z"},
		{"7d", "2026-11-30T12:00:00Z"},
		{"0d", "2026-12-07T12:00:00Z"},
		{"-1h", "error"},
		{"-2d", "error"},
		{"1.5d", "error"},
		{"yesterday", "error"},
		{"2026-13-01", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWhen(tt.in, now)
			switch {
			case tt.want == "error":
				if err == nil {
					t.Fatalf("accepted: %v", got)
				}
			case err != nil:
				t.Fatal(err)
			case tt.want == "" && !got.IsZero():
				t.Fatalf("got %v, want the zero time", got)
			case tt.want != "" && !got.Equal(mustTime(t, tt.want)):
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"", "7d", "90m", "2026-12-01", "2026-12-01T08:30:00Z", "99999999d", "-0d"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s, now)
		if err != nil {
			return
		}
		// A relative time is never after now; what parses formats back
		// to something that parses the same.
		if strings.TrimSpace(s) != "" && !strings.Contains(s, "-") && !strings.Contains(s, ":") && got.After(now) {
			t.Fatalf("%q is after now: %v", s, got)
		}
		if !got.IsZero() {
			again, err := parseWhen(got.Format(time.RFC3339Nano), now)
			if err != nil || !again.Equal(got) {
				t.Fatalf("%q: %v re-parses as %v, %v", s, got, again, err)
			}
		}
	})
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice", "": "", "=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2",
		"@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "a=b": "a=b", "2026-12-01": "2026-12-01",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

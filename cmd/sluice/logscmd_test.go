package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/telemetry"
)

const adminTestToken = "test-admin-token-0123456789"

// fakeAdmin serves GET /admin/v1/logs over records it holds (filters,
// newest first, limit and cursor as the gateway does) and GET
// /admin/v1/usage from the answers recorded in testdata
// (admin-usage-GROUPS.json), and keeps the queries it was sent.
type fakeAdmin struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	records []telemetry.Record
	queries []string // path?query of each request
}

func newFakeAdmin(t *testing.T) *fakeAdmin {
	t.Helper()
	a := &fakeAdmin{t: t}
	b, err := os.ReadFile("testdata/admin-logs.json")
	if err != nil {
		t.Fatal(err)
	}
	var page telemetry.LogPage
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	a.records = page.Data
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAdmin) add(rs ...telemetry.Record) {
	a.mu.Lock()
	a.records = append(a.records, rs...)
	a.mu.Unlock()
}

// sent returns the queries received so far and forgets them.
func (a *fakeAdmin) sent() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.queries
	a.queries = nil
	return q
}

func (a *fakeAdmin) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.queries = append(a.queries, r.URL.Path+"?"+r.URL.RawQuery)
	records := slices.Clone(a.records)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+adminTestToken {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":{"message":"missing or wrong admin token","type":"authentication_error"}}`))
		return
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/admin/v1/usage":
		name := strings.ReplaceAll(q.Get("group_by"), ",", "-")
		if name == "" {
			name = "total"
		}
		b, err := os.ReadFile("testdata/admin-usage-" + name + ".json")
		if err != nil {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"message":"no recorded answer for group_by ` + q.Get("group_by") + `","param":"group_by"}}`))
			return
		}
		_, _ = w.Write(b)
	case "/admin/v1/logs":
		a.logs(w, q, records)
	default:
		w.WriteHeader(404)
	}
}

func (a *fakeAdmin) logs(w http.ResponseWriter, q url.Values, records []telemetry.Record) {
	slices.SortFunc(records, func(x, y telemetry.Record) int {
		return cmp.Or(y.Time.Compare(x.Time), cmp.Compare(y.RequestID, x.RequestID))
	})
	since, _ := time.Parse(time.RFC3339Nano, q.Get("since"))
	until, _ := time.Parse(time.RFC3339Nano, q.Get("until"))
	status, _ := strconv.Atoi(q.Get("status"))
	var out []telemetry.Record
	for _, r := range records {
		switch {
		case q.Get("request_id") != "" && r.RequestID != q.Get("request_id"),
			q.Get("key_id") != "" && r.KeyID != q.Get("key_id"),
			q.Get("model") != "" && r.Model != q.Get("model"),
			q.Get("end_user") != "" && r.EndUser != q.Get("end_user"),
			q.Get("team") != "" && r.Team != q.Get("team"),
			status != 0 && r.Status != status,
			!since.IsZero() && r.Time.Before(since),
			!until.IsZero() && !r.Time.Before(until):
			continue
		}
		out = append(out, r)
	}
	// The cursor is the number of rows already returned.
	from, _ := strconv.Atoi(strings.TrimPrefix(q.Get("cursor"), "c"))
	out = out[min(from, len(out)):]
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit == 0 {
		limit = 100
	}
	page := telemetry.LogPage{Data: out}
	if len(out) > limit {
		page.Data = out[:limit]
		page.NextCursor = "c" + strconv.Itoa(from+limit)
	}
	if page.Data == nil {
		page.Data = []telemetry.Record{}
	}
	_ = json.NewEncoder(w).Encode(page)
}

// cliRun is the outcome of one command line.
type cliRun struct {
	code           int
	stdout, stderr string
}

// run runs a logs or usage command line against a.
func (a *fakeAdmin) run(cmd string, wait func(context.Context) bool, args ...string) cliRun {
	return runAdmin(a.t, a.srv.URL, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), cmd, wait, args...)
}

// runAdmin runs a logs or usage command line against the admin API at
// base, at the time now; wait is --follow's pause (nil: none expected).
func runAdmin(t *testing.T, base string, now time.Time, cmd string, wait func(context.Context) bool, args ...string) cliRun {
	var stdout, stderr bytes.Buffer
	c := &keysCLI{stdout: &stdout, stderr: &stderr, now: func() time.Time { return now },
		getenv: func(k string) string {
			return map[string]string{envAdminToken: adminTestToken, envAdminURL: base}[k]
		}, prog: "sluice " + cmd, timeout: 10 * time.Second}
	if cmd == "usage" {
		c.timeout = 30 * time.Second // cmdUsage's
	}
	var code int
	if cmd == "logs" {
		l := &logsCLI{c: c, wait: wait}
		if wait == nil {
			l.wait = func(context.Context) bool { t.Error("logs waited without --follow"); return false }
		}
		code = l.run(context.Background(), args)
	} else {
		code = runUsage(c, args)
	}
	return cliRun{code, stdout.String(), stderr.String()}
}

// goldenOutput compares got with testdata/name, or rewrites it with
// -update.
func goldenOutput(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestLogsGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
		code   int
		query  string // what the server got
	}{
		{"table", nil, "logs-table.golden", 0, "/admin/v1/logs?"},
		{"filters", []string{"--team", "payments", "--end-user", "alice", "--since", "2026-12-07", "--until", "2h", "--status", "429", "--model", "gpt-4o-mini", "--key-id", "key_billing"},
			"logs-filters.golden", 0,
			"/admin/v1/logs?end_user=alice&key_id=key_billing&model=gpt-4o-mini&since=2026-12-07T00%3A00%3A00Z&status=429&team=payments&until=2026-12-07T10%3A00%3A00Z"},
		{"page", []string{"--limit", "2"}, "logs-page.golden", 0, "/admin/v1/logs?limit=2"},
		{"next page", []string{"--limit", "2", "--cursor", "c2"}, "logs-next-page.golden", 0, "/admin/v1/logs?cursor=c2&limit=2"},
		{"json", []string{"--json", "--request-id", "req_c0c4f1d2e"}, "logs-json.golden", 0, "/admin/v1/logs?request_id=req_c0c4f1d2e"},
		{"bad status", []string{"--status", "42"}, "logs-bad-status.golden", 2, ""},
		{"bad since", []string{"--since", "yesterday"}, "logs-bad-since.golden", 2, ""},
		{"follow and cursor", []string{"--follow", "--cursor", "c2"}, "logs-follow-cursor.golden", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAdmin(t)
			r := a.run("logs", nil, tt.args...)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			goldenOutput(t, tt.golden, "$ sluice logs "+strings.Join(tt.args, " ")+"\n"+r.stdout+"--- stderr\n"+r.stderr)
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

// TestLogsFollow runs --follow for four polls, adding rows between them:
// a new one, one logged late (it started before the newest row seen), a
// row of another key (filtered out), and none at all; each row is printed
// once, and the command ends when the wait is interrupted.
func TestLogsFollow(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run("json="+strconv.FormatBool(asJSON), func(t *testing.T) {
			a := newFakeAdmin(t)
			newest := time.Date(2026, 12, 7, 9, 0, 20, 4000000, time.UTC)
			row := func(id string, at time.Time, key string) telemetry.Record {
				return telemetry.Record{RequestID: id, Time: at, KeyID: key, Team: "platform", Model: "gpt-4o", Status: 200,
					Latency: 900 * time.Millisecond, PromptTokens: 10, CompletionTokens: 5, CostUSD: 0.0001}
			}
			polls := 0
			wait := func(context.Context) bool {
				polls++
				switch polls {
				case 1:
					a.add(row("req_new1", newest.Add(2*time.Second), "key_search"))
				case 2:
					a.add(row("req_late", newest.Add(-40*time.Second), "key_search"), row("req_other", newest.Add(3*time.Second), "key_billing"))
				case 3:
				case 4:
					return false // interrupted
				}
				return true
			}
			args := []string{"--follow", "--key-id", "key_search", "--limit", "1"}
			if asJSON {
				args = append(args, "--json")
			}
			r := a.run("logs", wait, args...)
			if r.code != 0 {
				t.Fatalf("status %d; stderr %q", r.code, r.stderr)
			}
			name := "logs-follow.golden"
			if asJSON {
				name = "logs-follow-json.golden"
			}
			goldenOutput(t, name, "$ sluice logs "+strings.Join(args, " ")+"\n"+r.stdout+"--- stderr\n"+r.stderr)
			for _, id := range []string{"req_e0c4f1d2e", "req_new1", "req_late"} {
				if n := strings.Count(r.stdout, id); n != 1 {
					t.Errorf("%s printed %d times", id, n)
				}
			}
			if strings.Contains(r.stdout, "req_c0c4f1d2e") || strings.Contains(r.stdout, "req_other") {
				t.Errorf("printed a row before the newest one, or of another key:\n%s", r.stdout)
			}
			// The first poll asks for the newest row; each later one for
			// the minute before the newest row seen.
			sent := a.sent()
			if len(sent) != 5 || !strings.Contains(sent[0], "limit=1") ||
				!strings.Contains(sent[len(sent)-1], "since=2026-12-07T08%3A59%3A22.004Z") {
				t.Errorf("queries %q", sent)
			}
		})
	}
}

// TestLogsAndUsageAgainstGateway runs both commands against a real
// "sluice serve" (SQLite request logs) in front of the mock.
func TestLogsAndUsageAgainstGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
data_dir: %q
admin: {token: %s}
auth:
  enabled: true
  keys:
    - {key: sk-e2e-payments, id: payments-app, team: payments}
    - {key: sk-e2e-search, id: search-app}
telemetry: {enabled: true, flush_interval: 10ms}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, t.TempDir(), adminTestToken, startMock(t))
	var logs syncBuffer
	_, addr, _ := startProcess(t, cfg, &logs)
	for _, r := range []struct{ key, user string }{{"sk-e2e-payments", "alice"}, {"sk-e2e-payments", "bob"}, {"sk-e2e-search", "alice"}} {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","user":"`+r.user+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+r.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", r.key, resp.StatusCode)
		}
	}
	run := func(cmd string, args ...string) cliRun {
		return runAdmin(t, "http://"+addr, time.Now(), cmd, nil, args...)
	}
	deadline := time.Now().Add(10 * time.Second)
	var r cliRun
	for {
		r = run("logs", "--json")
		var page telemetry.LogPage
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &page) != nil {
			t.Fatalf("logs --json: %+v", r)
		}
		if len(page.Data) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows logged, want 3", len(page.Data))
		}
		time.Sleep(20 * time.Millisecond)
	}
	r = run("logs", "--team", "payments", "--end-user", "bob")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 ||
		!strings.Contains(lines[1], "payments-app") || !strings.Contains(lines[1], "bob") {
		t.Errorf("logs --team payments --end-user bob: %+v", r)
	}
	r = run("usage", "--group-by", "team,end_user", "--since", "1h", "--csv")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Split(line, ",")
		got = append(got, strings.Join(f[:3], ","))
	}
	want := []string{"team,end_user,requests", ",alice,1", "payments,alice,1", "payments,bob,1"}
	if r.code != 0 || !slices.Equal(got, want) {
		t.Errorf("usage --csv: got %q, want %q (%+v)", got, want, r)
	}
	if strings.Contains(logs.String(), adminTestToken) {
		t.Error("the gateway logged the admin token")
	}
}

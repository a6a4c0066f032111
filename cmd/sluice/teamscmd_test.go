package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
)

const teamsHeader = "ID NAME MODELS RPM TPM CONCURRENT BUDGET SPEND PER-USER CREATED"

// Canned team objects, as the admin API answers them.
const (
	teamOps = `{"id":"ops","name":"Operations","models":["gpt-4o-mini"],"rpm":50,"tpm":0,"max_concurrent":0,
"budget_usd":0,"budget_period":"","spend_usd":0,"tags":{},"end_user_limits":{"rpm":5,"tpm":0,"budget_usd":0,"budget_period":""},
"created_at":"2026-04-01T09:00:00Z","updated_at":"2026-04-01T09:00:00Z","static":true}`
	teamPayments = `{"id":"payments","name":"Payments","models":["gpt-4o","claude-*","o3","o4-mini"],"rpm":600,"tpm":1000000,
"max_concurrent":20,"budget_usd":250,"budget_period":"month","spend_usd":12.3456,"tags":{"cost_center":"42","env":"prod"},
"end_user_limits":{"rpm":10,"tpm":20000,"budget_usd":1,"budget_period":"day"},
"created_at":"2026-04-02T10:11:12Z","updated_at":"2026-04-20T08:00:00Z"}`
	teamGen = `{"id":"team_0aB3xYz9QrStUvWx12345","name":"","models":[],"rpm":0,"tpm":0,"max_concurrent":0,"budget_usd":0,
"budget_period":"","spend_usd":0,"tags":{},"end_user_limits":{"rpm":0,"tpm":0,"budget_usd":0,"budget_period":""},
"created_at":"2026-04-03T00:00:00Z","updated_at":"2026-04-03T00:00:00Z"}`
)

// cannedTeams is an admin API that answers every team route with canned
// objects and records the requests.
type cannedTeams struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []keysAdminReq
}

func newCannedTeams(t *testing.T) *cannedTeams {
	t.Helper()
	c := &cannedTeams{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, keysAdminReq{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body})
		c.mu.Unlock()
		raw := func(status int, s string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, s)
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /admin/v1/teams":
			if r.URL.Query().Get("cursor") == "" {
				raw(200, `{"data":[`+teamOps+`,`+teamPayments+`],"next_cursor":"dTo0Mg"}`)
			} else {
				raw(200, `{"data":[`+teamGen+`],"next_cursor":""}`)
			}
		case "GET /admin/v1/teams/payments", "PATCH /admin/v1/teams/payments":
			raw(200, teamPayments)
		case "POST /admin/v1/teams":
			raw(201, teamPayments)
		case "DELETE /admin/v1/teams/payments":
			w.WriteHeader(204)
		case "DELETE /admin/v1/teams/busy":
			keysWriteError(w, 409, "conflict", "", "team busy still has 2 keys that are not revoked: move them to another team (PATCH their team_id) or revoke them first")
		default:
			keysWriteError(w, 404, "not_found_error", "", "no team with this id")
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cannedTeams) requests() []keysAdminReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reqs
	c.reqs = nil
	return r
}

// runTeamsEnv runs "sluice teams args..." with env as its environment and
// a fixed clock. It fails the test if the admin token shows in any output.
func runTeamsEnv(t *testing.T, env map[string]string, args ...string) keysRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &teamsCLI{keysCLI{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }, now: func() time.Time { return keysTestNow }}}
	code := c.run(args)
	r := keysRun{code, stdout.String(), stderr.String()}
	for _, tok := range []string{keysTestToken, env[envAdminToken]} {
		if tok != "" && strings.Contains(r.stdout+r.stderr, tok) {
			t.Errorf("sluice teams %q printed the admin token:\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
		}
	}
	return r
}

// TestTeamsGolden checks what each command prints, against canned answers,
// and the request it sends.
func TestTeamsGolden(t *testing.T) {
	c := newCannedTeams(t)
	env := map[string]string{envAdminURL: c.srv.URL, envAdminToken: keysTestToken}
	tests := []struct {
		name   string
		args   []string
		code   int
		req    string // "METHOD PATH?QUERY", "" for no request
		body   string // the request's JSON body, "" for none
		golden string
	}{
		{"list", []string{"list"}, 0, "GET /admin/v1/teams?", "", "teams-list.golden"},
		{"list all", []string{"list", "--all", "--limit", "2"}, 0, "GET /admin/v1/teams?limit=2", "", "teams-list-all.golden"},
		{"list json", []string{"list", "--json"}, 0, "GET /admin/v1/teams?", "", "teams-list-json.golden"},
		{"get", []string{"get", "payments"}, 0, "GET /admin/v1/teams/payments?", "", "teams-get.golden"},
		{"get missing", []string{"get", "ops"}, 1, "GET /admin/v1/teams/ops?", "", "teams-get-missing.golden"},
		{"create", []string{"create", "--id", "payments", "--name", "Payments", "--models", "gpt-4o, claude-*", "--rpm", "600",
			"--tpm", "1000000", "--max-concurrent", "20", "--budget-usd", "250", "--budget-period", "month", "--tag", "env=prod",
			"--end-user-rpm", "10", "--end-user-budget-usd", "1", "--end-user-budget-period", "day"}, 0, "POST /admin/v1/teams?",
			`{"id":"payments","name":"Payments","models":["gpt-4o","claude-*"],"rpm":600,"tpm":1000000,"max_concurrent":20,
			"budget_usd":250,"budget_period":"month","tags":{"env":"prod"},"end_user_limits":{"rpm":10,"budget_usd":1,"budget_period":"day"}}`,
			"teams-create.golden"},
		{"update", []string{"update", "payments", "--rpm", "0", "--remove-tag", "env", "--end-user-tpm", "500"}, 0,
			"PATCH /admin/v1/teams/payments?", `{"rpm":0,"tags":{"env":null},"end_user_limits":{"tpm":500}}`, "teams-update.golden"},
		{"delete", []string{"delete", "payments"}, 0, "DELETE /admin/v1/teams/payments?", "", "teams-delete.golden"},
		{"delete in use", []string{"delete", "busy"}, 1, "DELETE /admin/v1/teams/busy?", "", "teams-delete-in-use.golden"},
		{"help", []string{"--help"}, 0, "", "", "teams-help.golden"},
		{"create help", []string{"create", "--help"}, 0, "", "", "teams-create-help.golden"},
		{"update help", []string{"update", "--help"}, 0, "", "", "teams-update-help.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTeamsEnv(t, env, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			reqs := c.requests()
			if tt.req == "" && len(reqs) != 0 || tt.req != "" && (len(reqs) == 0 || reqs[0].Method+" "+reqs[0].Path+"?"+reqs[0].Query != tt.req) {
				t.Errorf("requests %+v, want %s first", reqs, tt.req)
			}
			if tt.body != "" {
				keysJSONEqual(t, reqs[0].Body, tt.body)
			}
			for _, req := range reqs {
				if req.Auth != "Bearer "+keysTestToken {
					t.Errorf("Authorization %q", req.Auth)
				}
			}
			got := "-- stdout --\n" + strings.ReplaceAll(r.stdout, c.srv.URL, "URL") + "-- stderr --\n" + strings.ReplaceAll(r.stderr, c.srv.URL, "URL")
			golden := "testdata/" + tt.golden
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestTeamsCommandLine(t *testing.T) {
	c := newCannedTeams(t)
	env := map[string]string{envAdminURL: c.srv.URL, envAdminToken: keysTestToken}
	for _, tc := range []struct {
		args []string
		code int
		out  string // substring of stdout (status 0) or stderr
	}{
		{nil, 2, "Usage: sluice teams COMMAND"},
		{[]string{"help"}, 0, "Usage: sluice teams COMMAND"},
		{[]string{"help", "delete"}, 0, "Usage: sluice teams delete ID"},
		{[]string{"frobnicate"}, 2, `sluice teams: unknown command "frobnicate"`},
		{[]string{"--bogus", "list"}, 2, "flag provided but not defined: --bogus"},
		{[]string{"list", "--help"}, 0, "--all"},
		{[]string{"get", "--help"}, 0, "Usage: sluice teams get ID"},
		{[]string{"create", "--rpm", "many"}, 2, `invalid value "many" for flag --rpm`},
		{[]string{"create", "--tag", "novalue"}, 2, "want NAME=VALUE"},
		{[]string{"create", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"get"}, 2, "missing the team ID"},
		{[]string{"get", "a/../b"}, 2, `"a/../b" is not a team ID`},
		{[]string{"delete", "a", "b"}, 2, `unexpected argument "b"`},
		{[]string{"update", "t1"}, 2, "nothing to change"},
		{[]string{"update", "t1", "--id", "x"}, 2, "flag provided but not defined: --id"},
		{[]string{"update", "t1", "--tag", "a=1", "--remove-tag", "a"}, 2, `tag "a" is both set and removed`},
		{[]string{"list", "--limit", "-1"}, 2, "--limit must not be negative"},
		{[]string{"list", "--url", "ftp://host"}, 2, "sluice teams: --url"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runTeamsEnv(t, env, tc.args...)
			out := r.stderr
			if tc.code == 0 {
				out = r.stdout
			}
			if r.code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.out)
			}
			if reqs := c.requests(); len(reqs) != 0 {
				t.Errorf("sent %d requests", len(reqs))
			}
		})
	}
	r := runTeamsEnv(t, map[string]string{envAdminURL: c.srv.URL}, "list")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "sluice teams: no admin token") {
		t.Errorf("no token: %d %q", r.code, r.stderr)
	}
}

// TestTeamsAgainstGateway drives the team commands, and the key flags
// that name a team, against a real "sluice serve" (SQLite) with a static
// team.
func TestTeamsAgainstGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: %q
admin: {token: %s}
auth:
  enabled: true
  teams:
    - {id: ops, name: Operations, rpm: 50}
providers:
  - {name: openai, kind: openai, base_url: "http://127.0.0.1:1/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, t.TempDir(), keysTestToken)
	var logs syncBuffer
	_, addr, _ := startProcess(t, cfg, &logs)
	env := map[string]string{envAdminURL: "http://" + addr, envAdminToken: keysTestToken}
	teams := func(code int, args ...string) keysRun {
		t.Helper()
		r := runTeamsEnv(t, env, args...)
		r.expect(t, code)
		return r
	}
	keys := func(code int, args ...string) keysRun {
		t.Helper()
		r := runKeysEnv(t, env, args...)
		r.expect(t, code)
		return r
	}

	r := teams(0, "create", "--id", "eng", "--name", "Engineering", "--rpm", "60", "--budget-usd", "20", "--end-user-rpm", "3")
	if rows := keysTableRows(t, r.stdout, teamsHeader); len(rows) != 1 || rows[0][0] != "eng" || rows[0][3] != "60" || rows[0][6] != "$20.00/total" {
		t.Errorf("create rows %q", rows)
	}
	r = teams(0, "create", "--json")
	var gen auth.Team
	if err := json.Unmarshal([]byte(r.stdout), &gen); err != nil || !strings.HasPrefix(gen.ID, "team_") {
		t.Errorf("create without an id: %v %q", err, r.stdout)
	}
	r = teams(1, "create", "--id", "eng")
	if !strings.Contains(r.stderr, "exists already") || !strings.HasSuffix(r.stderr, "(HTTP 409)\n") {
		t.Errorf("duplicate: %q", r.stderr)
	}
	r = teams(0, "list", "--all", "--limit", "1")
	rows := keysTableRows(t, r.stdout, teamsHeader)
	if len(rows) != 3 || rows[0][0] != "ops" || rows[1][0] != "eng" || rows[2][0] != gen.ID || !strings.Contains(r.stdout, "(static)") {
		t.Errorf("list rows %q", rows)
	}

	// A key joins the team; the team cannot go while the key is in it.
	r = keys(1, "create", "--name", "k", "--team-id", "nope")
	if !strings.Contains(r.stderr, "team_id") || !strings.HasSuffix(r.stderr, "(HTTP 400)\n") {
		t.Errorf("key with an unknown team: %q", r.stderr)
	}
	r = keys(0, "create", "--name", "k", "--team-id", "eng", "--end-user-tpm", "100", "--json")
	var k auth.Key
	if err := json.Unmarshal([]byte(r.stdout), &k); err != nil || k.TeamID != "eng" || k.EndUserLimits.TPM != 100 {
		t.Fatalf("key in a team: %v %q", err, r.stdout)
	}
	r = keys(0, "get", k.ID)
	for _, want := range []string{"team id:", "eng", "end users:", "tpm 100"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("key detail lacks %q:\n%s", want, r.stdout)
		}
	}
	r = teams(1, "delete", "eng")
	if !strings.Contains(r.stderr, "still has 1 key") || !strings.HasSuffix(r.stderr, "(HTTP 409)\n") {
		t.Errorf("delete of a team in use: %q", r.stderr)
	}
	keys(0, "update", k.ID, "--team-id", "")

	teams(0, "update", "eng", "--models", "gpt-4o-mini", "--end-user-budget-usd", "2")
	r = teams(0, "get", "eng")
	for _, want := range []string{"models:", "gpt-4o-mini", "end users:", "rpm 3, $2.00/total", "spend:", "$0.00"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("team detail lacks %q:\n%s", want, r.stdout)
		}
	}
	r = teams(1, "update", "ops", "--rpm", "1")
	if !strings.Contains(r.stderr, "auth.teams") || !strings.HasSuffix(r.stderr, "(HTTP 409)\n") {
		t.Errorf("update of a static team: %q", r.stderr)
	}
	if r := teams(0, "delete", "eng"); r.stdout != "team eng deleted\n" {
		t.Errorf("delete: %q", r.stdout)
	}
	r = teams(1, "get", "eng")
	if r.stderr != "sluice teams: no team with this id (HTTP 404)\n" {
		t.Errorf("get after delete: %q", r.stderr)
	}
	if strings.Contains(logs.String(), keysTestToken) {
		t.Errorf("the gateway's output holds the admin token")
	}
}

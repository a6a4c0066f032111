package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
)

const (
	keysHeader      = "ID NAME PREFIX MODELS RPM TPM BUDGET STATE CREATED"
	keysAuditHeader = "TIME ACTION KEY CHANGES"
)

func TestKeysCreate(t *testing.T) {
	a := newKeysAdmin(t)
	r := a.run("create", "--name", "billing", "--models", "gpt-4o, claude-sonnet", "--rpm", "60", "--tpm", "100000",
		"--max-concurrent", "4", "--budget-usd", "25.5", "--budget-period", "month", "--expires-at", "2030-01-02T03:04:05Z",
		"--team", "payments", "--tag", "env=prod", "--tag", "owner=ana", "--allow-routing-headers", "--guardrails", "pii",
		"--priority", "high")
	r.expect(t, 0)
	req := a.oneRequest(http.MethodPost, "/admin/v1/keys")
	if req.ContentType != "application/json" {
		t.Errorf("Content-Type %q", req.ContentType)
	}
	keysJSONEqual(t, req.Body, `{"name":"billing","models":["gpt-4o","claude-sonnet"],"rpm":60,"tpm":100000,"max_concurrent":4,
		"budget_usd":25.5,"budget_period":"month","expires_at":"2030-01-02T03:04:05Z","team":"payments",
		"tags":{"env":"prod","owner":"ana"},"allow_routing_headers":true,"guardrails":["pii"],"priority":"high"}`)

	rows := keysTableRows(t, r.stdout, keysHeader)
	if len(rows) != 1 {
		t.Fatalf("rows %q", rows)
	}
	row := rows[0]
	want := []string{"billing", "", "gpt-4o,claude-sonnet", "60", "100000", "$25.50/month", "active"}
	for i, w := range want {
		if w != "" && row[i+1] != w {
			t.Errorf("column %d = %q, want %q (row %q)", i+1, row[i+1], w, row)
		}
	}
	stored, err := a.svc.Get(context.Background(), row[0])
	if err != nil {
		t.Fatalf("the ID column %q is not the created key: %v", row[0], err)
	}
	if row[2] != stored.Prefix || stored.Team != "payments" || stored.MaxConcurrent != 4 || stored.Priority != auth.PriorityHigh {
		t.Errorf("stored %+v, row %q", stored, row)
	}
	// The secret: once, on the last line, after the warning.
	secrets := keysSecretRE.FindAllString(r.stdout, -1)
	if len(secrets) != 1 {
		t.Fatalf("secret printed %d times:\n%s", len(secrets), r.stdout)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if lines[len(lines)-1] != secrets[0] {
		t.Errorf("the last line is %q, want the secret alone", lines[len(lines)-1])
	}
	if !strings.Contains(lines[len(lines)-2], "will not be shown again") {
		t.Errorf("no warning before the secret: %q", lines[len(lines)-2])
	}
	if !strings.HasPrefix(secrets[0], stored.Prefix) || r.stderr != "" {
		t.Errorf("secret %q does not start with prefix %q; stderr %q", secrets[0], stored.Prefix, r.stderr)
	}
}

func TestKeysCreateJSON(t *testing.T) {
	a := newKeysAdmin(t)
	r := a.run("create", "--json", "--name", "ci", "--disabled")
	r.expect(t, 0)
	req := a.oneRequest(http.MethodPost, "/admin/v1/keys")
	keysJSONEqual(t, req.Body, `{"name":"ci","disabled":true}`)
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil {
		t.Fatalf("--json output is not one JSON object: %v\n%s", err, r.stdout)
	}
	if !keysSecretRE.MatchString(obj["key"].(string)) || obj["name"] != "ci" || obj["disabled"] != true || obj["id"] == "" {
		t.Errorf("object %v", obj)
	}
	if !strings.Contains(r.stdout, "\n  \"id\": ") {
		t.Errorf("not indented:\n%s", r.stdout)
	}
}

func TestKeysList(t *testing.T) {
	a := newKeysAdmin(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, a.mustCreate("k"+strconv.Itoa(i)).ID)
	}
	if _, err := a.svc.Update(context.Background(), ids[1], []byte(`{"disabled":true,"models":["a","b","c","d","e"],"expires_at":"2001-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Update(context.Background(), ids[2], []byte(`{"disabled":true,"budget_usd":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Revoke(context.Background(), ids[3]); err != nil {
		t.Fatal(err)
	}

	t.Run("one page", func(t *testing.T) {
		r := a.run("list", "--limit", "2")
		r.expect(t, 0)
		req := a.oneRequest(http.MethodGet, "/admin/v1/keys")
		if req.Query != "limit=2" {
			t.Errorf("query %q", req.Query)
		}
		rows := keysTableRows(t, r.stdout, keysHeader)
		if len(rows) != 2 || rows[0][0] != ids[0] || rows[1][0] != ids[1] {
			t.Fatalf("rows %q", rows)
		}
		if !strings.Contains(r.stderr, "more keys follow: run with --all, or --cursor ") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("all", func(t *testing.T) {
		r := a.run("list", "--limit", "2", "--all")
		r.expect(t, 0)
		reqs := a.requests()
		if len(reqs) != 3 || reqs[0].Query != "limit=2" || !strings.Contains(reqs[1].Query, "cursor=") || !strings.Contains(reqs[2].Query, "cursor=") {
			t.Fatalf("requests %+v", reqs)
		}
		rows := keysTableRows(t, r.stdout, keysHeader)
		if len(rows) != 5 || r.stderr != "" {
			t.Fatalf("rows %q, stderr %q", rows, r.stderr)
		}
		states := map[string]string{ids[0]: "active", ids[1]: "expired", ids[2]: "disabled", ids[3]: "revoked", ids[4]: "active"}
		for _, row := range rows {
			if got := row[len(row)-2]; got != states[row[0]] {
				t.Errorf("key %s state %q, want %q", row[0], got, states[row[0]])
			}
		}
		if rows[1][3] != "a,b,c,+2" || rows[2][6] != "$3.00/total" || rows[0][3] != "all" || rows[0][4] != "-" {
			t.Errorf("cells: %q", rows)
		}
	})
	t.Run("json all", func(t *testing.T) {
		r := a.run("list", "--json", "--all", "--limit", "3")
		r.expect(t, 0)
		if n := len(a.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
		var p struct {
			Data []auth.Key `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || len(p.Data) != 5 || p.Data[4].ID != ids[4] {
			t.Fatalf("%v %+v\n%s", err, p, r.stdout)
		}
	})
	t.Run("json page", func(t *testing.T) {
		r := a.run("list", "--json", "--limit", "4")
		r.expect(t, 0)
		a.requests()
		var p struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || len(p.Data) != 4 || p.NextCursor == "" {
			t.Fatalf("%v %+v", err, p)
		}
		r = a.run("list", "--cursor", p.NextCursor)
		r.expect(t, 0)
		if req := a.oneRequest(http.MethodGet, "/admin/v1/keys"); req.Query != "cursor="+p.NextCursor {
			t.Errorf("query %q", req.Query)
		}
		if rows := keysTableRows(t, r.stdout, keysHeader); len(rows) != 1 || rows[0][0] != ids[4] {
			t.Errorf("rows %q", rows)
		}
	})
}

func TestKeysGet(t *testing.T) {
	a := newKeysAdmin(t)
	k := a.mustCreate("reporting")
	if _, err := a.svc.Update(context.Background(), k.ID, []byte(`{"tags":{"b":"2","a":"1"},"model_limits":{"gpt-4o":{"rpm":5}},"team":"data","priority":"high"}`)); err != nil {
		t.Fatal(err)
	}
	r := a.run("get", k.ID)
	r.expect(t, 0)
	a.oneRequest(http.MethodGet, "/admin/v1/keys/"+k.ID)
	for _, want := range []string{"id:", k.ID, "name:", "reporting", "state:", "active", "tags:", "a=1, b=2",
		"model limits:", "gpt-4o (rpm 5, tpm -)", "team:", "data", "expires:", "never", "guardrails:", "the model's",
		"priority:", "high"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if keysSecretRE.MatchString(r.stdout) {
		t.Errorf("get printed a secret")
	}

	r = a.run("get", "--json", k.ID)
	r.expect(t, 0)
	a.requests()
	var got auth.Key
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.ID != k.ID || got.Tags["a"] != "1" {
		t.Fatalf("%v %+v", err, got)
	}

	r = a.run("get", "no such?key#")
	r.expect(t, 1)
	a.oneRequest(http.MethodGet, "/admin/v1/keys/no%20such%3Fkey%23")
	if r.stderr != "sluice keys: no key with this id (HTTP 404)\n" || r.stdout != "" {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestKeysUpdate(t *testing.T) {
	a := newKeysAdmin(t)
	k := a.mustCreate("svc")
	for _, tc := range []struct {
		name string
		args []string
		body string
	}{
		{"limits and a tag", []string{"update", k.ID, "--rpm", "60", "--tag", "env=prod"}, `{"rpm":60,"tags":{"env":"prod"}}`},
		{"flags before ID", []string{"update", "--budget-usd", "10", "--budget-period", "day", k.ID}, `{"budget_usd":10,"budget_period":"day"}`},
		{"expiry set", []string{"update", k.ID, "--expires-at", "2031-06-01T00:00:00Z"}, `{"expires_at":"2031-06-01T00:00:00Z"}`},
		{"expiry cleared", []string{"update", k.ID, "--expires-at", ""}, `{"expires_at":null}`},
		{"tag removed", []string{"update", k.ID, "--remove-tag", "env", "--tag", "tier=gold"}, `{"tags":{"env":null,"tier":"gold"}}`},
		{"all models", []string{"update", k.ID, "--models", ""}, `{"models":[]}`},
		{"bools off", []string{"update", k.ID, "--disabled=false", "--allow-routing-headers=false", "--name", "svc2"}, `{"disabled":false,"allow_routing_headers":false,"name":"svc2"}`},
		{"disable", []string{"update", k.ID, "--disabled"}, `{"disabled":true}`},
		{"priority", []string{"update", k.ID, "--priority", "high"}, `{"priority":"high"}`},
		{"team and end users", []string{"update", k.ID, "--team-id", "", "--end-user-rpm", "3", "--end-user-budget-usd", "0.5"},
			`{"team_id":"","end_user_limits":{"rpm":3,"budget_usd":0.5}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.run(tc.args...)
			r.expect(t, 0)
			req := a.oneRequest(http.MethodPatch, "/admin/v1/keys/"+k.ID)
			keysJSONEqual(t, req.Body, tc.body)
			if rows := keysTableRows(t, r.stdout, keysHeader); len(rows) != 1 || rows[0][0] != k.ID {
				t.Errorf("rows %q", rows)
			}
		})
	}
	got, err := a.svc.Get(context.Background(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "svc2" || got.RPM != 60 || got.BudgetUSD != 10 || got.ExpiresAt != nil || !got.Disabled ||
		len(got.Tags) != 1 || got.Tags["tier"] != "gold" || got.Priority != auth.PriorityHigh {
		t.Errorf("after the patches: %+v", got)
	}

	r := a.run("update", k.ID, "--rpm", "-1")
	r.expect(t, 1)
	a.requests()
	if !strings.HasPrefix(r.stderr, "sluice keys: rpm: must not be negative") || !strings.HasSuffix(r.stderr, "(HTTP 400)\n") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestKeysRevokeRotate(t *testing.T) {
	a := newKeysAdmin(t)
	k := a.mustCreate("old")

	r := a.run("rotate", k.ID)
	r.expect(t, 0)
	a.oneRequest(http.MethodPost, "/admin/v1/keys/"+k.ID+"/rotate")
	secrets := keysSecretRE.FindAllString(r.stdout, -1)
	got, _ := a.svc.Get(context.Background(), k.ID)
	if len(secrets) != 1 || got.Prefix == k.Prefix || !strings.HasPrefix(secrets[0], got.Prefix) ||
		!strings.HasSuffix(r.stdout, "\n"+secrets[0]+"\n") || !strings.Contains(r.stdout, "will not be shown again") {
		t.Fatalf("rotate output:\n%s", r.stdout)
	}
	if _, st := a.svc.Cache().Authenticate([]byte(secrets[0])); st != auth.StatusOK {
		t.Errorf("the printed secret does not authenticate")
	}

	r = a.run("revoke", k.ID)
	r.expect(t, 0)
	if req := a.oneRequest(http.MethodDelete, "/admin/v1/keys/"+k.ID); len(req.Body) != 0 {
		t.Errorf("DELETE with a body %q", req.Body)
	}
	if r.stdout != "key "+k.ID+" revoked\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	r = a.run("revoke", "--json", k.ID)
	r.expect(t, 0)
	a.requests()
	if r.stdout != "" {
		t.Errorf("revoke --json printed %q for a 204", r.stdout)
	}

	r = a.run("rotate", k.ID)
	r.expect(t, 1)
	a.requests()
	if !strings.Contains(r.stderr, "the key is revoked") || !strings.HasSuffix(r.stderr, "(HTTP 409)\n") || r.stdout != "" {
		t.Errorf("stderr %q stdout %q", r.stderr, r.stdout)
	}
	r = a.run("get", k.ID)
	r.expect(t, 0)
	a.requests()
	if !strings.Contains(r.stdout, "revoked") {
		t.Errorf("get after revoke:\n%s", r.stdout)
	}
}

func TestKeysAudit(t *testing.T) {
	a := newKeysAdmin(t)
	other := a.mustCreate("other")
	r := a.run("create", "--name", "audited", "--json")
	r.expect(t, 0)
	a.requests()
	var k auth.Key
	if err := json.Unmarshal([]byte(r.stdout), &k); err != nil {
		t.Fatal(err)
	}
	a.run("update", k.ID, "--rpm", "5", "--team", "x").expect(t, 0)
	a.run("rotate", k.ID).expect(t, 0)
	a.run("revoke", k.ID).expect(t, 0)
	a.requests()

	r = a.run("audit", "--key", k.ID, "--limit", "10")
	r.expect(t, 0)
	req := a.oneRequest(http.MethodGet, "/admin/v1/audit")
	if req.Query != "key_id="+k.ID+"&limit=10" {
		t.Errorf("query %q", req.Query)
	}
	rows := keysTableRows(t, r.stdout, keysAuditHeader)
	want := [][2]string{{"revoke", "revoked"}, {"rotate", "prefix"}, {"update", "rpm,team"}, {"create", "prefix"}}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i, w := range want {
		if rows[i][1] != w[0] || rows[i][2] != k.ID || !strings.Contains(rows[i][3], w[1]) {
			t.Errorf("row %d %q, want action %s changes containing %s", i, rows[i], w[0], w[1])
		}
		if _, err := time.Parse(time.RFC3339, rows[i][0]); err != nil {
			t.Errorf("time %q: %v", rows[i][0], err)
		}
	}
	if keysSecretRE.MatchString(r.stdout) {
		t.Errorf("audit printed a secret")
	}

	r = a.run("audit", "--all", "--limit", "2")
	r.expect(t, 0)
	if n := len(a.requests()); n != 3 {
		t.Errorf("%d requests for 5 entries in pages of 2, want 3", n)
	}
	rows = keysTableRows(t, r.stdout, keysAuditHeader)
	if len(rows) != 5 || rows[4][2] != other.ID {
		t.Errorf("rows %q", rows)
	}
}

func TestKeysServerErrors(t *testing.T) {
	a := newKeysAdmin(t)

	t.Run("wrong token", func(t *testing.T) {
		r := runKeysEnv(t, map[string]string{envAdminURL: a.srv.URL, envAdminToken: "wrong-token-xyz"}, "list")
		r.expect(t, 1)
		if reqs := a.requests(); len(reqs) != 1 || reqs[0].Auth != "Bearer wrong-token-xyz" {
			t.Errorf("requests %+v", reqs)
		}
		if r.stderr != "sluice keys: missing or wrong admin token: send Authorization: Bearer <admin token> (admin.token in the config) (HTTP 401)\n" {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("token flag wins", func(t *testing.T) {
		r := runKeysEnv(t, map[string]string{envAdminURL: a.srv.URL, envAdminToken: "wrong"}, "list", "--admin-token", keysTestToken)
		r.expect(t, 0)
		a.oneRequest(http.MethodGet, "/admin/v1/keys")
	})
	t.Run("no token", func(t *testing.T) {
		r := runKeysEnv(t, map[string]string{envAdminURL: a.srv.URL}, "list")
		r.expect(t, 2)
		if len(a.requests()) != 0 || !strings.Contains(r.stderr, "no admin token") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("url flag and leading flags", func(t *testing.T) {
		k := a.mustCreate("lead")
		r := runKeysEnv(t, map[string]string{envAdminToken: keysTestToken, envAdminURL: "http://127.0.0.1:1"},
			"--json", "--url", a.srv.URL+"/", "get", k.ID)
		r.expect(t, 0)
		a.oneRequest(http.MethodGet, "/admin/v1/keys/"+k.ID)
		if !strings.HasPrefix(r.stdout, "{\n") {
			t.Errorf("--json before the command was lost: %q", r.stdout)
		}
	})
	t.Run("server echoes the token", func(t *testing.T) {
		a.setOverride(func(w http.ResponseWriter, r *http.Request) {
			keysWriteError(w, http.StatusForbidden, "permission_error", "", "token "+r.Header.Get("Authorization")+" refused")
		})
		defer a.setOverride(nil)
		r := a.run("list")
		r.expect(t, 1)
		a.requests()
		if r.stderr != "sluice keys: token Bearer [admin token] refused (HTTP 403)\n" {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		a.setOverride(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream\x1b[31m down\nsecond line", http.StatusBadGateway)
		})
		defer a.setOverride(nil)
		r := a.run("get", "x")
		r.expect(t, 1)
		a.requests()
		want := "sluice keys: the admin API at " + a.srv.URL + " answered HTTP 502 Bad Gateway: upstream?[31m down\n"
		if r.stderr != want {
			t.Errorf("stderr %q, want %q", r.stderr, want)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		a.setOverride(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/admin/v1/keys", http.StatusTemporaryRedirect)
		})
		defer a.setOverride(nil)
		r := a.run("list")
		r.expect(t, 1)
		if n := len(a.requests()); n != 1 {
			t.Errorf("%d requests", n)
		}
		if !strings.Contains(r.stderr, "HTTP 307 Temporary Redirect (a redirect to https://elsewhere.example/admin/v1/keys: use that --url)") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("cursor loop", func(t *testing.T) {
		a.setOverride(func(w http.ResponseWriter, _ *http.Request) {
			keysWriteJSON(w, http.StatusOK, map[string]any{"data": []any{}, "next_cursor": "same"})
		})
		defer a.setOverride(nil)
		r := a.run("list", "--all")
		r.expect(t, 1)
		if n := len(a.requests()); n != 2 || !strings.Contains(r.stderr, "same next_cursor twice") {
			t.Errorf("%d requests, stderr %q", n, r.stderr)
		}
	})
	t.Run("no secret in a create answer", func(t *testing.T) {
		a.setOverride(func(w http.ResponseWriter, _ *http.Request) {
			keysWriteJSON(w, http.StatusCreated, map[string]any{"id": "k1", "name": "n"})
		})
		defer a.setOverride(nil)
		r := a.run("create", "--name", "n")
		r.expect(t, 1)
		a.requests()
		if !strings.Contains(r.stderr, "holds no secret") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		a.setOverride(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		defer a.setOverride(nil)
		r := a.run("list", "--timeout", "50ms")
		r.expect(t, 1)
		a.requests()
		if !strings.Contains(r.stderr, "did not answer within 50ms") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

func TestKeysConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	r := runKeysEnv(t, map[string]string{envAdminURL: url, envAdminToken: keysTestToken}, "list")
	r.expect(t, 1)
	want := "sluice keys: cannot connect to the admin API at " + url + ": connection refused"
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr %q, want prefix %q", r.stderr, want)
	}
}

func TestKeysCommandLine(t *testing.T) {
	a := newKeysAdmin(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string // substring of stdout (status 0) or stderr
	}{
		{nil, 2, "Usage: sluice keys COMMAND"},
		{[]string{"--help"}, 0, "Usage: sluice keys COMMAND"},
		{[]string{"help"}, 0, "Usage: sluice keys COMMAND"},
		{[]string{"help", "rotate"}, 0, "Usage: sluice keys rotate ID"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"--bogus", "list"}, 2, "flag provided but not defined: --bogus"},
		{[]string{"create", "--help"}, 0, "Usage: sluice keys create --name NAME"},
		{[]string{"list", "-h"}, 0, "-all"},
		{[]string{"get", "--help"}, 0, "Usage: sluice keys get ID"},
		{[]string{"update", "--help"}, 0, "-remove-tag NAME"},
		{[]string{"revoke", "--help"}, 0, "Usage: sluice keys revoke ID"},
		{[]string{"audit", "--help"}, 0, "only the entries of the key ID"},
		{[]string{"--admin-token", keysTestToken, "create", "--help"}, 0, "-admin-token TOKEN"},
		{[]string{"create"}, 2, "--name is required"},
		{[]string{"create", "--name", "x", "--rpm", "many"}, 2, `invalid value "many" for flag --rpm`},
		{[]string{"create", "--name", "x", "--expires-at", "tomorrow"}, 2, "want an RFC 3339 time"},
		{[]string{"create", "--name", "x", "--tag", "novalue"}, 2, "want NAME=VALUE"},
		{[]string{"create", "--name", "x", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"get"}, 2, "missing the key ID"},
		{[]string{"get", "a", "b"}, 2, `unexpected argument "b"`},
		{[]string{"get", "a/../b"}, 2, `"a/../b" is not a key ID`},
		{[]string{"revoke", ".."}, 2, `".." is not a key ID`},
		{[]string{"update", "", "--rpm", "1"}, 2, `"" is not a key ID`},
		{[]string{"update", "k1"}, 2, "nothing to change"},
		{[]string{"update", "k1", "--tag", "a=1", "--remove-tag", "a"}, 2, `tag "a" is both set and removed`},
		{[]string{"list", "--limit", "-1"}, 2, "--limit must not be negative"},
		{[]string{"audit", "--limit", "-3"}, 2, "--limit must not be negative"},
		{[]string{"list", "--url", "ftp://host"}, 2, "must be an http:// or https:// URL"},
		{[]string{"list", "--url", "http://user:pw@host"}, 2, "must not hold credentials"},
		{[]string{"list", "--timeout", "0s"}, 2, "--timeout must be positive"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := a.run(tc.args...)
			out := r.stderr
			if tc.code == 0 {
				out = r.stdout
			}
			if r.code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.out)
			}
			if reqs := a.requests(); len(reqs) != 0 {
				t.Errorf("sent %d requests", len(reqs))
			}
		})
	}
}

func TestKeysState(t *testing.T) {
	past, future := keysTestNow.Add(-time.Second), keysTestNow.Add(time.Hour)
	for _, tc := range []struct {
		name string
		k    auth.Key
		want string
	}{
		{"active", auth.Key{}, "active"},
		{"not yet expired", auth.Key{ExpiresAt: &future}, "active"},
		{"expired", auth.Key{ExpiresAt: &past}, "expired"},
		{"expires now", auth.Key{ExpiresAt: &keysTestNow}, "expired"},
		{"disabled", auth.Key{Disabled: true}, "disabled"},
		{"expired and disabled", auth.Key{Disabled: true, ExpiresAt: &past}, "expired"},
		{"revoked wins", auth.Key{Revoked: true, Disabled: true, ExpiresAt: &past}, "revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyState(&tc.k, keysTestNow); got != tc.want {
				t.Errorf("keyState = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeysTableSanitizes(t *testing.T) {
	var out bytes.Buffer
	c := &keysCLI{stdout: &out, now: func() time.Time { return keysTestNow }}
	c.keyTable([]auth.Key{{ID: "k1", Name: "evil\tname\n\x1b[2J", CreatedAt: keysTestNow}})
	rows := keysTableRows(t, out.String(), keysHeader)
	if len(rows) != 1 || rows[0][1] != "evil?name??[2J" || rows[0][len(rows[0])-1] != "2026-05-01T12:00:00Z" {
		t.Errorf("rows %q", rows)
	}
}

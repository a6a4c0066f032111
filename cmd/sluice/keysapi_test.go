package main

// The test admin server and helpers of the "sluice keys" tests, and a
// test against a real "sluice serve".

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
)

const keysTestToken = "adm-0123456789-do-not-print"

// keysAdminReq is one request the test admin server received.
type keysAdminReq struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   []byte
}

// keysAdmin serves the admin API's key routes on a real auth.Service
// (SQLite in a temporary directory), with the contract's status codes and
// error shape. It records every request.
type keysAdmin struct {
	t     *testing.T
	svc   *auth.Service
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	reqs     []keysAdminReq
	override http.HandlerFunc // when set, answers instead of the routes
}

func newKeysAdmin(t *testing.T) *keysAdmin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc, err := auth.New(ctx, &config.Config{DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	a := &keysAdmin{t: t, svc: svc, token: keysTestToken}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/v1/keys", a.create)
	mux.HandleFunc("GET /admin/v1/keys", a.list)
	mux.HandleFunc("GET /admin/v1/keys/{id}", a.get)
	mux.HandleFunc("PATCH /admin/v1/keys/{id}", a.update)
	mux.HandleFunc("DELETE /admin/v1/keys/{id}", a.revoke)
	mux.HandleFunc("POST /admin/v1/keys/{id}/rotate", a.rotate)
	mux.HandleFunc("GET /admin/v1/audit", a.audit)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		a.mu.Lock()
		a.reqs = append(a.reqs, keysAdminReq{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body})
		override := a.override
		a.mu.Unlock()
		if override != nil {
			override(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
			keysWriteError(w, http.StatusUnauthorized, "authentication_error", "", "missing or wrong admin token: send Authorization: Bearer <admin token> (admin.token in the config)")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// requests returns the requests received so far and forgets them.
func (a *keysAdmin) requests() []keysAdminReq {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.reqs
	a.reqs = nil
	return r
}

func (a *keysAdmin) setOverride(h http.HandlerFunc) {
	a.mu.Lock()
	a.override = h
	a.mu.Unlock()
}

func keysWriteError(w http.ResponseWriter, status int, typ, param, msg string) {
	var p any
	if param != "" {
		p = param
	}
	keysWriteJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": nil}})
}

func keysWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers err as the contract says.
func (a *keysAdmin) fail(w http.ResponseWriter, err error) {
	var fe *auth.FieldError
	switch {
	case errors.As(err, &fe):
		keysWriteError(w, http.StatusBadRequest, "invalid_request_error", fe.Field, fe.Error())
	case errors.Is(err, auth.ErrNotFound):
		keysWriteError(w, http.StatusNotFound, "not_found_error", "", "no key with this id")
	case errors.Is(err, auth.ErrStaticKey), errors.Is(err, auth.ErrRevoked):
		keysWriteError(w, http.StatusConflict, "conflict_error", "", err.Error())
	default:
		keysWriteError(w, http.StatusInternalServerError, "api_error", "", err.Error())
	}
}

type keysWithSecret struct {
	auth.Key
	Secret string `json:"key"`
}

func (a *keysAdmin) create(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	in, err := auth.DecodeKeyInput(body)
	if err != nil {
		a.fail(w, err)
		return
	}
	k, secret, err := a.svc.Create(r.Context(), in)
	if err != nil {
		a.fail(w, err)
		return
	}
	keysWriteJSON(w, http.StatusCreated, keysWithSecret{k, secret})
}

// keysPageArgs reads limit and cursor.
func keysPageArgs(r *http.Request) (int, string, error) {
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, "", &auth.FieldError{Field: "limit", Msg: "must be a whole number"}
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), nil
}

func (a *keysAdmin) list(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := keysPageArgs(r)
	if err == nil {
		var keys []auth.Key
		var next string
		if keys, next, err = a.svc.List(r.Context(), cursor, limit); err == nil {
			keysWriteJSON(w, http.StatusOK, map[string]any{"data": keys, "next_cursor": next})
			return
		}
	}
	a.fail(w, err)
}

func (a *keysAdmin) get(w http.ResponseWriter, r *http.Request) {
	k, err := a.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, err)
		return
	}
	keysWriteJSON(w, http.StatusOK, k)
}

func (a *keysAdmin) update(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	k, err := a.svc.Update(r.Context(), r.PathValue("id"), body)
	if err != nil {
		a.fail(w, err)
		return
	}
	keysWriteJSON(w, http.StatusOK, k)
}

func (a *keysAdmin) revoke(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Revoke(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *keysAdmin) rotate(w http.ResponseWriter, r *http.Request) {
	k, secret, err := a.svc.Rotate(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, err)
		return
	}
	keysWriteJSON(w, http.StatusOK, keysWithSecret{k, secret})
}

func (a *keysAdmin) audit(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := keysPageArgs(r)
	if err == nil {
		var entries []auth.AuditEntry
		var next string
		if entries, next, err = a.svc.Audit(r.Context(), r.URL.Query().Get("key_id"), cursor, limit); err == nil {
			keysWriteJSON(w, http.StatusOK, map[string]any{"data": entries, "next_cursor": next})
			return
		}
	}
	a.fail(w, err)
}

// mustCreate creates a key directly on the service.
func (a *keysAdmin) mustCreate(name string) auth.Key {
	a.t.Helper()
	k, _, err := a.svc.Create(context.Background(), auth.KeyInput{Name: name})
	if err != nil {
		a.t.Fatalf("create %s: %v", name, err)
	}
	return k
}

// keysRun is the outcome of one "sluice keys" run.
type keysRun struct {
	code           int
	stdout, stderr string
}

var keysTestNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// runKeysEnv runs "sluice keys args..." with env as its environment and a
// fixed clock. It fails the test if the admin token shows in any output.
func runKeysEnv(t *testing.T, env map[string]string, args ...string) keysRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &keysCLI{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }, now: func() time.Time { return keysTestNow }}
	code := c.run(args)
	r := keysRun{code, stdout.String(), stderr.String()}
	for _, tok := range []string{keysTestToken, env[envAdminToken]} {
		if tok != "" && strings.Contains(r.stdout+r.stderr, tok) {
			t.Errorf("sluice keys %q printed the admin token:\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
		}
	}
	return r
}

// runKeys runs "sluice keys args..." against a.
func (a *keysAdmin) run(args ...string) keysRun {
	a.t.Helper()
	return runKeysEnv(a.t, map[string]string{envAdminURL: a.srv.URL, envAdminToken: a.token}, args...)
}

func (r keysRun) expect(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

// oneRequest checks that exactly one request was sent, with the token, and
// returns it.
func (a *keysAdmin) oneRequest(method, path string) keysAdminReq {
	a.t.Helper()
	reqs := a.requests()
	if len(reqs) != 1 {
		a.t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	if r.Method != method || r.Path != path {
		a.t.Fatalf("request %s %s, want %s %s", r.Method, r.Path, method, path)
	}
	if r.Auth != "Bearer "+a.token {
		a.t.Fatalf("Authorization %q, want the admin token", r.Auth)
	}
	return r
}

// keysJSONEqual checks that got is the JSON value want.
func keysJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("body %s, want %s", gb, wb)
	}
}

var keysSecretRE = regexp.MustCompile(`sk-sluice-[0-9A-Za-z]{40,}`)

// keysTableRows returns the data rows of a table (after the header), each
// split into columns. header is the columns the header line must have.
func keysTableRows(t *testing.T, out, header string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != header {
		t.Fatalf("output does not start with header %q:\n%s", header, out)
	}
	var rows [][]string
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// TestKeysAgainstGateway drives every command against a real "sluice
// serve" (SQLite) and checks that neither the CLI nor the gateway prints
// the admin token, and that only create and rotate print a secret.
func TestKeysAgainstGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: %q
admin: {token: %s}
auth: {enabled: true}
providers:
  - {name: openai, kind: openai, base_url: "http://127.0.0.1:1/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, t.TempDir(), keysTestToken)
	var logs syncBuffer
	_, addr, _ := startProcess(t, cfg, &logs)
	env := map[string]string{envAdminURL: "http://" + addr, envAdminToken: keysTestToken}
	run := func(code int, args ...string) keysRun {
		t.Helper()
		r := runKeysEnv(t, env, args...)
		r.expect(t, code)
		return r
	}
	var secrets []string
	r := run(0, "create", "--name", "e2e", "--models", "gpt-4o-mini", "--rpm", "30", "--tag", "env=test")
	secrets = append(secrets, keysSecretRE.FindAllString(r.stdout, -1)...)
	id := keysTableRows(t, r.stdout, keysHeader)[0][0]

	r = run(0, "list", "--all", "--limit", "1")
	if rows := keysTableRows(t, r.stdout, keysHeader); len(rows) != 1 || rows[0][0] != id || rows[0][4] != "30" {
		t.Errorf("list rows %q", rows)
	}
	run(0, "update", id, "--tpm", "500", "--remove-tag", "env")
	r = run(0, "get", "--json", id)
	var k auth.Key
	if err := json.Unmarshal([]byte(r.stdout), &k); err != nil || k.TPM != 500 || k.RPM != 30 || len(k.Tags) != 0 {
		t.Errorf("after update: %v %+v", err, k)
	}
	r = run(1, "update", id, "--budget-period", "week")
	if !strings.Contains(r.stderr, "budget_period") || !strings.HasSuffix(r.stderr, "(HTTP 400)\n") {
		t.Errorf("bad period: %q", r.stderr)
	}
	r = run(1, "update", id, "--priority", "urgent")
	if !strings.Contains(r.stderr, `priority: must be "normal" or "high"`) || !strings.HasSuffix(r.stderr, "(HTTP 400)\n") {
		t.Errorf("bad priority: %q", r.stderr)
	}
	r = run(0, "rotate", id)
	secrets = append(secrets, keysSecretRE.FindAllString(r.stdout, -1)...)
	run(0, "revoke", id)
	r = run(0, "get", id)
	if !strings.Contains(r.stdout, "revoked") {
		t.Errorf("get after revoke:\n%s", r.stdout)
	}
	r = run(1, "update", id, "--rpm", "1")
	if !strings.HasSuffix(r.stderr, "(HTTP 409)\n") {
		t.Errorf("update of a revoked key: %q", r.stderr)
	}
	r = run(1, "get", "key_missing")
	if !strings.HasSuffix(r.stderr, "(HTTP 404)\n") {
		t.Errorf("missing key: %q", r.stderr)
	}
	r = run(0, "audit", "--key", id)
	var actions []string
	for _, row := range keysTableRows(t, r.stdout, keysAuditHeader) {
		actions = append(actions, row[1])
	}
	if strings.Join(actions, " ") != "revoke rotate update create" {
		t.Errorf("audit actions %q", actions)
	}
	r = runKeysEnv(t, map[string]string{envAdminURL: env[envAdminURL], envAdminToken: "not-the-token"}, "list")
	if r.code != 1 || !strings.HasSuffix(r.stderr, "(HTTP 401)\n") {
		t.Errorf("wrong token: %d %q", r.code, r.stderr)
	}

	if len(secrets) != 2 || secrets[0] == secrets[1] {
		t.Fatalf("secrets printed %q, want one on create and one on rotate", secrets)
	}
	for _, s := range append(secrets, keysTestToken) {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the gateway's output holds a secret or the admin token")
		}
	}
}

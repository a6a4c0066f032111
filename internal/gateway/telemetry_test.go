package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// logsConfig is guardConfig with request logging (bodies included) and the
// admin API on.
var logsConfig = guardConfig + `
admin: {token: test-admin-token-0123456789}
pricing:
  gpt-4o-mini: {input: 1000000, output: 1000000}
telemetry:
  enabled: true
  log_bodies: full
  flush_interval: 10ms
`

type logRow struct {
	RequestID        string  `json:"request_id"`
	KeyID            string  `json:"key_id"`
	Model            string  `json:"model"`
	Provider         string  `json:"provider"`
	UpstreamModel    string  `json:"upstream_model"`
	Route            string  `json:"route"`
	Format           string  `json:"format"`
	Status           int     `json:"status"`
	ErrorCode        string  `json:"error_code"`
	Attempts         int     `json:"attempts"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	EndUser          string  `json:"end_user"`
	ClientIP         string  `json:"client_ip"`
	UserAgent        string  `json:"user_agent"`
	LatencyMS        float64 `json:"latency_ms"`
	RequestBody      string  `json:"request_body"`
	ResponseBody     string  `json:"response_body"`
	Guardrails       []struct {
		Rule, Action, Scope string
		Count               int
	} `json:"guardrails"`
}

// waitLogs polls the logs API until it returns at least n rows for query.
func waitLogs(t *testing.T, s *stack, query string, n int) []logRow {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page struct {
			Data       []logRow `json:"data"`
			NextCursor string   `json:"next_cursor"`
		}
		if code := s.admin(t, "GET", "/admin/v1/logs?"+query, "", adminToken, &page); code != 200 {
			t.Fatalf("GET logs: %d", code)
		}
		if len(page.Data) >= n || time.Now().After(deadline) {
			return page.Data
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRequestLogs(t *testing.T) {
	s := newStackYAML(t, nil, logsConfig)
	key := bearer("sk-plain")
	ids := map[string]string{}
	send := func(name, path, body string, h map[string]string) {
		resp, got := s.post(t, path, body, h)
		ids[name] = resp.Header.Get("x-request-id")
		if ids[name] == "" {
			t.Fatalf("%s: no x-request-id (%d %s)", name, resp.StatusCode, got)
		}
	}
	send("ok", "/v1/chat/completions", `{"model":"gpt-4o-mini","user":"alice","messages":[{"role":"user","content":"mail jane@example.com"}]}`,
		map[string]string{"Authorization": "Bearer sk-plain", "User-Agent": "logs-test/1"})
	send("blocked", "/v1/chat/completions", userMsg("gpt-4o-mini", "ssn 123-45-6789"), key)
	send("unauthorized", "/v1/chat/completions", userMsg("gpt-4o-mini", "hi"), bearer("sk-nope"))
	send("unknown model", "/v1/messages", userMsg("nope", "hi"), map[string]string{"x-api-key": "sk-plain"})

	rows := waitLogs(t, s, "", 4)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rows), rows)
	}
	defer func() {
		// Refusals before any exchange are logged too: a wrong method on
		// a model route, a body over the limit.
		req, _ := http.NewRequest("GET", s.url+"/v1/chat/completions", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("x-request-id")
		got := waitLogs(t, s, "request_id="+id, 1)
		if len(got) != 1 || got[0].Status != 405 || got[0].Route != "/v1/chat/completions" {
			t.Errorf("405 row: %+v", got)
		}
	}()
	by := map[string]logRow{}
	for _, r := range rows {
		by[r.RequestID] = r
	}
	ok := by[ids["ok"]]
	if ok.Status != 200 || ok.KeyID != "plain" || ok.Model != "gpt-4o-mini" || ok.Provider != "openai" ||
		ok.UpstreamModel != "gpt-4o-mini" || ok.Route != "/v1/chat/completions" || ok.Format != "openai" ||
		ok.Attempts != 1 || ok.EndUser != "alice" || ok.UserAgent != "logs-test/1" || ok.ClientIP != "127.0.0.1" ||
		ok.PromptTokens == 0 || ok.CompletionTokens == 0 || ok.CostUSD <= 0 || ok.LatencyMS <= 0 {
		t.Errorf("ok row: %+v", ok)
	}
	if len(ok.Guardrails) != 1 || ok.Guardrails[0].Rule != "email" || ok.Guardrails[0].Action != "redact" || ok.Guardrails[0].Count != 1 {
		t.Errorf("ok row verdicts: %+v", ok.Guardrails)
	}
	if strings.Contains(ok.RequestBody, "jane@") || !strings.Contains(ok.RequestBody, "[REDACTED:EMAIL]") || !strings.Contains(ok.ResponseBody, "chat.completion") {
		t.Errorf("bodies: request %q response %q", ok.RequestBody, ok.ResponseBody)
	}
	if b := by[ids["blocked"]]; b.Status != 400 || b.ErrorCode != "guardrail_violation" || len(b.Guardrails) != 1 || b.Guardrails[0].Rule != "ssn" || strings.Contains(b.RequestBody, "6789") {
		t.Errorf("blocked row: %+v", b)
	}
	if u := by[ids["unauthorized"]]; u.Status != 401 || u.ErrorCode != "invalid_api_key" || u.KeyID != "" {
		t.Errorf("unauthorized row: %+v", u)
	}
	if m := by[ids["unknown model"]]; m.Status != 404 || m.Format != "anthropic" || m.Route != "/v1/messages" {
		t.Errorf("unknown model row: %+v", m)
	}

	// Filters and pagination.
	if got := waitLogs(t, s, "request_id="+ids["ok"], 1); len(got) != 1 || got[0].RequestID != ids["ok"] {
		t.Errorf("by request_id: %+v", got)
	}
	if got := waitLogs(t, s, "status=400", 1); len(got) != 1 || got[0].RequestID != ids["blocked"] {
		t.Errorf("by status: %+v", got)
	}
	var page struct {
		Data       []logRow `json:"data"`
		NextCursor string   `json:"next_cursor"`
	}
	s.admin(t, "GET", "/admin/v1/logs?limit=3", "", adminToken, &page)
	if len(page.Data) != 3 || page.NextCursor == "" {
		t.Fatalf("page 1: %d rows, cursor %q", len(page.Data), page.NextCursor)
	}
	first := page.Data
	page.Data, page.NextCursor = nil, ""
	s.admin(t, "GET", "/admin/v1/logs?limit=3&cursor="+url.QueryEscape(page2Cursor(t, s)), "", adminToken, &page)
	if len(page.Data) != 1 || page.NextCursor != "" || page.Data[0].RequestID == first[0].RequestID {
		t.Errorf("page 2: %+v cursor %q", page.Data, page.NextCursor)
	}

	// Usage by key and model.
	var usage struct {
		Data []struct {
			KeyID    string  `json:"key_id"`
			Model    string  `json:"model"`
			Requests int64   `json:"requests"`
			Errors   int64   `json:"errors"`
			CostUSD  float64 `json:"cost_usd"`
		} `json:"data"`
	}
	if code := s.admin(t, "GET", "/admin/v1/usage?group_by=key,model", "", adminToken, &usage); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	found := false
	for _, u := range usage.Data {
		if u.KeyID == "plain" && u.Model == "gpt-4o-mini" {
			found = true
			if u.Requests != 2 || u.Errors != 1 || u.CostUSD <= 0 {
				t.Errorf("usage row %+v", u)
			}
		}
	}
	if !found {
		t.Errorf("no usage row for plain/gpt-4o-mini: %+v", usage.Data)
	}

	// Bad queries are 400s that name the parameter.
	for _, q := range []string{"usage?group_by=user", "usage?group_by=key,,day", "logs?since=yesterday", "logs?limit=0", "logs?cursor=garbage"} {
		var e openAIError
		if code := s.admin(t, "GET", "/admin/v1/"+q, "", adminToken, &e); code != 400 {
			t.Errorf("%s: status %d, want 400 (%+v)", q, code, e)
		}
	}
	raw, _ := json.Marshal(rows)
	if strings.Contains(string(raw), "sk-plain") || strings.Contains(string(raw), "sk-provider") {
		t.Error("a secret reached the logs")
	}
}

// page2Cursor returns the next_cursor of the first page of 3.
func page2Cursor(t *testing.T, s *stack) string {
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	s.admin(t, "GET", "/admin/v1/logs?limit=3", "", adminToken, &page)
	return page.NextCursor
}

// TestUsageByTeamAndEndUser groups usage by the new groups, and filters
// logs by team.
func TestUsageByTeamAndEndUser(t *testing.T) {
	cfg := strings.Replace(logsConfig, "    - {key: sk-plain, id: plain}\n",
		"    - {key: sk-plain, id: plain}\n    - {key: sk-payments, id: payments-app, team: payments}\n", 1)
	s := newStackYAML(t, nil, cfg)
	chat := func(key, user string) {
		resp, body := s.post(t, "/v1/chat/completions",
			`{"model":"gpt-4o-mini","user":"`+user+`","messages":[{"role":"user","content":"hi"}]}`, bearer(key))
		if resp.StatusCode != 200 {
			t.Fatalf("%s/%s: %d %s", key, user, resp.StatusCode, body)
		}
	}
	chat("sk-plain", "alice")
	chat("sk-payments", "alice")
	chat("sk-payments", "bob")
	chat("sk-payments", "bob")
	waitLogs(t, s, "", 4)

	type row struct {
		Team     string  `json:"team"`
		EndUser  string  `json:"end_user"`
		KeyID    string  `json:"key_id"`
		Requests int64   `json:"requests"`
		CostUSD  float64 `json:"cost_usd"`
	}
	var usage struct {
		Data []row `json:"data"`
	}
	if code := s.admin(t, "GET", "/admin/v1/usage?group_by=team,end_user", "", adminToken, &usage); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	want := []row{{"", "alice", "", 1, 0}, {"payments", "alice", "", 1, 0}, {"payments", "bob", "", 2, 0}}
	if len(usage.Data) != len(want) {
		t.Fatalf("usage by team, end user: %+v", usage.Data)
	}
	for i, w := range want {
		g := usage.Data[i]
		if g.CostUSD <= 0 {
			t.Errorf("row %d: no cost: %+v", i, g)
		}
		g.CostUSD = 0
		if g != w {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}

	// The same through the rollups: a range of whole days around now.
	day := time.Now().UTC().Truncate(24 * time.Hour)
	q := "since=" + day.Add(-24*time.Hour).Format(time.RFC3339) + "&until=" + day.Add(48*time.Hour).Format(time.RFC3339)
	var whole struct {
		Data []row `json:"data"`
	}
	if code := s.admin(t, "GET", "/admin/v1/usage?group_by=team,end_user&"+q, "", adminToken, &whole); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	if len(whole.Data) != 3 || whole.Data[2].Requests != 2 || whole.Data[2].EndUser != "bob" {
		t.Errorf("usage of whole days: %+v", whole.Data)
	}

	rows := waitLogs(t, s, "team=payments", 3)
	if len(rows) != 3 {
		t.Fatalf("logs of team payments: %d rows", len(rows))
	}
	for _, r := range rows {
		if r.KeyID != "payments-app" {
			t.Errorf("logs?team=payments has %+v", r)
		}
	}
	if rows := waitLogs(t, s, "team=payments&end_user=alice", 1); len(rows) != 1 {
		t.Errorf("logs of team payments, end user alice: %+v", rows)
	}
}

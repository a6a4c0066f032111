package gateway_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// governanceConfig has a team "research" with a daily budget that pays for
// two requests of govBody, three keys in it, and a key whose end users each
// get a budget that pays for one.
const governanceConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: test-admin-token-0123456789}
auth:
  enabled: true
  sync_interval: 100ms
  teams:
    - {id: research, name: Research, budget_usd: 0.0013, budget_period: day, models: [gpt-4o-mini]}
    - {id: shared, rpm: 6}
  keys:
    - {key: sk-team-a, id: team-a, team_id: research}
    - {key: sk-team-b, id: team-b, team_id: research}
    - {key: sk-team-c, id: team-c, team_id: research}
    - {key: sk-shared-a, id: shared-a, team_id: shared}
    - {key: sk-shared-b, id: shared-b, team_id: shared}
    - {key: sk-app, id: app, end_user_limits: {budget_usd: 0.0007, budget_period: day}}
pricing:
  gpt-4o-mini: {input: 0.15, output: 0.60}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
  - {name: gpt-4o, targets: [{provider: openai}]}
`

// govBody costs about $0.0006 with a 1,000-token reply, and holds about
// as much at admission.
const govBody = `{"model":"gpt-4o-mini","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}`

func govUser(user string) string {
	return `{"model":"gpt-4o-mini","max_tokens":1000,"user":"` + user + `","messages":[{"role":"user","content":"hi"}]}`
}

func withTokens(h map[string]string) map[string]string {
	h["X-Mock-Tokens"] = "1000"
	return h
}

// TestTeamBudgetGateway: two keys of a team spend its budget; the third
// key's request is refused with insufficient_quota naming the team.
func TestTeamBudgetGateway(t *testing.T) {
	s := newStackYAML(t, nil, governanceConfig)
	for _, k := range []string{"sk-team-a", "sk-team-b"} {
		if resp, b := s.post(t, "/v1/chat/completions", govBody, withTokens(bearer(k))); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", k, resp.StatusCode, b)
		}
	}
	resp, b := s.post(t, "/v1/chat/completions", govBody, withTokens(bearer("sk-team-c")))
	if resp.StatusCode != 429 || !strings.Contains(b, `"code":"insufficient_quota"`) || !strings.Contains(b, `team \"research\"`) {
		t.Fatalf("third key of a spent team: %d %s, want 429 insufficient_quota naming the team", resp.StatusCode, b)
	}
	// The team's allowlist bounds its keys.
	if resp, b := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-team-a")); resp.StatusCode != 403 {
		t.Errorf("a model outside the team's allowlist: %d %s, want 403", resp.StatusCode, b)
	}
	// GET /v1/key shows the team's limits and what is left of its budget.
	st, body := getPath(t, s, "/v1/key", bearer("sk-team-c"))
	var kv struct {
		TeamID     string `json:"team_id"`
		TeamLimits *struct {
			ID                 string   `json:"id"`
			BudgetUSD          float64  `json:"budget_usd"`
			SpendUSD           float64  `json:"spend_usd"`
			RemainingBudgetUSD *float64 `json:"remaining_budget_usd"`
		} `json:"team_limits"`
		SpendUSD float64 `json:"spend_usd"`
	}
	if st != 200 || json.Unmarshal([]byte(body), &kv) != nil {
		t.Fatalf("GET /v1/key: %d %s", st, body)
	}
	tl := kv.TeamLimits
	if kv.TeamID != "research" || tl == nil || tl.ID != "research" || tl.BudgetUSD != 0.0013 || tl.RemainingBudgetUSD == nil {
		t.Fatalf("GET /v1/key: %s", body)
	}
	if tl.SpendUSD < 0.0012 || tl.SpendUSD > 0.0013 || *tl.RemainingBudgetUSD > 0.0001 || kv.SpendUSD != 0 {
		t.Errorf("team spend $%g, remaining $%g, key spend $%g: want the two requests' cost on the team, none on key c",
			tl.SpendUSD, *tl.RemainingBudgetUSD, kv.SpendUSD)
	}
}

// TestEndUserBudgetGateway: an end user over their budget is refused while
// other end users of the same key are served, in either client format.
func TestEndUserBudgetGateway(t *testing.T) {
	s := newStackYAML(t, nil, governanceConfig)
	if resp, b := s.post(t, "/v1/chat/completions", govUser("mallory"), withTokens(bearer("sk-app"))); resp.StatusCode != 200 {
		t.Fatalf("mallory's first request: %d %s", resp.StatusCode, b)
	}
	resp, b := s.post(t, "/v1/chat/completions", govUser("mallory"), withTokens(bearer("sk-app")))
	if resp.StatusCode != 429 || !strings.Contains(b, `"code":"insufficient_quota"`) || !strings.Contains(b, "this end user") {
		t.Fatalf("mallory over budget: %d %s, want 429 insufficient_quota for the end user", resp.StatusCode, b)
	}
	// The same end user in the Anthropic format (metadata.user_id).
	msg := `{"model":"gpt-4o-mini","max_tokens":1000,"metadata":{"user_id":"mallory"},"messages":[{"role":"user","content":"hi"}]}`
	hdr := withTokens(map[string]string{"x-api-key": "sk-app", "anthropic-version": "2023-06-01"})
	if resp, b := s.post(t, "/v1/messages", msg, hdr); resp.StatusCode != 429 || !strings.Contains(b, `"type":"rate_limit_error"`) {
		t.Errorf("mallory via /v1/messages: %d %s, want 429", resp.StatusCode, b)
	}
	if resp, b := s.post(t, "/v1/chat/completions", govUser("alice"), withTokens(bearer("sk-app"))); resp.StatusCode != 200 {
		t.Errorf("alice, another end user of the key: %d %s", resp.StatusCode, b)
	}
	if resp, b := s.post(t, "/v1/chat/completions", govBody, withTokens(bearer("sk-app"))); resp.StatusCode != 200 {
		t.Errorf("a request without a user: %d %s", resp.StatusCode, b)
	}
}

// TestTeamLimitsTwoInstances: a team's rpm shared by two keys on two
// instances on one Redis admits exactly as one instance: N + k requests
// get exactly k 429s, each naming the team.
func TestTeamLimitsTwoInstances(t *testing.T) {
	u := os.Getenv("SLUICE_TEST_REDIS")
	if u == "" {
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("SLUICE_TEST_REDIS is not set")
		}
		t.Skip("SLUICE_TEST_REDIS is not set: team limits across instances are not tested")
	}
	prefix := "sluice-test-team-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	cfg := governanceConfig + "limits:\n  redis: {url: \"" + u + "\", prefix: \"" + prefix + "\", timeout: 1s, fail_mode: closed}\n"
	stacks := []*stack{newStackYAML(t, nil, cfg), newStackYAML(t, nil, cfg)}
	const n, k = 6, 4
	refused := 0
	for i := range n + k {
		s, key := stacks[i%2], []string{"sk-shared-a", "sk-shared-b"}[(i/2)%2]
		resp, b := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer(key))
		switch resp.StatusCode {
		case 200:
		case 429:
			refused++
			if !strings.Contains(b, `"code":"rate_limit_exceeded"`) || !strings.Contains(b, `team \"shared\"`) {
				t.Errorf("refusal %s: want the team's rpm", b)
			}
		default:
			t.Fatalf("status %d %s", resp.StatusCode, b)
		}
	}
	if refused != k {
		t.Errorf("%d requests on a team of rpm %d over two instances: %d refused, want %d", n+k, n, refused, k)
	}
}

// TestAdminTeamEnforced: a team made through the admin API limits the key
// made in it at once; a PATCH of its budget takes effect at once too.
func TestAdminTeamEnforced(t *testing.T) {
	s := newStackYAML(t, nil, governanceConfig)
	if st := s.admin(t, "POST", "/admin/v1/teams", `{"id":"made","rpm":2}`, adminToken, nil); st != 201 {
		t.Fatalf("create team: %d", st)
	}
	var k struct {
		Key    string `json:"key"`
		TeamID string `json:"team_id"`
	}
	if st := s.admin(t, "POST", "/admin/v1/keys", `{"name":"in made","team_id":"made"}`, adminToken, &k); st != 201 || k.TeamID != "made" {
		t.Fatalf("create key: %d %+v", st, k)
	}
	var codes []int
	for range 3 {
		resp, b := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer(k.Key))
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 && !strings.Contains(b, `team \"made\"`) {
			t.Errorf("refusal does not name the team: %s", b)
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("three requests on a team of rpm 2: %v", codes)
	}
	// A budget set later applies to the next request: spent > $0 budget.
	if st := s.admin(t, "PATCH", "/admin/v1/teams/made", `{"rpm":0,"budget_usd":0.000001}`, adminToken, nil); st != 200 {
		t.Fatalf("patch: %d", st)
	}
	resp, b := s.post(t, "/v1/chat/completions", govBody, withTokens(bearer(k.Key)))
	if resp.StatusCode != 429 || !strings.Contains(b, `"code":"insufficient_quota"`) || !strings.Contains(b, `team \"made\"`) {
		t.Errorf("after a budget smaller than one request: %d %s", resp.StatusCode, b)
	}
}

// TestUsageByTeamObject: the log rows of a team's keys name the team's id,
// so usage groups by team and logs filter by it.
func TestUsageByTeamObject(t *testing.T) {
	cfg := governanceConfig + `
telemetry:
  enabled: true
  flush_interval: 10ms
`
	s := newStackYAML(t, nil, cfg)
	for _, k := range []string{"sk-shared-a", "sk-shared-b", "sk-app"} {
		if resp, b := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer(k)); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", k, resp.StatusCode, b)
		}
	}
	if rows := waitLogs(t, s, "team=shared", 2); len(rows) != 2 {
		t.Fatalf("logs?team=shared: %d rows, want the two keys' requests", len(rows))
	}
	var usage struct {
		Data []struct {
			Team     string `json:"team"`
			Requests int64  `json:"requests"`
		} `json:"data"`
	}
	if code := s.admin(t, "GET", "/admin/v1/usage?group_by=team", "", adminToken, &usage); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	got := map[string]int64{}
	for _, r := range usage.Data {
		got[r.Team] = r.Requests
	}
	if len(got) != 2 || got["shared"] != 2 || got[""] != 1 {
		t.Errorf("usage by team: %+v, want shared: 2 and none: 1", usage.Data)
	}
}

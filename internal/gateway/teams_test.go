package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// teamsConfig has a static team ("ops", gpt-4o-mini only) and a static key
// in it.
const teamsConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: test-admin-token-0123456789}
auth:
  enabled: true
  sync_interval: 100ms
  keys:
    - {key: sk-static-ops, id: ops-bot, team_id: ops}
  teams:
    - {id: ops, name: Operations, models: [gpt-4o-mini], rpm: 50, end_user_limits: {rpm: 5}}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
  - {name: gpt-4o, targets: [{provider: openai}]}
`

type teamObject struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Models        []string          `json:"models"`
	RPM           int64             `json:"rpm"`
	TPM           int64             `json:"tpm"`
	MaxConcurrent int64             `json:"max_concurrent"`
	BudgetUSD     float64           `json:"budget_usd"`
	BudgetPeriod  string            `json:"budget_period"`
	SpendUSD      *float64          `json:"spend_usd"`
	Tags          map[string]string `json:"tags"`
	EndUserLimits *struct {
		RPM          int64   `json:"rpm"`
		TPM          int64   `json:"tpm"`
		BudgetUSD    float64 `json:"budget_usd"`
		BudgetPeriod string  `json:"budget_period"`
	} `json:"end_user_limits"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Static    bool   `json:"static"`
}

type adminErrorBody struct {
	Error struct {
		Message string `json:"message"`
		Param   string `json:"param"`
	} `json:"error"`
}

func TestAdminTeamLifecycle(t *testing.T) {
	s := newStackYAML(t, nil, teamsConfig)
	if st := s.admin(t, "GET", "/admin/v1/teams", "", "", nil); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	var e adminErrorBody
	if st := s.admin(t, "POST", "/admin/v1/teams", `{"name":"x","bogus":1,"rmp":2}`, adminToken, &e); st != 400 ||
		e.Error.Param != "bogus, rmp" || !strings.Contains(e.Error.Message, "unknown fields") {
		t.Fatalf("unknown fields: %d %+v", st, e)
	}

	// Create, with and without an id.
	var eng teamObject
	if st := s.admin(t, "POST", "/admin/v1/teams", `{"id":"eng","name":"Engineering","models":["gpt-4o"],"rpm":60,
		"budget_usd":20,"tags":{"cc":"1"},"end_user_limits":{"rpm":3,"budget_usd":1,"budget_period":"day"}}`, adminToken, &eng); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if eng.ID != "eng" || eng.Name != "Engineering" || eng.RPM != 60 || eng.BudgetPeriod != "total" || eng.SpendUSD == nil ||
		*eng.SpendUSD != 0 || eng.EndUserLimits == nil || eng.EndUserLimits.RPM != 3 || eng.EndUserLimits.BudgetPeriod != "day" ||
		eng.CreatedAt == "" || eng.Static || eng.Tags["cc"] != "1" {
		t.Fatalf("created team %+v", eng)
	}
	var gen teamObject
	if st := s.admin(t, "POST", "/admin/v1/teams", `{}`, adminToken, &gen); st != 201 || !strings.HasPrefix(gen.ID, "team_") ||
		gen.Models == nil || gen.Tags == nil {
		t.Fatalf("create without id: %d %+v", st, gen)
	}
	for body, want := range map[string]int{`{"id":"eng"}`: 409, `{"id":"ops"}`: 409, `{"id":"a/b"}`: 400, `{"rpm":-1}`: 400} {
		if st := s.admin(t, "POST", "/admin/v1/teams", body, adminToken, &e); st != want {
			t.Errorf("POST %s: %d %+v, want %d", body, st, e, want)
		}
	}

	// List: the static team first, pages of one.
	var ids []string
	cursor := ""
	for range 5 {
		var list struct {
			Data       []teamObject `json:"data"`
			NextCursor *string      `json:"next_cursor"`
		}
		path := "/admin/v1/teams?limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if st := s.admin(t, "GET", path, "", adminToken, &list); st != 200 || list.NextCursor == nil || len(list.Data) != 1 {
			t.Fatalf("list page: %d %+v", st, list)
		}
		ids = append(ids, list.Data[0].ID)
		if cursor = *list.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(ids, []string{"ops", "eng", gen.ID}) {
		t.Errorf("listed %v", ids)
	}
	if st := s.admin(t, "GET", "/admin/v1/teams?limit=x", "", adminToken, &e); st != 400 || e.Error.Param != "limit" {
		t.Errorf("bad limit: %d %+v", st, e)
	}

	// Get.
	var got teamObject
	if st := s.admin(t, "GET", "/admin/v1/teams/ops", "", adminToken, &got); st != 200 || !got.Static || got.RPM != 50 || got.EndUserLimits.RPM != 5 {
		t.Errorf("get static: %d %+v", st, got)
	}
	if st := s.admin(t, "GET", "/admin/v1/teams/nope", "", adminToken, &e); st != 404 || e.Error.Message != "no team with this id" {
		t.Errorf("get missing: %d %+v", st, e)
	}

	// A key joins the team: its team_id must name a team, and the team's
	// allowlist bounds the key's.
	if st := s.admin(t, "POST", "/admin/v1/keys", `{"name":"k","team_id":"nope"}`, adminToken, &e); st != 400 || e.Error.Param != "team_id" {
		t.Fatalf("key with an unknown team: %d %+v", st, e)
	}
	var k struct {
		keyObject
		TeamID string `json:"team_id"`
	}
	if st := s.admin(t, "POST", "/admin/v1/keys", `{"name":"k","team_id":"eng","end_user_limits":{"tpm":100}}`, adminToken, &k); st != 201 || k.TeamID != "eng" {
		t.Fatalf("key in a team: %d %+v", st, k)
	}
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer(k.Key)); resp.StatusCode != 200 {
		t.Fatalf("key in eng, gpt-4o: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer(k.Key)); resp.StatusCode != 403 {
		t.Fatalf("key in eng, gpt-4o-mini (not in the team's models): %d", resp.StatusCode)
	}
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-static-ops")); resp.StatusCode != 403 {
		t.Fatalf("static key in ops, gpt-4o: %d", resp.StatusCode)
	}

	// Patch: a merge patch, effective at once for the team's keys.
	if st := s.admin(t, "PATCH", "/admin/v1/teams/eng", `{"models":["gpt-4o-mini"],"tags":{"cc":null}}`, adminToken, &got); st != 200 ||
		!slices.Equal(got.Models, []string{"gpt-4o-mini"}) || len(got.Tags) != 0 || got.RPM != 60 {
		t.Fatalf("patch: %d %+v", st, got)
	}
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer(k.Key)); resp.StatusCode != 403 {
		t.Fatalf("after the team's patch, gpt-4o: %d", resp.StatusCode)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		param      string
	}{
		{"/admin/v1/teams/ops", `{"rpm":1}`, 409, ""},
		{"/admin/v1/teams/eng", `{"id":"x"}`, 400, "id"},
		{"/admin/v1/teams/eng", `{"end_user_limits":{"rps":1}}`, 400, "end_user_limits.rps"},
		{"/admin/v1/teams/nope", `{"rpm":1}`, 404, ""},
	} {
		e = adminErrorBody{}
		if st := s.admin(t, "PATCH", tc.path, tc.body, adminToken, &e); st != tc.status || e.Error.Param != tc.param {
			t.Errorf("PATCH %s %s: %d %+v, want %d on %q", tc.path, tc.body, st, e, tc.status, tc.param)
		}
	}

	// Delete: refused while a key uses the team, 204 once none does.
	if st := s.admin(t, "DELETE", "/admin/v1/teams/eng", "", adminToken, &e); st != 409 || !strings.Contains(e.Error.Message, "1 key") {
		t.Fatalf("delete a team in use: %d %+v", st, e)
	}
	if st := s.admin(t, "DELETE", "/admin/v1/teams/ops", "", adminToken, nil); st != 409 {
		t.Fatalf("delete a static team: %d", st)
	}
	if st := s.admin(t, "PATCH", "/admin/v1/keys/"+k.ID, `{"team_id":""}`, adminToken, nil); st != 200 {
		t.Fatalf("move the key out: %d", st)
	}
	if st := s.admin(t, "DELETE", "/admin/v1/teams/eng", "", adminToken, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := s.admin(t, "GET", "/admin/v1/teams/eng", "", adminToken, nil); st != 404 {
		t.Fatalf("get after delete: %d", st)
	}
	for _, r := range [][2]string{{"PUT", "/admin/v1/teams/eng"}, {"DELETE", "/admin/v1/teams"}, {"GET", "/admin/v1/teams/a/b"}, {"GET", "/admin/v1/teams/"}} {
		if st := s.admin(t, r[0], r[1], "", adminToken, nil); st != 404 {
			t.Errorf("%s %s: %d, want 404", r[0], r[1], st)
		}
	}

	// The audit log has the team's history under key_id team:eng.
	var audit struct {
		Data []struct {
			Action string `json:"action"`
			KeyID  string `json:"key_id"`
		} `json:"data"`
	}
	if st := s.admin(t, "GET", "/admin/v1/audit?key_id=team:eng", "", adminToken, &audit); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	var actions []string
	for _, e := range audit.Data {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "team.delete,team.update,team.create" {
		t.Errorf("team audit actions %v", actions)
	}
}

// TestReloadStaticTeams: static teams follow a config reload, like static
// keys: a changed team's allowlist holds from the next request.
func TestReloadStaticTeams(t *testing.T) {
	s := newStackYAML(t, nil, teamsConfig)
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-static-ops")); resp.StatusCode != 403 {
		t.Fatalf("before the reload: %d", resp.StatusCode)
	}
	next := strings.Replace(teamsConfig, "models: [gpt-4o-mini], rpm: 50", "models: [gpt-4o], rpm: 40", 1)
	status, res := s.reload(t, next)
	if status != 200 || res.Result != "applied" || !slices.Equal(res.Changed, []string{"auth.teams"}) {
		t.Fatalf("reload: %d %+v", status, res)
	}
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-static-ops")); resp.StatusCode != 200 {
		t.Fatalf("after the reload: %d %s", resp.StatusCode, body)
	}
	var got teamObject
	if st := s.admin(t, "GET", "/admin/v1/teams/ops", "", adminToken, &got); st != 200 || got.RPM != 40 {
		t.Fatalf("team after the reload: %d %+v", st, got)
	}
	// Removing the team leaves its key without a team.
	gone := strings.Replace(teamsConfig, "  teams:\n    - {id: ops, name: Operations, models: [gpt-4o-mini], rpm: 50, end_user_limits: {rpm: 5}}\n", "", 1)
	if status, res := s.reload(t, gone); status != 200 || res.Result != "applied" {
		t.Fatalf("reload without the team: %d %+v", status, res)
	}
	if st := s.admin(t, "GET", "/admin/v1/teams/ops", "", adminToken, nil); st != 404 {
		t.Errorf("removed static team: %d", st)
	}
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-static-ops")); resp.StatusCode != http.StatusOK {
		t.Errorf("key of a removed team: %d", resp.StatusCode)
	}
}

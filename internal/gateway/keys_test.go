package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// authConfig is baseConfig's upstreams with virtual keys on.
const authConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: test-admin-token-0123456789}
auth:
  enabled: true
  sync_interval: 100ms
  keys:
    - {key: sk-static-all, id: all, name: everything}
    - {key: sk-static-mini, id: mini, name: mini only, models: [gpt-4o-mini, claude-3-5-haiku]}
    - {key: sk-static-expired, id: old, expires_at: "2020-01-01T00:00:00Z"}
    - {key: sk-static-disabled, id: off, disabled: true}
    - {key: sk-static-gpt, id: gpt, models: [gpt-4o]}
    - {key: sk-static-rpm, id: rpm5, rpm: 5}
    - {key: sk-static-tpm, id: tpm1000, tpm: 1000}
    - {key: sk-static-conc, id: conc2, max_concurrent: 2}
    - {key: sk-static-budget, id: budget, budget_usd: 0.000008, budget_period: day}
pricing:
  gpt-4o-mini: {input: 0.15, output: 0.60}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
  - {name: anthropic, kind: anthropic, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-anthropic]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
  - {name: gpt-4o, targets: [{provider: openai}]}
  - {name: claude-3-5-haiku, targets: [{provider: anthropic}]}
`

const adminToken = "test-admin-token-0123456789"

func chat(model string) string {
	return `{"model":"` + model + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
}

func bearer(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }

func TestAuthErrors(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	tests := []struct {
		name    string
		path    string
		model   string
		headers map[string]string
		status  int
		code    string // OpenAI code or Anthropic type
		msgHas  string
	}{
		{"missing", "/v1/chat/completions", "gpt-4o-mini", nil, 401, "invalid_api_key", "Missing API key"},
		{"unknown", "/v1/chat/completions", "gpt-4o-mini", bearer("sk-nope"), 401, "invalid_api_key", "unknown or has been revoked"},
		{"expired", "/v1/chat/completions", "gpt-4o-mini", bearer("sk-static-expired"), 401, "invalid_api_key", "expired"},
		{"disabled", "/v1/chat/completions", "gpt-4o-mini", bearer("sk-static-disabled"), 401, "invalid_api_key", "disabled"},
		{"not allowed", "/v1/chat/completions", "gpt-4o", bearer("sk-static-mini"), 403, "model_not_allowed", "gpt-4o"},
		{"allowed", "/v1/chat/completions", "gpt-4o-mini", bearer("sk-static-mini"), 200, "", ""},
		{"x-api-key", "/v1/chat/completions", "gpt-4o", map[string]string{"X-Api-Key": "sk-static-all"}, 200, "", ""},
		{"api-key", "/v1/chat/completions", "gpt-4o", map[string]string{"Api-Key": "sk-static-all"}, 200, "", ""},
		{"goog", "/v1/chat/completions", "gpt-4o", map[string]string{"X-Goog-Api-Key": "sk-static-all"}, 200, "", ""},
		{"anthropic missing", "/v1/messages", "claude-3-5-haiku", nil, 401, "authentication_error", "Missing API key"},
		{"anthropic x-api-key", "/v1/messages", "claude-3-5-haiku", map[string]string{"X-Api-Key": "sk-static-all"}, 200, "", ""},
		{"anthropic not allowed", "/v1/messages", "claude-3-5-haiku", map[string]string{"X-Api-Key": "sk-static-gpt"}, 403, "permission_error", "claude-3-5-haiku"},
		{"anthropic expired", "/v1/messages", "claude-3-5-haiku", map[string]string{"X-Api-Key": "sk-static-expired"}, 401, "authentication_error", "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := s.post(t, tt.path, chat(tt.model), tt.headers)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" && (!strings.Contains(body, `"`+tt.code+`"`) || !strings.Contains(body, tt.msgHas)) {
				t.Fatalf("body %s lacks %q / %q", body, tt.code, tt.msgHas)
			}
		})
	}
	// The request never reached the upstream for a refused key.
	for _, e := range s.mock.Journal() {
		if strings.Contains(e.Body, "sk-nope") || e.Headers["authorization"] == "Bearer sk-nope" {
			t.Fatal("a refused key reached the upstream")
		}
	}
}

// admin sends an admin API request and decodes the JSON reply into out.
func (s *stack) admin(t *testing.T, method, path, body, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s.adminOutput.WriteString(string(b))
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type keyObject struct {
	ID       string   `json:"id"`
	Key      string   `json:"key"`
	Prefix   string   `json:"prefix"`
	Models   []string `json:"models"`
	Revoked  bool     `json:"revoked"`
	RPM      int64    `json:"rpm"`
	Priority string   `json:"priority"`
}

func TestAdminKeyLifecycle(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	var errBody openAIError
	if st := s.admin(t, "GET", "/admin/v1/keys", "", "", &errBody); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	if st := s.admin(t, "GET", "/admin/v1/keys", "", "wrong", nil); st != 401 {
		t.Fatalf("wrong token: %d", st)
	}
	if st := s.admin(t, "POST", "/admin/v1/keys", `{"name":"x","bogus":1}`, adminToken, &errBody); st != 400 || !strings.Contains(errBody.Error.Message, "bogus") {
		t.Fatalf("unknown field: %d %+v", st, errBody)
	}

	var k keyObject
	if st := s.admin(t, "POST", "/admin/v1/keys", `{"name":"app","models":["gpt-4o-mini"],"rpm":60}`, adminToken, &k); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if !strings.HasPrefix(k.Key, "sk-sluice-") || len(k.Key) < len("sk-sluice-")+43 || !strings.HasPrefix(k.Key, k.Prefix) || k.RPM != 60 ||
		k.Priority != "normal" {
		t.Fatalf("created key %+v", k)
	}
	created := []string{k.Key}
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer(k.Key)); resp.StatusCode != 200 {
		t.Fatalf("new key refused: %d %s", resp.StatusCode, body)
	}

	var got keyObject
	if st := s.admin(t, "GET", "/admin/v1/keys/"+k.ID, "", adminToken, &got); st != 200 || got.Key != "" || got.ID != k.ID {
		t.Fatalf("get: %d %+v", st, got)
	}
	var list struct {
		Data       []keyObject `json:"data"`
		NextCursor string      `json:"next_cursor"`
	}
	if st := s.admin(t, "GET", "/admin/v1/keys?limit=2", "", adminToken, &list); st != 200 || len(list.Data) != 2 || list.NextCursor == "" {
		t.Fatalf("list page: %d %+v", st, list)
	}

	// A priority other than normal or high is a 400 naming the field.
	if st := s.admin(t, "PATCH", "/admin/v1/keys/"+k.ID, `{"priority":"urgent"}`, adminToken, &errBody); st != 400 ||
		errBody.Error.Param == nil || *errBody.Error.Param != "priority" || !strings.Contains(errBody.Error.Message, `must be "normal" or "high"`) {
		t.Fatalf("bad priority: %d %+v", st, errBody)
	}

	// PATCH narrows the allowlist: effective at once on this instance.
	if st := s.admin(t, "PATCH", "/admin/v1/keys/"+k.ID, `{"models":["gpt-4o"],"priority":"high"}`, adminToken, &got); st != 200 ||
		got.Priority != "high" {
		t.Fatalf("patch: %d %+v", st, got)
	}
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer(k.Key)); resp.StatusCode != 403 {
		t.Fatalf("after patch: %d, want 403", resp.StatusCode)
	}

	// Rotation invalidates the old secret at once.
	var rot keyObject
	if st := s.admin(t, "POST", "/admin/v1/keys/"+k.ID+"/rotate", "", adminToken, &rot); st != 200 || rot.Key == "" || rot.Key == k.Key {
		t.Fatalf("rotate: %d %+v", st, rot)
	}
	created = append(created, rot.Key)
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer(k.Key)); resp.StatusCode != 401 {
		t.Fatalf("old secret after rotation: %d", resp.StatusCode)
	}
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer(rot.Key)); resp.StatusCode != 200 {
		t.Fatalf("new secret after rotation: %d", resp.StatusCode)
	}

	// Revocation: 204, GET shows revoked, the key reads as unknown.
	if st := s.admin(t, "DELETE", "/admin/v1/keys/"+k.ID, "", adminToken, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := s.admin(t, "GET", "/admin/v1/keys/"+k.ID, "", adminToken, &got); st != 200 || !got.Revoked {
		t.Fatalf("after delete: %d %+v", st, got)
	}
	resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer(rot.Key))
	if resp.StatusCode != 401 || !strings.Contains(body, "unknown or has been revoked") {
		t.Fatalf("revoked key: %d %s", resp.StatusCode, body)
	}

	// Static keys are read-only; unknown ids are 404.
	if st := s.admin(t, "PATCH", "/admin/v1/keys/all", `{"rpm":1}`, adminToken, nil); st != 409 {
		t.Fatalf("patch static: %d", st)
	}
	if st := s.admin(t, "GET", "/admin/v1/keys/key_nope", "", adminToken, nil); st != 404 {
		t.Fatalf("unknown id: %d", st)
	}

	var audit struct {
		Data []struct {
			Action string `json:"action"`
			KeyID  string `json:"key_id"`
		} `json:"data"`
	}
	if st := s.admin(t, "GET", "/admin/v1/audit?key_id="+k.ID, "", adminToken, &audit); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	var actions []string
	for _, e := range audit.Data {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "revoke,rotate,update,create" {
		t.Fatalf("audit actions %v", actions)
	}

	// No secret anywhere but in the create and rotate replies.
	logs := s.logs.String()
	others := strings.ReplaceAll(strings.ReplaceAll(s.adminOutput.String(), `"key":"`+k.Key+`"`, ""), `"key":"`+rot.Key+`"`, "")
	for _, secret := range append(created, adminToken, "sk-static-all", "sk-static-mini") {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret appears in the logs")
		}
		if strings.Contains(others, secret) {
			t.Errorf("a secret appears in an admin reply other than create/rotate")
		}
	}
}

func TestModelsAndKeyForAKey(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest("GET", s.url+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/v1/models", ""); st != 401 {
		t.Fatalf("models without a key: %d", st)
	}
	st, body := get("/v1/models", "sk-static-mini")
	if st != 200 || !strings.Contains(body, `"gpt-4o-mini"`) || strings.Contains(body, `"gpt-4o"`) {
		t.Fatalf("models for mini key: %d %s", st, body)
	}
	st, body = get("/v1/key", "sk-static-mini")
	var kv struct {
		ID     string   `json:"id"`
		Models []string `json:"models"`
	}
	if st != 200 || json.Unmarshal([]byte(body), &kv) != nil || kv.ID != "mini" || len(kv.Models) != 2 {
		t.Fatalf("GET /v1/key: %d %s", st, body)
	}
	if strings.Contains(body, "sk-static-mini") {
		t.Fatal("GET /v1/key echoes the secret")
	}

	// The key's priority: normal unless set.
	var high keyObject
	if st := s.admin(t, "POST", "/admin/v1/keys", `{"name":"vip","priority":"high"}`, adminToken, &high); st != 201 {
		t.Fatalf("create a high key: %d", st)
	}
	for key, want := range map[string]string{"sk-static-mini": "normal", high.Key: "high"} {
		var pv struct {
			Priority string `json:"priority"`
		}
		if st, body := get("/v1/key", key); st != 200 || json.Unmarshal([]byte(body), &pv) != nil || pv.Priority != want {
			t.Errorf("GET /v1/key priority: %d %s, want %q", st, body, want)
		}
	}
}

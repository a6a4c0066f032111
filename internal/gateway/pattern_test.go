package gateway_test

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
)

// patternConfig serves Claude models through patterns, the way agent CLIs
// and SDKs ask for them (names nobody listed in advance): "claude-*" has a
// target without a model, so the requested name goes upstream as is;
// "claude-opus-4-1*" pins one; "claude-3-5-haiku" is an exact name.
const patternConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: test-admin-token-0123456789}
auth:
  enabled: true
  keys:
    - {key: sk-pat-all, id: all}
    - {key: sk-pat-claude, id: claude, models: ["claude-*"]}
    - {key: sk-pat-mini, id: mini, models: [gpt-4o-mini]}
telemetry:
  enabled: true
  flush_interval: 10ms
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
  - {name: anthropic, kind: anthropic, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-anthropic]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
  - {name: "claude-*", targets: [{provider: anthropic}]}
  - {name: "claude-opus-4-1*", targets: [{provider: anthropic, model: claude-opus-4-1-20250805}]}
  - {name: claude-3-5-haiku, targets: [{provider: anthropic, model: claude-3-5-haiku-latest}]}
`

func anthropicKey(k string) map[string]string {
	return map[string]string{"X-Api-Key": k, "Anthropic-Version": "2023-06-01"}
}

func TestModelPatternRequests(t *testing.T) {
	s := newStackYAML(t, nil, patternConfig)
	tests := []struct {
		name, path, model string
		headers           map[string]string
		status            int
		upstream, target  string // the model the mock received, x-sluice-target
	}{
		{"pattern forwards the name", "/v1/messages", "claude-opus-4-8", anthropicKey("sk-pat-all"), 200, "claude-opus-4-8", "anthropic/claude-*"},
		{"longest prefix wins", "/v1/messages", "claude-opus-4-1-thinking", anthropicKey("sk-pat-all"), 200, "claude-opus-4-1-20250805", "anthropic/claude-opus-4-1-20250805"},
		{"exact beats pattern", "/v1/messages", "claude-3-5-haiku", anthropicKey("sk-pat-all"), 200, "claude-3-5-haiku-latest", "anthropic/claude-3-5-haiku-latest"},
		{"provider/model before pattern", "/v1/messages", "anthropic/claude-sonnet-4-5", anthropicKey("sk-pat-all"), 200, "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"},
		{"allowlist pattern allows", "/v1/messages", "claude-haiku-4-5", anthropicKey("sk-pat-claude"), 200, "claude-haiku-4-5", "anthropic/claude-*"},
		{"allowlist pattern refuses", "/v1/chat/completions", "gpt-4o-mini", bearer("sk-pat-claude"), 403, "", ""},
		{"exact allowlist refuses a pattern's name", "/v1/messages", "claude-opus-4-8", anthropicKey("sk-pat-mini"), 403, "", ""},
		{"no pattern matches", "/v1/messages", "nope", anthropicKey("sk-pat-all"), 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.mock.Journal())
			resp, body := s.post(t, tt.path, chat(tt.model), tt.headers)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.upstream == "" {
				if n := len(s.mock.Journal()); n != before {
					t.Errorf("a refused request reached the upstream")
				}
				return
			}
			var sent struct{ Model string }
			if err := json.Unmarshal([]byte(s.lastUpstream(t, tt.path).Body), &sent); err != nil {
				t.Fatal(err)
			}
			if sent.Model != tt.upstream {
				t.Errorf("upstream got model %q, want %q", sent.Model, tt.upstream)
			}
			if got := resp.Header.Get("X-Sluice-Target"); got != tt.target {
				t.Errorf("x-sluice-target %q, want %q", got, tt.target)
			}
			if !strings.Contains(body, `"model":"`+tt.upstream+`"`) {
				t.Errorf("reply %s", body)
			}
		})
	}

	t.Run("request log", func(t *testing.T) {
		resp, body := s.post(t, "/v1/messages", chat("claude-opus-4-8"), anthropicKey("sk-pat-all"))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		rows := waitLogs(t, s, "request_id="+resp.Header.Get("X-Request-Id"), 1)
		if len(rows) != 1 || rows[0].Model != "claude-opus-4-8" || rows[0].UpstreamModel != "claude-opus-4-8" || rows[0].Provider != "anthropic" {
			t.Errorf("rows %+v", rows)
		}
		if !strings.Contains(s.logs.String(), "model=claude-opus-4-8 provider=anthropic upstream_model=claude-opus-4-8") {
			t.Errorf("access log has no line for the pattern request")
		}
	})

	t.Run("metrics are labelled by the pattern", func(t *testing.T) {
		if v := scrape(t, s, `sluice_requests_total{key_id="",model="claude-*",provider="anthropic",status_class="2xx"}`); v < 1 {
			t.Errorf("requests by the pattern's label: %v", v)
		}
		// ("anthropic/claude-sonnet-4-5" has labels of its own, as every
		// provider/model name does up to maxDynamicTargets.)
		_, text := getPath(t, s, "/metrics", nil)
		for _, name := range []string{"claude-opus-4-8", "claude-haiku-4-5", "claude-opus-4-1-thinking"} {
			if strings.Contains(text, name) {
				t.Errorf("a requested name became a label: %q in /metrics", name)
			}
		}
	})
}

func TestModelPatternModels(t *testing.T) {
	s := newStackYAML(t, nil, patternConfig)
	type list struct{ Data []struct{ ID string } }
	ids := func(t *testing.T, key string) string {
		t.Helper()
		code, body := getPath(t, s, "/v1/models", bearer(key))
		var l list
		if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil {
			t.Fatalf("GET /v1/models %d %s", code, body)
		}
		var out []string
		for _, m := range l.Data {
			out = append(out, m.ID)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	if got := ids(t, "sk-pat-all"); got != "claude-3-5-haiku,gpt-4o-mini" {
		t.Errorf("listed %s: patterns must not be listed", got)
	}
	if got := ids(t, "sk-pat-claude"); got != "claude-3-5-haiku" {
		t.Errorf("listed for a claude-* key: %s", got)
	}

	for _, tt := range []struct {
		id, key string
		status  int
		owner   string
	}{
		{"claude-opus-4-8", "sk-pat-all", 200, "anthropic"},
		{"claude-opus-4-8", "sk-pat-claude", 200, "anthropic"},
		{"claude-3-5-haiku", "sk-pat-all", 200, "anthropic"},
		{"gpt-4o-mini", "sk-pat-all", 200, "openai"},
		{"nope", "sk-pat-all", 404, ""},
		{"claude-opus-4-8", "sk-pat-mini", 404, ""}, // not on the key's allowlist
		{"gpt-4o-mini", "sk-pat-claude", 404, ""},
	} {
		t.Run(tt.id+" "+tt.key, func(t *testing.T) {
			code, body := getPath(t, s, "/v1/models/"+tt.id, bearer(tt.key))
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			var m struct {
				ID      string `json:"id"`
				OwnedBy string `json:"owned_by"`
			}
			if tt.status == 200 && (json.Unmarshal([]byte(body), &m) != nil || m.ID != tt.id || m.OwnedBy != tt.owner) {
				t.Errorf("model %s, want id %q owned by %q", body, tt.id, tt.owner)
			}
			if tt.status == 404 && !strings.Contains(body, `"model_not_found"`) {
				t.Errorf("404 in OpenAI's shape expected: %s", body)
			}
		})
	}

	// Claude Code and the Anthropic SDK ask for the model they will use.
	c := anthropic.NewClient(aoption.WithBaseURL(s.url), aoption.WithAPIKey("sk-pat-claude"), aoption.WithMaxRetries(0))
	m, err := c.Models.Get(testCtx(t), "claude-opus-4-8", anthropic.ModelGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "claude-opus-4-8" || m.Type != "model" {
		t.Errorf("model %s", m.RawJSON())
	}
	_, err = c.Models.Get(testCtx(t), "nope", anthropic.ModelGetParams{})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Type() != "not_found_error" {
		t.Errorf("unknown model: %v", err)
	}
	msg, err := c.Messages.New(testCtx(t), anthropic.MessageNewParams{
		Model: "claude-opus-4-8", MaxTokens: 5,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Model != "claude-opus-4-8" {
		t.Errorf("reply model %q", msg.Model)
	}
	noModelsUpstream(t, s)
}

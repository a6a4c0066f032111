package gateway_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
)

// noModelsUpstream fails the test when any request for a models path reached
// the mock: GET /v1/models and /v1/models/{id} are answered by the gateway.
func noModelsUpstream(t *testing.T, s *stack) {
	t.Helper()
	for _, e := range s.mock.Journal() {
		if strings.HasPrefix(e.Path, "/v1/models") {
			t.Errorf("%s %s reached the upstream", e.Method, e.Path)
		}
	}
}

func TestModelsOpenAISDK(t *testing.T) {
	s := newStack(t, nil)
	c := openaiClient(s)
	page, err := c.Models.List(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]openai.Model{}
	for _, m := range page.Data {
		listed[m.ID] = m
	}
	tests := []struct {
		id, owner string
		listed    bool
	}{
		{"gpt-4o-mini", "openai", true},
		{"claude-3-5-haiku", "anthropic", true},
		{"text-embedding-3-small", "openai", true},
		{"openai/gpt-4.1-nano", "openai", false}, // provider/model resolves like a request's model
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			m, err := c.Models.Get(testCtx(t), tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != tt.id || m.Object != "model" || m.OwnedBy != tt.owner || m.Created <= 0 {
				t.Fatalf("model %+v, want id %q owned by %q", m, tt.id, tt.owner)
			}
			if l, ok := listed[tt.id]; ok != tt.listed || ok && (l.Created != m.Created || l.OwnedBy != m.OwnedBy) {
				t.Errorf("GET /v1/models has %+v (listed %v), GET /v1/models/{id} %+v", l, ok, m)
			}
		})
	}
	for _, id := range []string{"gpt-5-nope", "nope/gpt-4o-mini", "openai/", "gpt-4o-mini/extra"} {
		t.Run("unknown "+id, func(t *testing.T) {
			_, err := c.Models.Get(testCtx(t), id)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err %v, want an API error", err)
			}
			if apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Type != "invalid_request_error" ||
				apiErr.Param != "model" || !strings.Contains(apiErr.Message, "GET /v1/models") {
				t.Fatalf("error %d %s", apiErr.StatusCode, apiErr.RawJSON())
			}
		})
	}
	noModelsUpstream(t, s)
}

func TestModelsAnthropicSDK(t *testing.T) {
	s := newStack(t, nil)
	c := anthropicClient(s)
	page, err := c.Models.List(testCtx(t), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	listed := map[string]anthropic.ModelInfo{}
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		listed[m.ID] = m
		if m.Type != "model" || m.DisplayName != m.ID || m.CreatedAt.IsZero() {
			t.Errorf("listed model %s", m.RawJSON())
		}
	}
	want := []string{"broken", "claude-3-5-haiku", "gpt-4o-mini", "text-embedding-3-small"}
	sort.Strings(ids)
	if strings.Join(ids, ",") != strings.Join(want, ",") || page.HasMore ||
		page.FirstID != page.Data[0].ID || page.LastID != page.Data[len(page.Data)-1].ID {
		t.Fatalf("list %s", page.RawJSON())
	}
	for _, id := range []string{"claude-3-5-haiku", "gpt-4o-mini", "anthropic/claude-sonnet-4-5"} {
		t.Run(id, func(t *testing.T) {
			m, err := c.Models.Get(testCtx(t), id, anthropic.ModelGetParams{})
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != id || m.Type != "model" || m.DisplayName != id || m.CreatedAt.IsZero() {
				t.Fatalf("model %s", m.RawJSON())
			}
			if l, ok := listed[id]; ok && !l.CreatedAt.Equal(m.CreatedAt) {
				t.Errorf("created_at %v listed, %v alone", l.CreatedAt, m.CreatedAt)
			}
		})
	}
	for _, id := range []string{"claude-nope", "nope/claude-3-5-haiku"} {
		t.Run("unknown "+id, func(t *testing.T) {
			_, err := c.Models.Get(testCtx(t), id, anthropic.ModelGetParams{})
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err %v, want an API error", err)
			}
			if apiErr.StatusCode != 404 || apiErr.Type() != "not_found_error" || !strings.Contains(apiErr.RawJSON(), `"type":"error"`) {
				t.Fatalf("error %d %s", apiErr.StatusCode, apiErr.RawJSON())
			}
		})
	}
	noModelsUpstream(t, s)
}

// getModels sends GET path with headers and returns status and body.
func getPath(t *testing.T, s *stack, path string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("GET %s: no x-request-id", path)
	}
	return resp.StatusCode, string(b)
}

// shapeOf names a reply body's shape by its top-level keys.
func shapeOf(t *testing.T, body string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

const (
	shapeOpenAIList     = "data,object"
	shapeAnthropicList  = "data,first_id,has_more,last_id"
	shapeOpenAIModel    = "created,id,object,owned_by"
	shapeAnthropicModel = "created_at,display_name,id,type"
	shapeOpenAIError    = "error"
	shapeAnthropicError = "error,type"
)

func TestModelsForAKey(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	anth := func(key string) map[string]string {
		h := map[string]string{"Anthropic-Version": "2023-06-01"}
		if key != "" {
			h["X-Api-Key"] = key
		}
		return h
	}
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		status  int
		shape   string
		has     string // in the body
		hasNot  string
	}{
		{"list no key", "/v1/models", nil, 401, shapeOpenAIError, `"invalid_api_key"`, ""},
		{"list no key anthropic", "/v1/models", anth(""), 401, shapeAnthropicError, `"authentication_error"`, ""},
		{"list x-api-key only", "/v1/models", map[string]string{"X-Api-Key": "sk-static-mini"}, 200, shapeAnthropicList, `"claude-3-5-haiku"`, `"gpt-4o"`},
		{"list anthropic", "/v1/models", anth("sk-static-all"), 200, shapeAnthropicList, `"gpt-4o"`, ""},
		{"list bearer", "/v1/models", bearer("sk-static-mini"), 200, shapeOpenAIList, `"gpt-4o-mini"`, `"gpt-4o"`},
		{"get no key", "/v1/models/gpt-4o-mini", nil, 401, shapeOpenAIError, `"invalid_api_key"`, ""},
		{"get no key anthropic", "/v1/models/gpt-4o-mini", anth(""), 401, shapeAnthropicError, `"authentication_error"`, ""},
		{"get expired", "/v1/models/gpt-4o-mini", bearer("sk-static-expired"), 401, shapeOpenAIError, "expired", ""},
		{"get allowed", "/v1/models/gpt-4o-mini", bearer("sk-static-mini"), 200, shapeOpenAIModel, `"gpt-4o-mini"`, ""},
		{"get allowed anthropic", "/v1/models/claude-3-5-haiku", anth("sk-static-mini"), 200, shapeAnthropicModel, `"claude-3-5-haiku"`, ""},
		// Outside the key's allowlist: 404 like an unknown model, with the
		// same message, so a key cannot probe for models it may not use.
		{"get not allowed", "/v1/models/gpt-4o", bearer("sk-static-mini"), 404, shapeOpenAIError, `"model_not_found"`, "gpt-4o-mini"},
		{"get unknown", "/v1/models/gpt-nope", bearer("sk-static-mini"), 404, shapeOpenAIError, `"model_not_found"`, ""},
		{"get not allowed anthropic", "/v1/models/gpt-4o", anth("sk-static-mini"), 404, shapeAnthropicError, `"not_found_error"`, ""},
		{"get provider/model outside allowlist", "/v1/models/openai/gpt-4o-mini", bearer("sk-static-mini"), 404, shapeOpenAIError, `"model_not_found"`, ""},
		{"get provider/model", "/v1/models/openai/gpt-4o-mini", bearer("sk-static-all"), 200, shapeOpenAIModel, `"owned_by":"openai"`, ""},
		{"get escaped provider/model", "/v1/models/anthropic%2Fclaude-3-7", anth("sk-static-all"), 200, shapeAnthropicModel, `"id":"anthropic/claude-3-7"`, ""},
		{"get empty id", "/v1/models/", bearer("sk-static-all"), 404, shapeOpenAIError, `"model_not_found"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := getPath(t, s, tt.path, tt.headers)
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			if got := shapeOf(t, body); got != tt.shape {
				t.Fatalf("shape %s, want %s: %s", got, tt.shape, body)
			}
			if !strings.Contains(body, tt.has) || tt.hasNot != "" && strings.Contains(body, tt.hasNot) {
				t.Fatalf("body %s: want %s, not %q", body, tt.has, tt.hasNot)
			}
			if strings.Contains(body, "sk-static") {
				t.Fatalf("body echoes a key: %s", body)
			}
		})
	}
	// A model outside the allowlist and an unknown one read the same.
	_, notAllowed := getPath(t, s, "/v1/models/gpt-4o", bearer("sk-static-mini"))
	_, unknown := getPath(t, s, "/v1/models/gpt-4p", bearer("sk-static-mini"))
	if strings.ReplaceAll(notAllowed, "gpt-4o", "gpt-4p") != unknown {
		t.Errorf("not allowed %s\nunknown     %s", notAllowed, unknown)
	}
	noModelsUpstream(t, s)
}

// TestModelsRequestLimits: the models routes take the same door as every
// client route, request-rate limit included.
func TestModelsRequestLimits(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	for i, path := range []string{"/v1/models", "/v1/models/gpt-4o", "/v1/models", "/v1/models/gpt-4o-mini", "/v1/models"} {
		if st, body := getPath(t, s, path, bearer("sk-static-rpm")); st != 200 {
			t.Fatalf("request %d %s: %d %s", i+1, path, st, body)
		}
	}
	st, body := getPath(t, s, "/v1/models/gpt-4o", map[string]string{"X-Api-Key": "sk-static-rpm"})
	if st != 429 || shapeOf(t, body) != shapeAnthropicError || !strings.Contains(body, `"rate_limit_error"`) {
		t.Fatalf("sixth request: %d %s", st, body)
	}
	noModelsUpstream(t, s)
}

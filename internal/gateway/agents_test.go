package gateway_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Agent CLIs through examples/providers.yaml: their default model names
// reach a vendor through the claude-* and gpt-* patterns, with no line of
// config per name, in their own format or translated. The bodies are the
// shape Claude Code and Codex send (system blocks with cache breakpoints,
// tools, thinking, metadata; Responses with instructions, reasoning and
// store false), streamed as both always stream.

func providersStack(t *testing.T) *stack {
	t.Helper()
	yaml, err := os.ReadFile("../../examples/providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return newStackYAML(t, map[string]string{"SLUICE_DATA_DIR": t.TempDir()},
		strings.ReplaceAll(string(yaml), "${SLUICE_UPSTREAM:-http://127.0.0.1:9000}", "${UPSTREAM}"))
}

const claudeCodeBody = `{"model":%q,"max_tokens":32000,"stream":true,
 "system":[{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."},
           {"type":"text","text":"Use the tools to help the user.","cache_control":{"type":"ephemeral"}}],
 "messages":[{"role":"user","content":[{"type":"text","text":"list the files","cache_control":{"type":"ephemeral"}}]}],
 "tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}},
          {"name":"Read","description":"Read a file","input_schema":{"type":"object","properties":{"file_path":{"type":"string"}},"required":["file_path"]},"cache_control":{"type":"ephemeral"}}],
 "thinking":{"type":"enabled","budget_tokens":4096},
 "metadata":{"user_id":"user_abc_account_def_session_123"}}`

const codexBody = `{"model":%q,"instructions":"You are Codex, a coding agent.","stream":true,"store":false,
 "input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"sandbox: workspace-write"}]},
          {"type":"message","role":"user","content":[{"type":"input_text","text":"fix the failing test"}]}],
 "tools":[{"type":"function","name":"shell","description":"Runs a shell command","strict":false,
           "parameters":{"type":"object","properties":{"command":{"type":"array","items":{"type":"string"}}},"required":["command"]}}],
 "tool_choice":"auto","parallel_tool_calls":false,
 "reasoning":{"effort":"medium","summary":"auto"},"include":["reasoning.encrypted_content"],"prompt_cache_key":"sess-1"}`

func sprintfBody(format, model string) string {
	b, _ := json.Marshal(model)
	return strings.Replace(format, "%q", string(b), 1)
}

func TestAgentCLIsThroughPatterns(t *testing.T) {
	s := providersStack(t)
	// GET /v1/models lists every public model of the example, of every
	// kind, and no pattern.
	req, _ := http.NewRequest("GET", s.url+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+confKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if err != nil || strings.Join(ids, ",") != "gpt-4o-mini,azure-gpt-4o-mini,claude-3-5-haiku,gemini-2.0-flash,bedrock-claude-3-5-haiku" {
		t.Errorf("GET /v1/models: %v %v", ids, err)
	}
	claudeHeaders := map[string]string{"x-api-key": confKey, "anthropic-version": "2023-06-01",
		"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"}
	codexHeaders := map[string]string{"Authorization": "Bearer " + confKey}
	for _, tc := range []struct {
		name, path, body string
		headers          map[string]string
		upstreamPath     string // where the mock must see it
		upstreamModel    string
		wantEvent        string // an event of the caller's stream format
	}{
		{"claude code, default model", "/v1/messages", sprintfBody(claudeCodeBody, "claude-opus-4-8"), claudeHeaders,
			"/v1/messages", "claude-opus-4-8", "event: message_stop"},
		{"claude code on a GPT model", "/v1/messages", sprintfBody(claudeCodeBody, "gpt-5.5"), claudeHeaders,
			"/v1/chat/completions", "gpt-5.5", "event: message_stop"},
		{"codex, default model", "/v1/responses", sprintfBody(codexBody, "gpt-5.5-codex"), codexHeaders,
			"/v1/responses", "gpt-5.5-codex", "event: response.completed"},
		{"codex on a Claude model", "/v1/responses", sprintfBody(codexBody, "claude-opus-4-8"), codexHeaders,
			"/v1/messages", "claude-opus-4-8", "event: response.completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.post(t, tc.path, tc.body, tc.headers)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if !strings.Contains(body, tc.wantEvent) {
				t.Errorf("the stream has no %q:\n%s", tc.wantEvent, body)
			}
			e := s.lastUpstream(t, tc.upstreamPath)
			var up struct {
				Model string `json:"model"`
			}
			if err := json.Unmarshal([]byte(e.Body), &up); err != nil || up.Model != tc.upstreamModel {
				t.Errorf("upstream model %q (%v), want %q", up.Model, err, tc.upstreamModel)
			}
			if tc.upstreamPath == "/v1/messages" && tc.path == "/v1/messages" {
				if e.Body != tc.body {
					t.Errorf("same format: the body changed on the way")
				}
				if e.Headers["anthropic-beta"] != tc.headers["anthropic-beta"] {
					t.Errorf("anthropic-beta %q was not forwarded", e.Headers["anthropic-beta"])
				}
			}
			if tc.upstreamPath == "/v1/messages" && tc.path != "/v1/messages" && !strings.Contains(e.Body, `"max_tokens"`) {
				t.Errorf("translated to Anthropic without max_tokens: %s", e.Body)
			}
		})
	}
}

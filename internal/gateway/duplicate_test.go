package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDuplicateKeysRefused: a key Sluice reads, sent twice, is a 400 naming
// it in the caller's format, and nothing reaches the upstream (issue #15:
// {"model":"gpt-4o-EXPENSIVE","model":"gpt-4o-mini"} was authorized and
// priced as the last copy but forwarded with both). The guardrails are on:
// the refusal comes before their scan, so they and the upstream never read
// different copies of "messages".
func TestDuplicateKeysRefused(t *testing.T) {
	s := newStackYAML(t, nil, guardConfig)
	openai := bearer("sk-plain")
	anthropic := map[string]string{"x-api-key": "sk-plain", "anthropic-version": "2023-06-01"}
	tests := []struct {
		name, path, body string
		headers          map[string]string
		param            string
	}{
		{"chat model", "/v1/chat/completions",
			`{"model":"gpt-4o-EXPENSIVE","model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, openai, "model"},
		{"chat escaped model", "/v1/chat/completions",
			`{"model":"gpt-4o-EXPENSIVE","m\u006fdel":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, openai, "model"},
		{"chat messages", "/v1/chat/completions",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"messages":[{"role":"user","content":"hi"}]}`, openai, "messages"},
		{"chat include_usage", "/v1/chat/completions",
			`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true,"include_usage":false},"messages":[{"role":"user","content":"hi"}]}`,
			openai, "stream_options.include_usage"},
		{"responses tools", "/v1/responses",
			`{"model":"gpt-4o-mini","input":"hi","tools":[],"tools":[]}`, openai, "tools"},
		{"messages model", "/v1/messages",
			`{"model":"claude-3-5-EXPENSIVE","model":"claude-3-5-haiku","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, anthropic, "model"},
		{"messages system", "/v1/messages",
			`{"model":"claude-3-5-haiku","max_tokens":5,"system":"a","system":"b","messages":[{"role":"user","content":"hi"}]}`, anthropic, "system"},
		{"messages max_tokens", "/v1/messages",
			`{"model":"claude-3-5-haiku","max_tokens":5,"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}`, anthropic, "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.mock.Journal())
			resp, body := s.post(t, tt.path, tt.body, tt.headers)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			want := "field " + tt.param + " appears more than once"
			if tt.path == "/v1/messages" {
				var e anthropicError
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "error" ||
					e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, want) {
					t.Errorf("not an Anthropic invalid_request_error naming %s: %s", tt.param, body)
				}
			} else {
				var e openAIError
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "invalid_request" ||
					e.Error.Param == nil || *e.Error.Param != tt.param || !strings.Contains(e.Error.Message, want) {
					t.Errorf("not an OpenAI invalid_request with param %s: %s", tt.param, body)
				}
			}
			if strings.Contains(body, "EXPENSIVE") {
				t.Errorf("the error echoes a value: %s", body)
			}
			if n := len(s.mock.Journal()); n != before {
				t.Errorf("the upstream got %d requests", n-before)
			}
		})
	}
	// A key Sluice does not read may repeat: the upstream decides.
	resp, body := s.post(t, "/v1/chat/completions",
		`{"model":"gpt-4o-mini","temperature":1,"temperature":0,"messages":[{"role":"user","content":"hi"}]}`, openai)
	if resp.StatusCode != 200 {
		t.Errorf("repeated temperature: status %d: %s", resp.StatusCode, body)
	}
}

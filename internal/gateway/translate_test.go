package gateway_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// An upstream's error reaches a client of another format in the client's
// own error shape, with the upstream's status, so that its SDK raises its
// typed error.
func TestTranslatedUpstreamErrors(t *testing.T) {
	// A stack each: repeated failures would cool the target down.
	for _, status := range []string{"429", "529", "400"} {
		oc := openaiClient(newStack(t, nil))
		_, err := oc.Chat.Completions.New(testCtx(t), openai.ChatCompletionNewParams{
			Model:    "claude-3-5-haiku",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		}, option.WithHeader("X-Mock-Status", status))
		var oe *openai.Error
		if !errors.As(err, &oe) {
			t.Fatalf("openai client, anthropic %s: %v, want an *openai.Error", status, err)
		}
		if got := oe.StatusCode; itoaTest(got) != status {
			t.Errorf("openai client, anthropic %s: status %d", status, got)
		}
		if oe.Message == "" || oe.Type == "" {
			t.Errorf("openai client, anthropic %s: no error body in OpenAI's shape: %s", status, oe.RawJSON())
		}
		if status == "429" && oe.Code != "rate_limit_exceeded" {
			t.Errorf("openai client, anthropic 429: code %q, want rate_limit_exceeded", oe.Code)
		}
	}

	for _, tc := range []struct {
		status, typ string
	}{{"429", "rate_limit_error"}, {"503", "overloaded_error"}, {"401", "authentication_error"}} {
		ac := anthropicClient(newStack(t, nil))
		_, err := ac.Messages.New(testCtx(t), anthropic.MessageNewParams{
			Model: "gpt-4o-mini", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		}, aoption.WithHeader("X-Mock-Status", tc.status))
		var ae *anthropic.Error
		if !errors.As(err, &ae) {
			t.Fatalf("anthropic client, openai %s: %v, want an *anthropic.Error", tc.status, err)
		}
		if itoaTest(ae.StatusCode) != tc.status || !strings.Contains(ae.RawJSON(), `"type":"`+tc.typ+`"`) {
			t.Errorf("anthropic client, openai %s: status %d, body %s; want type %s", tc.status, ae.StatusCode, ae.RawJSON(), tc.typ)
		}
	}
}

func itoaTest(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// What a target of another format cannot do is refused with 400 in the
// caller's format, naming why; nothing reaches the upstream.
func TestTranslationRefusals(t *testing.T) {
	s := newStack(t, nil)
	for _, tc := range []struct {
		name, path, body, want string
	}{
		{"previous_response_id to Anthropic", "/v1/responses",
			`{"model":"claude-3-5-haiku","input":"hi","previous_response_id":"resp_1"}`, "previous_response_id"},
		{"store to Anthropic", "/v1/responses",
			`{"model":"claude-3-5-haiku","input":"hi","store":true}`, "store: false"},
		{"embeddings from Anthropic", "/v1/embeddings",
			`{"model":"claude-3-5-haiku","input":"hi"}`, "cannot serve embeddings"},
		{"count_tokens to OpenAI", "/v1/messages/count_tokens",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, "cannot serve count_tokens"},
		{"n > 1 to Anthropic", "/v1/chat/completions",
			`{"model":"claude-3-5-haiku","n":2,"messages":[{"role":"user","content":"hi"}]}`, "n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.post(t, tc.path, tc.body, map[string]string{"Authorization": "Bearer x"})
			if resp.StatusCode != 400 || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %s; want 400 naming %q", resp.StatusCode, body, tc.want)
			}
			if strings.HasPrefix(tc.path, "/v1/messages") && !strings.Contains(body, `"type":"error"`) {
				t.Errorf("not in Anthropic's shape: %s", body)
			}
		})
	}
}

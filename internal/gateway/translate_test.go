package gateway_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
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
		if got := oe.StatusCode; strconv.Itoa(got) != status {
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
		if strconv.Itoa(ae.StatusCode) != tc.status || !strings.Contains(ae.RawJSON(), `"type":"`+tc.typ+`"`) {
			t.Errorf("anthropic client, openai %s: status %d, body %s; want type %s", tc.status, ae.StatusCode, ae.RawJSON(), tc.typ)
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

// A model whose OpenAI target fails falls back to a model served in
// another format; the client, of either format, never notices.
func TestFallbackAcrossFormats(t *testing.T) {
	s := newStackYAML(t, nil, `
server:
  listen: 127.0.0.1:0
providers:
  - name: dead
    kind: openai
    base_url: http://127.0.0.1:${DEAD_PORT}/v1
    timeouts: {connect: 1s}
  - name: anthropic
    kind: anthropic
    base_url: ${UPSTREAM}/v1
  - name: bedrock
    kind: bedrock
    region: us-east-1
    base_url: ${UPSTREAM}
    access_key_id: AKIAMOCKMOCKMOCKMOCK
    secret_access_key: mock-secret
models:
  - name: gpt-4o-mini
    targets: [{provider: dead}]
    fallbacks: [claude, bedrock-claude]
  - name: claude
    targets: [{provider: anthropic, model: claude-3-5-haiku-latest}]
  - name: bedrock-claude
    targets: [{provider: bedrock, model: anthropic.claude-3-5-haiku-20241022-v1:0}]
  - name: only-dead
    targets: [{provider: dead}]
    fallbacks: [bedrock-claude]
`)
	oc := openaiClient(s)
	for _, stream := range []bool{false, true} {
		p := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
		var text string
		if stream {
			st := oc.Chat.Completions.NewStreaming(testCtx(t), p)
			acc := openai.ChatCompletionAccumulator{}
			for st.Next() {
				acc.AddChunk(st.Current())
			}
			if err := st.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			text = acc.Choices[0].Message.Content
		} else {
			cc, err := oc.Chat.Completions.New(testCtx(t), p)
			if err != nil {
				t.Fatal(err)
			}
			text = cc.Choices[0].Message.Content
		}
		if text == "" {
			t.Errorf("stream=%v: no text from the fallback", stream)
		}
		s.lastUpstream(t, "/v1/messages")
	}
	// An Anthropic client, whose model falls back to Bedrock.
	ac := anthropicClient(s)
	msg, err := ac.Messages.New(testCtx(t), anthropic.MessageNewParams{
		Model: "only-dead", MaxTokens: 50,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) == 0 || msg.Content[0].Text == "" {
		t.Errorf("no text from the Bedrock fallback: %+v", msg)
	}
	s.lastUpstream(t, "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse")
}

// An error event in the middle of a translated stream reaches the client
// as its own format's error: OpenAI chat's error chunk, Responses' error
// and response.failed events, with the text before it.
func TestTranslatedStreamErrorEvent(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n")
		fmt.Fprint(w, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
		fmt.Fprint(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"partial answer\"}}\n\n")
		fmt.Fprint(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
	}))
	t.Cleanup(up.Close)
	s := newStackYAML(t, map[string]string{"ANTH": up.URL}, `
server:
  listen: 127.0.0.1:0
providers:
  - {name: anthropic, kind: anthropic, base_url: "${ANTH}/v1"}
models:
  - {name: claude, targets: [{provider: anthropic}]}
`)
	_, body := s.post(t, "/v1/chat/completions", `{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if !strings.Contains(body, "partial answer") || !strings.Contains(body, `"error"`) || !strings.Contains(body, "Overloaded") {
		t.Errorf("chat stream:\n%s", body)
	}
	_, body = s.post(t, "/v1/responses", `{"model":"claude","stream":true,"input":"hi"}`, nil)
	for _, want := range []string{"partial answer", "event: error", "event: response.failed", "Overloaded"} {
		if !strings.Contains(body, want) {
			t.Errorf("responses stream has no %q:\n%s", want, body)
		}
	}
}

package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

const clientSecret = "sk-client-never-upstream-7f3a"

func openaiClient(s *stack, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{option.WithBaseURL(s.url + "/v1/"), option.WithAPIKey(clientSecret), option.WithMaxRetries(0)}
	return openai.NewClient(append(base, opts...)...)
}

func anthropicClient(s *stack, opts ...aoption.RequestOption) anthropic.Client {
	base := []aoption.RequestOption{aoption.WithBaseURL(s.url), aoption.WithAPIKey(clientSecret), aoption.WithMaxRetries(0)}
	return anthropic.NewClient(append(base, opts...)...)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenAISDKNonStream(t *testing.T) {
	s := newStack(t, nil)
	c := openaiClient(s, option.WithHeader("X-Custom-Trace", "trace-42"))
	resp, err := c.Chat.Completions.New(testCtx(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello there")},
		User:     openai.String("end-user-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("no content: %+v", resp.Choices)
	}
	if resp.Usage.PromptTokens <= 0 || resp.Usage.CompletionTokens <= 0 {
		t.Fatalf("usage missing: %+v", resp.Usage)
	}

	up := s.lastUpstream(t, "/v1/chat/completions")
	var body map[string]any
	if err := json.Unmarshal([]byte(up.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body["model"] != "gpt-4o-mini-2024-07-18" {
		t.Errorf("upstream model = %v, want the target's model", body["model"])
	}
	if body["user"] != "end-user-1" {
		t.Errorf("user not passed through unchanged: %v", body["user"])
	}
	if _, ok := body["stream_options"]; ok {
		t.Errorf("stream_options added to a non-stream request: %s", up.Body)
	}
	if got := up.Headers["authorization"]; got != "Bearer sk-provider-openai" {
		t.Errorf("upstream authorization = %q, want the provider's key", got)
	}
	if up.Headers["x-custom-trace"] != "trace-42" {
		t.Errorf("custom header not forwarded: %v", up.Headers)
	}
	for k, v := range up.Headers {
		if strings.Contains(v, clientSecret) {
			t.Errorf("client key reached the upstream in %s", k)
		}
	}
}

func TestOpenAISDKStreamHidesInjectedUsage(t *testing.T) {
	s := newStack(t, nil)
	c := openaiClient(s)
	stream := c.Chat.Completions.NewStreaming(testCtx(t), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Stream please")},
	})
	var chunks []openai.ChatCompletionChunk
	for stream.Next() {
		chunks = append(chunks, stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 3 {
		t.Fatalf("only %d chunks", len(chunks))
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("first chunk is not the role delta: %+v", chunks[0].Choices)
	}
	var text strings.Builder
	finish := ""
	for i, ch := range chunks {
		if len(ch.Choices) == 0 {
			t.Fatalf("chunk %d has no choices: the usage chunk leaked to a client that did not ask", i)
		}
		text.WriteString(ch.Choices[0].Delta.Content)
		if ch.Choices[0].FinishReason != "" {
			finish = ch.Choices[0].FinishReason
		}
	}
	if text.Len() == 0 || finish != "stop" {
		t.Errorf("text %q finish %q", text.String(), finish)
	}
	up := s.lastUpstream(t, "/v1/chat/completions")
	if !strings.Contains(up.Body, `"include_usage":true`) {
		t.Errorf("upstream was not asked for usage: %s", up.Body)
	}
	if m := scrape(t, s, `sluice_tokens_total{model="gpt-4o-mini",provider="openai",token_type="output"}`); m <= 0 {
		t.Errorf("output tokens not accounted from the hidden usage chunk: %v", m)
	}
}

func TestOpenAISDKStreamWithUsage(t *testing.T) {
	s := newStack(t, nil)
	c := openaiClient(s)
	stream := c.Chat.Completions.NewStreaming(testCtx(t), openai.ChatCompletionNewParams{
		Model:         "gpt-4o-mini",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Stream with usage")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var last openai.ChatCompletionChunk
	n := 0
	for stream.Next() {
		last = stream.Current()
		n++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(last.Choices) != 0 || last.Usage.CompletionTokens <= 0 {
		t.Fatalf("last of %d chunks is not the usage chunk: %+v", n, last)
	}
}

func TestAnthropicSDK(t *testing.T) {
	s := newStack(t, nil)
	c := anthropicClient(s)
	params := anthropic.MessageNewParams{
		Model:     "claude-3-5-haiku",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello Claude"))},
	}
	msg, err := c.Messages.New(testCtx(t), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) == 0 || msg.Content[0].Text == "" || msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens <= 0 {
		t.Fatalf("bad message: %+v", msg)
	}
	up := s.lastUpstream(t, "/v1/messages")
	if up.Headers["x-api-key"] != "sk-provider-anthropic" || up.Headers["anthropic-version"] == "" {
		t.Errorf("upstream auth headers wrong: x-api-key=%q anthropic-version=%q", up.Headers["x-api-key"], up.Headers["anthropic-version"])
	}
	if !strings.Contains(up.Body, `"claude-3-5-haiku-latest"`) {
		t.Errorf("model not rewritten: %s", up.Body)
	}

	stream := c.Messages.NewStreaming(testCtx(t), params)
	var types []string
	var text strings.Builder
	var out int64
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if ev.Type == "content_block_delta" {
			text.WriteString(ev.Delta.Text)
		}
		if ev.Type == "message_delta" {
			out = ev.Usage.OutputTokens
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	order := strings.Join(compact(types), ",")
	// The SDK swallows ping events; TestAnthropicRawStream checks they are relayed.
	want := "message_start,content_block_start,content_block_delta,content_block_stop,message_delta,message_stop"
	if order != want {
		t.Errorf("event order %s, want %s", order, want)
	}
	if text.Len() == 0 || out <= 0 {
		t.Errorf("text %q output tokens %d", text.String(), out)
	}
}

// compact collapses runs of the same event type.
func compact(types []string) []string {
	var out []string
	for _, t := range types {
		if len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}

func TestAnthropicRawStream(t *testing.T) {
	s := newStack(t, nil)
	resp, body := s.post(t, "/v1/messages", `{"model":"claude-3-5-haiku","stream":true,"max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Api-Key": clientSecret, "Anthropic-Version": "2023-06-01"})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var names []string
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, name)
		}
	}
	got := strings.Join(compact(names), ",")
	want := "message_start,content_block_start,ping,content_block_delta,content_block_stop,message_delta,message_stop"
	if got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if up := s.lastUpstream(t, "/v1/messages"); up.Headers["anthropic-version"] != "2023-06-01" {
		t.Errorf("client anthropic-version not forwarded: %q", up.Headers["anthropic-version"])
	}
}

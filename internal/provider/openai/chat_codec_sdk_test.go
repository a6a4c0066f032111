package openai

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// The official Go SDK reads what the encoders write: replies, streams
// (through its SSE decoder and ChatCompletionAccumulator) and stream
// errors.

func chatSDKReply() canon.Reply {
	return canon.Reply{
		ID: "msg_01", Model: "claude-sonnet-4-5", Created: 1700000000,
		Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "Weather first.", Signature: "sig"},
			{Kind: canon.PartText, Text: "Checking \"Paris\".\n"},
			{Kind: canon.PartToolCall, ID: "toolu_01", Name: "get_weather", Args: `{"city":"Paris"}`},
			{Kind: canon.PartToolCall, ID: "toolu_02", Name: "now", Args: ""},
		},
		Stop:  canon.Stop{Reason: canon.StopTool},
		Usage: (func() canon.Usage { u := wireUsage(1200, 57, 1000, 0); u.Reasoning = 20; return u }()),
	}
}

func TestChatSDKReply(t *testing.T) {
	r := chatSDKReply()
	body := ChatCodec().EncodeReply(nil, &r, &canon.Request{Model: "asked"})
	var cc oai.ChatCompletion
	if err := json.Unmarshal(body, &cc); err != nil {
		t.Fatalf("SDK cannot read the reply: %v\n%s", err, body)
	}
	if len(cc.Choices) != 1 {
		t.Fatalf("choices = %d", len(cc.Choices))
	}
	c := cc.Choices[0]
	m := c.Message
	if cc.ID != "msg_01" || cc.Model != "claude-sonnet-4-5" || cc.Created != 1700000000 || string(cc.Object) != "chat.completion" {
		t.Errorf("head = %q %q %d %q", cc.ID, cc.Model, cc.Created, cc.Object)
	}
	if m.Content != "Checking \"Paris\".\n" || c.FinishReason != "tool_calls" || string(m.Role) != "assistant" {
		t.Errorf("content %q, finish %q, role %q", m.Content, c.FinishReason, m.Role)
	}
	if len(m.ToolCalls) != 2 || m.ToolCalls[0].ID != "toolu_01" || m.ToolCalls[0].Function.Name != "get_weather" ||
		m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || m.ToolCalls[1].Function.Arguments != "{}" {
		t.Errorf("tool calls = %+v", m.ToolCalls)
	}
	if rc := m.JSON.ExtraFields["reasoning_content"]; !strings.Contains(rc.Raw(), "Weather first.") {
		t.Errorf("reasoning_content = %q", rc.Raw())
	}
	u := cc.Usage
	if u.PromptTokens != 1200 || u.CompletionTokens != 57 || u.TotalTokens != 1257 ||
		u.PromptTokensDetails.CachedTokens != 1000 || u.CompletionTokensDetails.ReasoningTokens != 20 {
		t.Errorf("usage = %+v", u)
	}
}

// chatSDKStream reads an SSE body as the SDK does, accumulating it.
func chatSDKStream(t *testing.T, body []byte) (oai.ChatCompletionAccumulator, int, error) {
	t.Helper()
	res := &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
	}
	stream := ssestream.NewStream[oai.ChatCompletionChunk](ssestream.NewDecoder(res), nil)
	var acc oai.ChatCompletionAccumulator
	n := 0
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("the accumulator refused chunk %d", n)
		}
		n++
	}
	return acc, n, stream.Err()
}

func TestChatSDKStream(t *testing.T) {
	r := chatSDKReply()
	// The events a decoder of another format gives for that reply.
	evs := []chatEv{{Kind: "start", ID: r.ID, Model: r.Model}}
	for i, p := range r.Parts {
		start := p
		start.Text, start.Args = "", ""
		evs = append(evs, chatEv{Kind: "part_start", Index: i, Part: &start})
		text := p.Text
		if p.Kind == canon.PartToolCall {
			text = p.Args
		}
		for len(text) > 0 { // in fragments of up to 5 bytes
			n := min(5, len(text))
			evs = append(evs, chatEv{Kind: "delta", Index: i, Text: text[:n]})
			text = text[n:]
		}
		evs = append(evs, chatEv{Kind: "part_stop", Index: i})
	}
	evs = append(evs, chatEv{Kind: "stop", Stop: &r.Stop}, chatEv{Kind: "usage", Usage: &r.Usage}, chatEv{Kind: "end"})

	for _, includeUsage := range []bool{true, false} {
		body := chatEncodeEvents(&canon.Request{Model: "asked", IncludeUsage: includeUsage}, evs)
		acc, _, err := chatSDKStream(t, body)
		if err != nil {
			t.Fatalf("include_usage %v: %v", includeUsage, err)
		}
		if acc.ID != "msg_01" || acc.Model != "claude-sonnet-4-5" || len(acc.Choices) != 1 {
			t.Fatalf("include_usage %v: accumulated %+v", includeUsage, acc.ChatCompletion)
		}
		m := acc.Choices[0].Message
		if m.Content != "Checking \"Paris\".\n" || acc.Choices[0].FinishReason != "tool_calls" {
			t.Errorf("content %q, finish %q", m.Content, acc.Choices[0].FinishReason)
		}
		if len(m.ToolCalls) != 2 || m.ToolCalls[0].ID != "toolu_01" || m.ToolCalls[0].Function.Name != "get_weather" ||
			m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || m.ToolCalls[1].ID != "toolu_02" || m.ToolCalls[1].Function.Name != "now" {
			t.Errorf("tool calls = %+v", m.ToolCalls)
		}
		u := acc.Usage
		if includeUsage {
			if u.PromptTokens != 1200 || u.CompletionTokens != 57 || u.TotalTokens != 1257 ||
				u.PromptTokensDetails.CachedTokens != 1000 || u.CompletionTokensDetails.ReasoningTokens != 20 {
				t.Errorf("usage = %+v", u)
			}
		} else if u.TotalTokens != 0 {
			t.Errorf("usage without include_usage: %+v", u)
		}
	}
}

// TestChatSDKUpstreamStreams relays each upstream stream of testdata to
// the SDK: what it accumulates is what the upstream sent.
func TestChatSDKUpstreamStreams(t *testing.T) {
	for _, tc := range []struct {
		file, content string
		calls         []string // name:arguments
		err           string
	}{
		{file: "text", content: "Hello \"world\"\n"},
		{file: "tools", calls: []string{`get_weather:{"city":"Paris"}`, "get_time:{}"}},
		{file: "interleaved", content: "Calling.", calls: []string{`a:{"x":1}`, `b:{"y":2}`}},
		{file: "deepseek", content: "Answer"},
		{file: "error", content: "Par", err: "Rate limit reached"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			stream, err := os.ReadFile(filepath.Join(chatTestdata, "streams", tc.file+".sse"))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := chatDecodeStream(t, stream)
			if err != nil {
				t.Fatal(err)
			}
			acc, _, err := chatSDKStream(t, chatEncodeEvents(&canon.Request{IncludeUsage: true}, evs))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("stream error = %v, want one saying %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			m := acc.Choices[0].Message
			if m.Content != tc.content {
				t.Errorf("content = %q, want %q", m.Content, tc.content)
			}
			var calls []string
			for _, c := range m.ToolCalls {
				calls = append(calls, c.Function.Name+":"+c.Function.Arguments)
			}
			if strings.Join(calls, " ") != strings.Join(tc.calls, " ") {
				t.Errorf("calls = %q, want %q", calls, tc.calls)
			}
		})
	}
}

// TestChatSDKRequest decodes a request as the SDK writes it, with an
// assistant turn the SDK built from an encoded reply (ToParam).
func TestChatSDKRequest(t *testing.T) {
	r := chatSDKReply()
	var cc oai.ChatCompletion
	if err := json.Unmarshal(ChatCodec().EncodeReply(nil, &r, nil), &cc); err != nil {
		t.Fatal(err)
	}
	params := oai.ChatCompletionNewParams{
		Model: "gpt-4o",
		Messages: []oai.ChatCompletionMessageParamUnion{
			oai.SystemMessage("Be brief."),
			oai.DeveloperMessage("Use metric."),
			oai.UserMessage([]oai.ChatCompletionContentPartUnionParam{
				oai.TextContentPart("Weather?"),
				oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo=", Detail: "low"}),
				oai.FileContentPart(oai.ChatCompletionContentPartFileFileParam{FileData: oai.String("data:application/pdf;base64,JVBERi0="), Filename: oai.String("a.pdf")}),
			}),
			cc.Choices[0].Message.ToParam(),
			oai.ToolMessage("18C", "toolu_01"),
			oai.ToolMessage("noon", "toolu_02"),
		},
		Tools: []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object"}, Strict: oai.Bool(true),
		})},
		ToolChoice:          oai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: oai.String("required")},
		ParallelToolCalls:   oai.Bool(true),
		MaxCompletionTokens: oai.Int(100),
		ReasoningEffort:     shared.ReasoningEffortLow,
		StreamOptions:       oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
		Temperature:         oai.Float(0.2),
		Seed:                oai.Int(7),
		Stop:                oai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"x", "y"}},
		ResponseFormat: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "out", Schema: map[string]any{"type": "object"}, Strict: oai.Bool(true)},
		}},
		Metadata: shared.Metadata{"k": "v"},
		Store:    oai.Bool(true),
		User:     oai.String("u1"),
	}
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	var req canon.Request
	if err := ChatCodec().DecodeRequest(body, &req); err != nil {
		t.Fatalf("DecodeRequest: %v\n%s", err, body)
	}
	if len(req.System) != 2 || req.System[1].Text != "Use metric." || len(req.Messages) != 3 {
		t.Fatalf("system %+v, %d messages", req.System, len(req.Messages))
	}
	u, a, tr := req.Messages[0], req.Messages[1], req.Messages[2]
	if len(u.Parts) != 3 || u.Parts[1].MediaType != "image/png" || u.Parts[1].Detail != "low" || u.Parts[2].Kind != canon.PartDocument || u.Parts[2].Name != "a.pdf" {
		t.Errorf("user = %+v", u)
	}
	// ToParam keeps no extra field: reasoning_content is not sent back.
	if a.Role != canon.RoleAssistant || len(a.Parts) != 3 || a.Parts[0].Text != "Checking \"Paris\".\n" ||
		a.Parts[1].ID != "toolu_01" || a.Parts[1].Args != `{"city":"Paris"}` || a.Parts[2].Name != "now" {
		t.Errorf("assistant = %+v", a)
	}
	if len(tr.Parts) != 2 || tr.Parts[0].ID != "toolu_01" || tr.Parts[0].Name != "get_weather" || tr.Parts[1].Content[0].Text != "noon" {
		t.Errorf("tool results = %+v", tr)
	}
	if req.Model != "gpt-4o" || req.MaxTokens != 100 || req.Reasoning.Effort != "low" || !req.IncludeUsage || string(req.Temperature) != "0.2" ||
		string(req.Seed) != "7" || len(req.Stop) != 2 || req.Format.Name != "out" || !req.Format.Strict || req.ToolChoice.Mode != canon.ToolRequired ||
		req.ParallelTools != canon.TriTrue || !req.Tools[0].Strict || req.Store != canon.TriTrue || len(req.Metadata) != 1 || req.User != "u1" {
		t.Errorf("request = %+v", req)
	}
}

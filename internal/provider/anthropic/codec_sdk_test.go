package anthropic

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// codecSDKServer answers /v1/messages with the codec's encoders: the reply
// for a plain request, events for a streamed one. It keeps the canonical
// form of the last request it decoded.
type codecSDKServer struct {
	reply  canon.Reply
	events []canon.Event

	mu   sync.Mutex
	last canon.Request
	err  error
}

func (s *codecSDKServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	codec := MessagesCodec()
	s.mu.Lock()
	s.err = codec.DecodeRequest(body, &s.last)
	req := s.last
	s.mu.Unlock()
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(codec.EncodeReply(nil, &s.reply, &req))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = w.Write(codecEncodeStream(&req, s.events))
}

func codecSDK(t *testing.T, s *codecSDKServer) (anthropic.Client, context.Context) {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("sk-ant-test"), aoption.WithMaxRetries(0)), ctx
}

// codecSDKParams is a Claude-Code-like request built with the SDK: system
// blocks with breakpoints, a tool with one, thinking, a user id, tool use
// and results, an image.
func codecSDKParams() anthropic.MessageNewParams {
	cache := anthropic.CacheControlEphemeralParam{TTL: anthropic.CacheControlEphemeralTTLTTL1h}
	result := anthropic.NewToolResultBlock("toolu_1", "42 files", false)
	result.OfToolResult.CacheControl = anthropic.NewCacheControlEphemeralParam()
	return anthropic.MessageNewParams{
		Model:     "gpt-5",
		MaxTokens: 32000,
		System: []anthropic.TextBlockParam{
			{Text: "You are Claude Code."},
			{Text: "Be careful.", CacheControl: cache},
		},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "Bash", Description: anthropic.String("Runs a command."),
			InputSchema:  anthropic.ToolInputSchemaParam{Properties: map[string]any{"command": map[string]any{"type": "string"}}, Required: []string{"command"}},
			CacheControl: anthropic.NewCacheControlEphemeralParam(),
		}}},
		Thinking: anthropic.ThinkingConfigParamOfEnabled(10000),
		Metadata: anthropic.MetadataParam{UserID: anthropic.String("user_1")},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("Count the files."), anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo=")),
			anthropic.NewAssistantMessage(anthropic.NewThinkingBlock("sig", "Use ls."), anthropic.NewToolUseBlock("toolu_1", map[string]any{"command": "ls | wc -l"}, "Bash")),
			anthropic.NewUserMessage(result),
		},
	}
}

func codecCheckSDKRequest(t *testing.T, s *codecSDKServer) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.last
	if s.err != nil {
		t.Fatalf("decoding the SDK's request: %v", s.err)
	}
	switch {
	case len(r.System) != 2 || r.System[1].Cache.TTL != "1h" || len(r.Tools) != 1 || !r.Tools[0].Cache.Set:
		t.Errorf("system %+v, tools %+v", r.System, r.Tools)
	case r.Reasoning.Budget != 10000 || r.User != "user_1" || len(r.Messages) != 3 || r.MaxTokens < 16000:
		t.Errorf("reasoning %+v, user %q, %d messages", r.Reasoning, r.User, len(r.Messages))
	case r.Messages[0].Parts[1].Kind != canon.PartImage || r.Messages[1].Parts[1].Args != `{"command":"ls | wc -l"}`:
		t.Errorf("messages %+v", r.Messages)
	case r.Messages[2].Parts[0].Kind != canon.PartToolResult || !r.Messages[2].Parts[0].Cache.Set || canon.Text(r.Messages[2].Parts[0].Content) != "42 files":
		t.Errorf("tool result %+v", r.Messages[2].Parts)
	}
}

func TestCodecSDKMessage(t *testing.T) {
	s := &codecSDKServer{reply: canon.Reply{ID: "chatcmpl-9", Model: "gpt-5", Parts: []canon.Part{
		{Kind: canon.PartThinking, Text: "Counting.", Signature: "sig=="},
		{Kind: canon.PartText, Text: "There are 42 files."},
		{Kind: canon.PartToolCall, ID: "call_7", Name: "Bash", Args: `{"command":"ls"}`},
	}, Stop: canon.Stop{Reason: canon.StopTool}, Usage: canon.Usage{
		Input: 2000, Output: 150, CacheRead: 1200, CacheWrite: 300, Valid: true,
		Reasoning: 40, CacheWrite1h: 100,
	}}}
	client, ctx := codecSDK(t, s)
	p := codecSDKParams()
	p.MaxTokens = 16000 // the SDK streams what may take longer
	msg, err := client.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	codecCheckSDKRequest(t, s)
	if msg.ID != "chatcmpl-9" || msg.Model != "gpt-5" || msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 3 {
		t.Fatalf("message %s", msg.RawJSON())
	}
	if th := msg.Content[0].AsThinking(); th.Thinking != "Counting." || th.Signature != "sig==" {
		t.Errorf("thinking %+v", th)
	}
	if msg.Content[1].AsText().Text != "There are 42 files." {
		t.Errorf("text %s", msg.Content[1].RawJSON())
	}
	if tu := msg.Content[2].AsToolUse(); tu.ID != "call_7" || tu.Name != "Bash" || string(tu.Input) != `{"command":"ls"}` {
		t.Errorf("tool use %s", msg.Content[2].RawJSON())
	}
	u := msg.Usage
	if u.InputTokens != 500 || u.CacheReadInputTokens != 1200 || u.CacheCreationInputTokens != 300 || u.OutputTokens != 150 ||
		u.CacheCreation.Ephemeral1hInputTokens != 100 || u.CacheCreation.Ephemeral5mInputTokens != 200 || u.OutputTokensDetails.ThinkingTokens != 40 {
		t.Errorf("usage %s", u.RawJSON())
	}
}

func TestCodecSDKStream(t *testing.T) {
	events := append([]canon.Event{
		{Kind: canon.EvStart, ID: "resp_1", Model: "gemini-2.5-pro"},
		{Kind: canon.EvUsage, Usage: canon.Usage{Input: 700, CacheRead: 200, Valid: true}},
		{Kind: canon.EvPartStart, Part: canon.Part{Kind: canon.PartThinking}},
		{Kind: canon.EvDelta, Text: "Let me "},
		{Kind: canon.EvDelta, Text: "see."},
		{Kind: canon.EvDelta, Signature: "c2ln"},
		{Kind: canon.EvPartStop},
	}, codecStreams()["openai"][5:]...)
	s := &codecSDKServer{events: events}
	client, ctx := codecSDK(t, s)
	stream := client.Messages.NewStreaming(ctx, codecSDKParams())
	var acc anthropic.Message
	n := 0
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		n++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	codecCheckSDKRequest(t, s)
	if acc.ID != "resp_1" || acc.StopReason != anthropic.StopReasonToolUse || len(acc.Content) != 4 {
		t.Fatalf("message %s", acc.RawJSON())
	}
	if th := acc.Content[0].AsThinking(); th.Thinking != "Let me see." || th.Signature != "c2ln" {
		t.Errorf("thinking %s", acc.Content[0].RawJSON())
	}
	if acc.Content[1].AsText().Text != "Hello \"world\"\n" {
		t.Errorf("text %q", acc.Content[1].AsText().Text)
	}
	var in map[string]any
	if err := json.Unmarshal(acc.Content[2].AsToolUse().Input, &in); err != nil || in["location"] != "Paris" || acc.Content[2].AsToolUse().ID != "call_1" {
		t.Errorf("tool use %s", acc.Content[2].RawJSON())
	}
	if string(acc.Content[3].AsToolUse().Input) != "{}" {
		t.Errorf("tool use without arguments %s", acc.Content[3].RawJSON())
	}
	u := acc.Usage
	if u.InputTokens != 900-512 || u.CacheReadInputTokens != 512 || u.OutputTokens != 120 || u.OutputTokensDetails.ThinkingTokens != 64 {
		t.Errorf("usage %s", u.RawJSON())
	}
}

func TestCodecSDKStreamError(t *testing.T) {
	s := &codecSDKServer{events: codecStreams()["error"]}
	client, ctx := codecSDK(t, s)
	p := codecSDKParams()
	stream := client.Messages.NewStreaming(ctx, p)
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("stream error %v", err)
	}
}

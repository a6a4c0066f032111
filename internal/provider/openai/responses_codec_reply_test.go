package openai

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func TestResponsesDecodeReply(t *testing.T) {
	for _, name := range []string{"reply_reasoning", "reply_tools", "reply_incomplete"} {
		t.Run(name, func(t *testing.T) {
			var r canon.Reply
			if err := respDecodeReply(respRead(t, name+".json"), &r); err != nil {
				t.Fatal(err)
			}
			respGolden(t, name+".canon.json", respDump(t, &r))
		})
	}
}

func TestResponsesDecodeReplyErrors(t *testing.T) {
	var r canon.Reply
	if err := respDecodeReply([]byte(`{"id":`), &r); !errors.Is(err, canon.ErrInvalidJSON) {
		t.Errorf("cut body: %v", err)
	}
	if err := respDecodeReply([]byte(`"resp"`), &r); err == nil {
		t.Error("a string decoded as a reply")
	}
	err := respDecodeReply([]byte(`{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"boom"}}`), &r)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failed response: %v", err)
	}
}

// respEchoRequest is the request the encoded replies answer: its fields
// come back in the response object.
func respEchoRequest() *canon.Request {
	return &canon.Request{
		Model: "claude-sonnet-4-5", MaxTokens: 4096, Temperature: []byte("0.2"), ParallelTools: canon.TriFalse,
		Tools:      []canon.Tool{{Name: "get_weather", Description: "Weather", Schema: `{"type":"object","properties":{"city":{"type":"string"}}}`}},
		ToolChoice: canon.ToolChoice{Mode: canon.ToolAuto, Set: true},
		Reasoning:  canon.Reasoning{Effort: "high", Summary: "auto"},
		Metadata:   []canon.KV{{Key: "k", Value: "v"}},
	}
}

func respUsage(in, out, cached, write, reasoning int64) canon.Usage {
	return canon.Usage{Input: in, Output: out, CacheRead: cached, CacheWrite: write, Valid: true, Reasoning: reasoning}
}

var respReplies = []struct {
	name  string
	reply canon.Reply
}{
	{"thinking_text_tool", canon.Reply{ID: "msg_01XYZ", Model: "claude-sonnet-4-5", Created: 1755000000,
		Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "The user wants weather.", Signature: "EqQBsig/+="},
			{Kind: canon.PartThinking, Redacted: "opaque-redacted"},
			{Kind: canon.PartText, Text: "Let me check "},
			{Kind: canon.PartText, Text: "\"Paris\"."},
			{Kind: canon.PartToolCall, ID: "toolu_1", Name: "get_weather", Args: `{"city":"Paris"}`},
			{Kind: canon.PartToolCall, ID: "toolu_2", Name: "get_weather", Args: `{"city":"Lyon"}`},
		},
		Stop: canon.Stop{Reason: canon.StopTool}, Usage: respUsage(1200, 300, 1000, 100, 120)}},
	{"length", canon.Reply{ID: "chatcmpl-abc", Model: "gpt-4o", Created: 1755000001,
		Parts: []canon.Part{{Kind: canon.PartText, Text: "Once upon"}},
		Stop:  canon.Stop{Reason: canon.StopLength}, Usage: respUsage(10, 2, 0, 0, 0)}},
	{"filter_refusal", canon.Reply{ID: "resp_f", Model: "gemini-2.5-pro", Created: 1755000002,
		Parts: []canon.Part{{Kind: canon.PartRefusal, Text: "I can't help with that."}},
		Stop:  canon.Stop{Reason: canon.StopFilter}}},
}

func TestResponsesEncodeReply(t *testing.T) {
	for _, tt := range respReplies {
		t.Run(tt.name, func(t *testing.T) {
			body := respEncodeReply(nil, &tt.reply, respEchoRequest())
			respGolden(t, "enc_reply_"+tt.name+".json", respIndent(t, body))
		})
	}
	// Without a request, id, model or time, the reply is still whole.
	body := respEncodeReply(nil, &canon.Reply{Parts: []canon.Part{{Kind: canon.PartText, Text: "hi"}}}, nil)
	var back canon.Reply
	if err := respDecodeReply(body, &back); err != nil || !strings.HasPrefix(back.ID, "resp_") || back.Created == 0 ||
		canon.Text(back.Parts) != "hi" {
		t.Errorf("bare reply %s: %v", body, err)
	}
}

// Within the format, decode(encode(x)) is x for what the format carries:
// not cache writes, nor stop reasons other than tool, length and filter
// (sequence and pause are completed, i.e. end).
func TestResponsesReplyRoundTrip(t *testing.T) {
	for _, tt := range respReplies {
		t.Run(tt.name, func(t *testing.T) {
			var back canon.Reply
			if err := respDecodeReply(respEncodeReply(nil, &tt.reply, nil), &back); err != nil {
				t.Fatal(err)
			}
			want := tt.reply
			want.Parts = append([]canon.Part(nil), want.Parts...)
			for i := range want.Parts {
				if want.Parts[i].Kind == canon.PartThinking {
					want.Parts[i].ID = back.Parts[i].ID // made by the encoder
				}
			}
			want.Usage.CacheWrite = 0
			want.Stop.Raw, back.Stop.Raw = "", ""
			if got, w := respDump(t, &back), respDump(t, &want); string(got) != string(w) {
				t.Errorf("round trip differs:\n--- got\n%s\n--- want\n%s", got, w)
			}
		})
	}
}

func TestResponsesDecodeError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   canon.Error
	}{
		{"rate limit", 429, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			canon.Error{Status: 429, Type: canon.ErrRateLimit, Message: "Rate limit reached", Code: "rate_limit_exceeded"}},
		{"bad request", 400, `{"error":{"message":"Invalid 'input[0]'","type":"invalid_request_error","param":"input[0]","code":null}}`,
			canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: "Invalid 'input[0]'", Param: "input[0]", Code: "invalid_request_error"}},
		{"server", 500, `{"error":{"message":"oops","type":"server_error"}}`,
			canon.Error{Status: 500, Type: canon.ErrAPI, Message: "oops", Code: "server_error"}},
		{"not json", 502, `<html>bad gateway</html>`,
			canon.Error{Status: 502, Type: canon.ErrAPI, Message: "upstream answered 502 with a body that is not JSON"}},
		{"other json", 503, `{"message":"overloaded"}`,
			canon.Error{Status: 503, Type: canon.ErrOverloaded, Message: "overloaded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := respDecodeError(tt.status, []byte(tt.body)); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

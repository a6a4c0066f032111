package anthropic

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

func TestCodecDecodeReplyGolden(t *testing.T) {
	for _, name := range []string{"tools", "stop_sequence"} {
		t.Run(name, func(t *testing.T) {
			var r canon.Reply
			if err := MessagesCodec().DecodeReply(codecRead(t, name+".reply.json"), &r); err != nil {
				t.Fatal(err)
			}
			codecGolden(t, name+".reply.canon.json", codecJSON(t, &r))
		})
	}
}

func TestCodecDecodeReplyUsage(t *testing.T) {
	var r canon.Reply
	if err := MessagesCodec().DecodeReply(codecRead(t, "tools.reply.json"), &r); err != nil {
		t.Fatal(err)
	}
	want := canon.Usage{Input: 472 + 1200 + 24000, Output: 189, CacheRead: 24000, CacheWrite: 1200, Valid: true, Reasoning: 120, CacheWrite1h: 1000}
	if r.Usage != want {
		t.Errorf("usage %+v, want %+v", r.Usage, want)
	}
	// The usage hook of the passthrough reads the same counts, but for
	// reasoning, which nothing on the same-format path prices apart.
	hook := want
	hook.Reasoning = 0
	if u := usage(wire.OpMessages, codecRead(t, "tools.reply.json")); u != hook {
		t.Errorf("the usage hook reads %+v, want %+v", u, hook)
	}
	if len(r.Parts) != 4 || r.Parts[3].Args != `{"location": "San Francisco, CA", "unit": "celsius"}` || r.Stop.Reason != canon.StopTool {
		t.Errorf("parts %+v, stop %+v (the server tool block is left out)", r.Parts, r.Stop)
	}
}

func TestCodecDecodeReplyErrors(t *testing.T) {
	var r canon.Reply
	if err := MessagesCodec().DecodeReply([]byte(`{"id":`), &r); !errors.Is(err, canon.ErrInvalidJSON) {
		t.Errorf("cut short: %v", err)
	}
	if err := MessagesCodec().DecodeReply([]byte(`"msg"`), &r); !errors.Is(err, errCodecNotMessage) {
		t.Errorf("a string: %v", err)
	}
}

// codecReplies are canonical replies the encoder writes.
func codecReplies() map[string]*canon.Reply {
	return map[string]*canon.Reply{
		// An OpenAI reply: reasoning as encrypted content, a refusal, a
		// tool call cut short, cached tokens.
		"openai": {ID: "chatcmpl-123", Model: "gpt-5", Parts: []canon.Part{
			{Kind: canon.PartThinking, Redacted: "gAAAAB-encrypted"},
			{Kind: canon.PartRefusal, Text: "I can't do that part."},
			{Kind: canon.PartToolCall, ID: "call_1", Name: "f", Args: `{"a":1}`},
			{Kind: canon.PartToolCall, ID: "call_2", Name: "g", Args: `{"a":`},
			{Kind: canon.PartToolCall, ID: "call_3", Name: "h"},
		}, Stop: canon.Stop{Reason: canon.StopTool, Raw: "tool_calls"},
			Usage: canon.Usage{Input: 1000, Output: 300, CacheRead: 800, Valid: true, Reasoning: 200}},
		// A Gemini reply: thinking text without a signature, an inline
		// image (left out), a tool call that says STOP.
		"gemini": {ID: "resp-9", Model: "gemini-2.5-pro", Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "Thinking about it."},
			{Kind: canon.PartText, Text: "Here:"},
			{Kind: canon.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
			{Kind: canon.PartToolCall, ID: "", Name: "lookup", Args: `{}`},
		}, Stop: canon.Stop{Reason: canon.StopEnd, Raw: "STOP"}, Usage: canon.Usage{Input: 10, Output: 5, Valid: true}},
		"stop_sequence": {ID: "msg_3", Model: "claude-3-5-haiku-20241022", Parts: []canon.Part{{Kind: canon.PartText, Text: "One, two"}},
			Stop: canon.Stop{Reason: canon.StopSequence, Sequence: "three", Raw: "stop_sequence"}},
		"context_window": {ID: "msg_4", Model: "claude-sonnet-4-5", Parts: []canon.Part{{Kind: canon.PartText, Text: "…"}},
			Stop:  canon.Stop{Reason: canon.StopLength, Raw: "model_context_window_exceeded"},
			Usage: canon.Usage{Input: 1500, CacheWrite: 500, Output: 7, Valid: true, CacheWrite1h: 100}},
	}
}

func TestCodecEncodeReplyGolden(t *testing.T) {
	req := &canon.Request{Model: "gpt-5"}
	for name, r := range codecReplies() {
		if strings.Contains(name, "gemini") {
			// Its tool call has no id: the encoder makes one up.
			continue
		}
		t.Run(name, func(t *testing.T) {
			codecGolden(t, name+".reply.encoded.json", codecIndent(t, MessagesCodec().EncodeReply(nil, r, req)))
		})
	}
}

func TestCodecEncodeReplyRules(t *testing.T) {
	r := codecReplies()["gemini"]
	body := MessagesCodec().EncodeReply(nil, r, &canon.Request{Model: "asked-for"})
	res := gjson.ParseBytes(body)
	if res.Get("content.#").Int() != 3 || res.Get("content.2.type").Str != "tool_use" || !strings.HasPrefix(res.Get("content.2.id").Str, "toolu_") {
		t.Errorf("content %s", res.Get("content").Raw)
	}
	if res.Get("stop_reason").Str != "tool_use" || res.Get("content.0.signature").Str != "" || res.Get("content.0.thinking").Str == "" {
		t.Errorf("reply %s", body)
	}
	r.ID, r.Model = "", ""
	res = gjson.ParseBytes(MessagesCodec().EncodeReply(nil, r, &canon.Request{Model: "asked-for"}))
	if !strings.HasPrefix(res.Get("id").Str, "msg_") || len(res.Get("id").Str) != 28 || res.Get("model").Str != "asked-for" {
		t.Errorf("id %q, model %q", res.Get("id").Str, res.Get("model").Str)
	}
}

// TestCodecReplyRoundTrip checks decode(encode(x)) == x for a reply the
// format carries whole.
func TestCodecReplyRoundTrip(t *testing.T) {
	for _, name := range []string{"tools", "stop_sequence"} {
		t.Run(name, func(t *testing.T) {
			var first, second canon.Reply
			codec := MessagesCodec()
			if err := codec.DecodeReply(codecRead(t, name+".reply.json"), &first); err != nil {
				t.Fatal(err)
			}
			body := codec.EncodeReply(nil, &first, nil)
			if err := codec.DecodeReply(body, &second); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("round trip:\n got %+v\nwant %+v", second, first)
			}
		})
	}
}

func TestCodecDecodeError(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   canon.Error
	}{
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"}`,
			canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: "max_tokens: Field required", Code: "invalid_request_error"}},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			canon.Error{Status: 529, Type: canon.ErrOverloaded, Message: "Overloaded", Code: "overloaded_error"}},
		{413, `{"type":"error","error":{"type":"request_too_large","message":"too big"}}`,
			canon.Error{Status: 413, Type: canon.ErrTooLarge, Message: "too big", Code: "request_too_large"}},
		{504, `{"type":"error","error":{"type":"timeout_error","message":"t"}}`,
			canon.Error{Status: 504, Type: canon.ErrTimeout, Message: "t", Code: "timeout_error"}},
		{402, `{"type":"error","error":{"type":"billing_error","message":"b"}}`,
			canon.Error{Status: 402, Type: canon.ErrPermission, Message: "b", Code: "billing_error"}},
		{418, `{"type":"error","error":{"type":"teapot_error","message":"short and stout"}}`,
			canon.Error{Status: 418, Type: canon.ErrInvalidRequest, Message: "short and stout", Code: "teapot_error"}},
		{502, `<html>bad gateway</html>`,
			canon.Error{Status: 502, Type: canon.ErrAPI, Message: "the upstream answered 502 with a body that is not an Anthropic error"}},
		{429, `{"error":"slow down"}`,
			canon.Error{Status: 429, Type: canon.ErrRateLimit, Message: "the upstream answered 429 with a body that is not an Anthropic error"}},
	}
	for _, tt := range tests {
		if got := MessagesCodec().DecodeError(tt.status, []byte(tt.body)); got != tt.want {
			t.Errorf("%d %s:\n got %+v\nwant %+v", tt.status, tt.body, got, tt.want)
		}
	}
}

// TestCodecErrorNames checks that the stream encoder's error types agree
// with the error hook's, which the gateway writes for the same statuses.
func TestCodecErrorNames(t *testing.T) {
	for typ := canon.ErrAPI; typ <= canon.ErrTimeout; typ++ {
		status := codecErrorTypes[typ].status
		e := wire.Error{Status: status}
		switch typ {
		case canon.ErrTooLarge:
			e.Code = wire.CodeRequestTooLarge
		case canon.ErrOverloaded:
			e.Code = wire.CodeOverloaded
		case canon.ErrTimeout:
			e.Code = wire.CodeUpstreamTimeout
		}
		if got, want := codecErrorName(typ), errorType(&e); got != want {
			t.Errorf("type %d: codec %q, hook %q", typ, got, want)
		}
		if back, ok := codecErrorType(codecErrorName(typ)); !ok || back != typ {
			t.Errorf("type %d does not come back: %d", typ, back)
		}
	}
}

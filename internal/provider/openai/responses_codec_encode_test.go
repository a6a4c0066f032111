package openai

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// respAnthropicLike is a request as an Anthropic client's decoder gives it:
// cache breakpoints, a thinking budget, signed and redacted thinking,
// tool results with images and an error flag, documents.
func respAnthropicLike() *canon.Request {
	return &canon.Request{
		Model: "gpt-5", Stream: true, MaxTokens: 2048, Temperature: []byte("0.7"), TopK: []byte("40"),
		System: []canon.Part{
			{Kind: canon.PartText, Text: "You are helpful.", Cache: canon.Cache{Set: true, TTL: "1h"}},
			{Kind: canon.PartText, Text: "Use the tools."},
		},
		Messages: []canon.Message{
			{Role: canon.RoleUser, Parts: []canon.Part{
				{Kind: canon.PartText, Text: "Look at this:"},
				{Kind: canon.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
				{Kind: canon.PartDocument, MediaType: "application/pdf", Data: "JVBERi0xLjQ="},
				{Kind: canon.PartDocument, URL: "https://example.com/a.pdf", Name: "a.pdf", Cache: canon.Cache{Set: true}},
			}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{
				{Kind: canon.PartThinking, Text: "I should call the tool.", Signature: "EqQBsig"},
				{Kind: canon.PartThinking, Text: "Earlier reasoning.", Redacted: "gAAAAABenc=="},
				{Kind: canon.PartText, Text: "Calling."},
				{Kind: canon.PartToolCall, ID: "toolu_1", Name: "get_weather", Args: `{"city":"Paris"}`},
				{Kind: canon.PartToolCall, ID: "toolu_2", Name: "now"},
			}},
			{Role: canon.RoleUser, Parts: []canon.Part{
				{Kind: canon.PartToolResult, ID: "toolu_1", IsError: true, Content: []canon.Part{{Kind: canon.PartText, Text: "no such city"}}},
				{Kind: canon.PartToolResult, ID: "toolu_2", Content: []canon.Part{
					{Kind: canon.PartText, Text: "see:"}, {Kind: canon.PartImage, URL: "https://example.com/clock.png", Detail: "low"}}},
				{Kind: canon.PartText, Text: "Thanks"},
			}},
		},
		Tools: []canon.Tool{
			{Name: "get_weather", Description: "Weather of a city", Schema: `{"type":"object","properties":{"city":{"type":"string"}}}`, Cache: canon.Cache{Set: true}},
			{Name: "now"},
		},
		ToolChoice:    canon.ToolChoice{Mode: canon.ToolRequired, Set: true},
		ParallelTools: canon.TriTrue,
		Reasoning:     canon.Reasoning{Budget: 10000},
		Metadata:      []canon.KV{{Key: "user_id", Value: "u1"}},
		User:          "u1",
	}
}

func TestResponsesEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  *canon.Request
	}{
		{"anthropic_like", respAnthropicLike()},
		{"chat_like", &canon.Request{
			Model: "gpt-4.1", N: 1, TopP: []byte("0.9"), ServiceTier: "priority", User: "end-user",
			FrequencyPenalty: []byte("0.5"), Seed: []byte("7"),
			System:     []canon.Part{{Kind: canon.PartText, Text: "Reply in JSON."}},
			Messages:   []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "Weather in \"Paris\"?\n"}}}},
			Tools:      []canon.Tool{{Name: "get_weather", Schema: `{"type":"object"}`, Strict: true}},
			ToolChoice: canon.ToolChoice{Mode: canon.ToolNamed, Name: "get_weather", Set: true}, ParallelTools: canon.TriFalse,
			Format:    canon.ResponseFormat{Kind: canon.FormatJSONSchema, Schema: `{"type":"object"}`, Strict: true},
			Reasoning: canon.Reasoning{Effort: "low", Summary: "detailed"},
		}},
		{"plain", &canon.Request{Model: "o3", Reasoning: canon.Reasoning{Disabled: true},
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "Hi"}}}},
			Format:   canon.ResponseFormat{Kind: canon.FormatJSONObject}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := respEncodeRequest([]byte("prefix"), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(body[:6]) != "prefix" {
				t.Fatalf("dst not appended to: %q", body[:6])
			}
			respGolden(t, "enc_req_"+tt.name+".json", respIndent(t, body[6:]))
			// What the encoder wrote decodes again.
			var back canon.Request
			if err := respDecodeRequest(body[6:], &back); err != nil {
				t.Fatalf("decoding the encoded request: %v", err)
			}
		})
	}
}

func TestResponsesEncodeRequestRefuses(t *testing.T) {
	tests := []struct {
		name, field string
		req         canon.Request
	}{
		{"stop", "stop", canon.Request{Stop: []string{"\n"}}},
		{"n", "n", canon.Request{N: 2}},
		{"assistant image", "messages[0].parts[1]", canon.Request{Messages: []canon.Message{{Role: canon.RoleAssistant,
			Parts: []canon.Part{{Kind: canon.PartText, Text: "x"}, {Kind: canon.PartImage, URL: "https://x"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := respEncodeRequest([]byte("keep"), &tt.req)
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("error %v, want a FieldError for %s", err, tt.field)
			}
			if string(out) != "keep" {
				t.Errorf("dst after a refusal: %q", out)
			}
		})
	}
}

// respCarried returns what of r a round trip through the Responses format
// keeps: store unset is sent as false; thinking without OpenAI's encrypted
// content, thinking ids and "reasoning off" are not sent; cache
// breakpoints and tool results' error flag have no field.
func respCarried(r *canon.Request) *canon.Request {
	c := *r
	if c.Store == canon.TriUnset {
		c.Store = canon.TriFalse
	}
	c.Reasoning.Disabled = false
	c.Messages = nil
	for _, m := range r.Messages {
		var parts []canon.Part
		for _, p := range m.Parts {
			if p.Kind == canon.PartThinking {
				if p.Redacted == "" {
					continue
				}
				p.ID, p.Signature = "", ""
			}
			p.Cache, p.IsError = canon.Cache{}, false
			parts = append(parts, p)
		}
		if len(parts) > 0 {
			c.Messages = append(c.Messages, canon.Message{Role: m.Role, Parts: parts})
		}
	}
	return &c
}

// Within the format, decode(encode(x)) is x for what the format carries.
func TestResponsesRequestRoundTrip(t *testing.T) {
	for _, name := range []string{"req_codex", "req_sdk", "req_string"} {
		t.Run(name, func(t *testing.T) {
			var r1, r2 canon.Request
			if err := respDecodeRequest(respRead(t, name+".json"), &r1); err != nil {
				t.Fatal(err)
			}
			body, err := respEncodeRequest(nil, &r1)
			if err != nil {
				t.Fatal(err)
			}
			if err := respDecodeRequest(body, &r2); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			want := respCarried(&r1)
			if !reflect.DeepEqual(respDump(t, respViewReq(want)), respDump(t, respViewReq(&r2))) {
				t.Errorf("round trip differs:\n--- got\n%s\n--- want\n%s", respDump(t, respViewReq(&r2)), respDump(t, respViewReq(want)))
			}
		})
	}
}

// Decoding into a used Request leaves nothing of the earlier one.
func TestResponsesDecodeRequestReuse(t *testing.T) {
	var r canon.Request
	if err := respDecodeRequest(respRead(t, "req_codex.json"), &r); err != nil {
		t.Fatal(err)
	}
	if err := respDecodeRequest(respRead(t, "req_string.json"), &r); err != nil {
		t.Fatal(err)
	}
	var fresh canon.Request
	if err := respDecodeRequest(respRead(t, "req_string.json"), &fresh); err != nil {
		t.Fatal(err)
	}
	// Reset keeps the memory of slices, so compare without empty ones.
	a, b := respDump(t, respViewReq(&r)), respDump(t, respViewReq(&fresh))
	if string(a) != string(b) {
		t.Errorf("reused request\n%s\nfresh\n%s", a, b)
	}
}

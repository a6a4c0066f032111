package bedrock

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

const (
	claude = "anthropic.claude-sonnet-4-20250514-v1:0"
	pngB64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	pdfB64 = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"
)

var weatherSchema = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}`

func text(s string) canon.Part { return canon.Part{Kind: canon.PartText, Text: s} }

// requestCases are canonical requests with what each must become.
func requestCases() []struct {
	name string
	req  canon.Request
} {
	cached := text("You are a weather assistant. Answer in one sentence.")
	cached.Cache = canon.Cache{Set: true}
	cached1h := text("Long reference text.")
	cached1h.Cache = canon.Cache{Set: true, TTL: "1h"}
	weather := canon.Tool{Name: "get_weather", Description: "Weather for a city", Schema: weatherSchema, Cache: canon.Cache{Set: true}}
	return []struct {
		name string
		req  canon.Request
	}{
		{"text", canon.Request{
			Model:  "meta.llama3-70b-instruct-v1:0",
			System: []canon.Part{cached, cached1h},
			Messages: []canon.Message{
				{Role: canon.RoleUser, Parts: []canon.Part{text("Hello")}},
				{Role: canon.RoleAssistant, Parts: []canon.Part{text("Hi! How can I help?")}},
				{Role: canon.RoleUser, Parts: []canon.Part{text("Tell me a \"joke\"\n")}},
			},
			MaxTokens: 512, Temperature: []byte("0.7"), TopP: []byte("0.9"), Stop: []string{"END", "\n\n"},
			TopK: []byte("40"), Seed: []byte("7"), FrequencyPenalty: []byte("0.5"), PresencePenalty: []byte("0.1"),
			User:        "user-42",
			Metadata:    []canon.KV{{Key: "team", Value: "search"}, {Key: "bad key!", Value: "x"}, {Key: "trace", Value: "a\"b"}},
			ServiceTier: "flex",
		}},
		{"tools", canon.Request{
			Model: claude,
			Messages: []canon.Message{
				{Role: canon.RoleUser, Parts: []canon.Part{text("Weather in Paris for 2 days?")}},
				{Role: canon.RoleAssistant, Parts: []canon.Part{text("Let me check."),
					{Kind: canon.PartToolCall, ID: "tooluse_1", Name: "get_weather", Args: `{"city":"Paris","days":2}`}}},
				{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartToolResult, ID: "tooluse_1", IsError: true,
					Content: []canon.Part{text("upstream timeout"), {Kind: canon.PartImage, MediaType: "image/png", Data: pngB64}}}}},
				{Role: canon.RoleUser, Parts: []canon.Part{text("Try again please.")}}, // merged into the one above
			},
			Tools:         []canon.Tool{weather, {Name: "noop", Strict: true}},
			ToolChoice:    canon.ToolChoice{Mode: canon.ToolNamed, Name: "get_weather", Set: true},
			ParallelTools: canon.TriFalse,
		}},
		{"media", canon.Request{
			Model: "amazon.nova-pro-v1:0",
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{
				{Kind: canon.PartImage, MediaType: "image/png", Data: pngB64},
				{Kind: canon.PartImage, URL: "data:image/jpeg;base64,/9j/4AAQSkZJRg=="},
				{Kind: canon.PartImage, Data: "R0lGODlhAQABAAAAACw="},
				{Kind: canon.PartImage, MediaType: "image/webp", URL: "s3://bucket/cat.webp"},
				{Kind: canon.PartDocument, MediaType: "application/pdf", Data: pdfB64, Name: "Q3 report (final).pdf"},
				{Kind: canon.PartDocument, MediaType: "application/pdf", Data: pdfB64, Name: "Q3 report (final).pdf"},
				{Kind: canon.PartDocument, Data: "aGVsbG8=", Name: "notes_2024.txt"},
				{Kind: canon.PartDocument, MediaType: "text/markdown", Data: "IyBoaQ==", Cache: canon.Cache{Set: true}},
				text("Summarize these."),
			}}},
			TopK: []byte("20"),
		}},
		{"thinking", canon.Request{
			Model: "us." + claude,
			Messages: []canon.Message{
				{Role: canon.RoleUser, Parts: []canon.Part{text("What is 17*23?")}},
				{Role: canon.RoleAssistant, Parts: []canon.Part{
					{Kind: canon.PartThinking, Text: "17*23 = 391", Signature: "EqQBCkYIBxgCKkB"},
					{Kind: canon.PartThinking, Redacted: "c2VjcmV0IHRob3VnaHRz"},
					{Kind: canon.PartThinking, Text: "unsigned thoughts from another vendor"},
					text("391")}},
				{Role: canon.RoleUser, Parts: []canon.Part{text("And 18*23?")}},
			},
			MaxTokens: 8000, TopK: []byte("5"),
			Reasoning: canon.Reasoning{Budget: 4096, Summary: "auto"},
		}},
		{"effort", canon.Request{
			Model:     "arn:aws:bedrock:us-east-1::foundation-model/" + claude,
			Messages:  []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("Prove it.")}}},
			MaxTokens: 12000,
			Reasoning: canon.Reasoning{Effort: "high"},
		}},
		{"json_schema", canon.Request{
			Model:     "amazon.nova-lite-v1:0",
			Messages:  []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("Weather?")}}},
			Format:    canon.ResponseFormat{Kind: canon.FormatJSONSchema, Name: "weather", Schema: weatherSchema, Strict: true},
			Reasoning: canon.Reasoning{Effort: "low"}, // not an Anthropic model: dropped
		}},
		{"tool_none", canon.Request{
			Model:      claude,
			Messages:   []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("Just chat.")}}},
			Tools:      []canon.Tool{weather},
			ToolChoice: canon.ToolChoice{Mode: canon.ToolNone, Set: true},
		}},
	}
}

// requestDump shows a request's raw numbers as numbers.
type requestDump struct {
	*canon.Request
	Temperature, TopP, TopK, FrequencyPenalty, PresencePenalty, Seed json.RawMessage `json:",omitempty"`
}

func dumpRequest(t *testing.T, r *canon.Request) []byte {
	return dump(t, requestDump{Request: r, Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK,
		FrequencyPenalty: r.FrequencyPenalty, PresencePenalty: r.PresencePenalty, Seed: r.Seed})
}

func TestEncodeRequestGolden(t *testing.T) {
	for _, tt := range requestCases() {
		t.Run(tt.name, func(t *testing.T) {
			body, err := EncodeRequest([]byte("keep"), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(body), "keep") {
				t.Fatalf("dst lost: %q", body[:10])
			}
			body = body[4:]
			golden(t, "encode_request/"+tt.name+".json", pretty(t, body))

			// decode (the test helper) carries what encode wrote: encoding
			// what it read gives the same body.
			var back canon.Request
			if err := decodeRequest(body, tt.req.Model, &back); err != nil {
				t.Fatal(err)
			}
			golden(t, "decode_request/"+tt.name+".json", dumpRequest(t, &back))
			again, err := EncodeRequest(nil, &back)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(body) {
				t.Fatalf("re-encoded:\n%s\nfirst:\n%s", again, body)
			}
		})
	}
}

// A request in the form Converse carries comes back from a round trip
// unchanged.
func TestRequestRoundTrip(t *testing.T) {
	in := requestCases()[1].req // tools
	in.Messages = in.Messages[:3]
	in.ParallelTools = canon.TriUnset
	in.Tools = append([]canon.Tool(nil), in.Tools...)
	in.Tools[1].Schema = `{"type":"object","properties":{}}` // what a tool without parameters gets
	in.MaxTokens, in.Temperature, in.TopP, in.TopK, in.Stop = 100, []byte("0"), []byte("1"), []byte("3"), []string{"x"}
	in.System = []canon.Part{{Kind: canon.PartText, Text: "sys", Cache: canon.Cache{Set: true, TTL: "1h"}}}
	in.Format = canon.ResponseFormat{Kind: canon.FormatJSONSchema, Name: "n", Schema: `{"type":"object"}`}
	in.User, in.Metadata, in.ServiceTier = "u", []canon.KV{{Key: "k", Value: "v"}}, "priority"
	body, err := EncodeRequest(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	var out canon.Request
	if err := decodeRequest(body, in.Model, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&in, &out) {
		t.Fatalf("round trip\n got %s\nwant %s", dumpRequest(t, &out), dumpRequest(t, &in))
	}
}

func TestEncodeRequestRefuses(t *testing.T) {
	user := func(p ...canon.Part) []canon.Message { return []canon.Message{{Role: canon.RoleUser, Parts: p}} }
	tests := []struct {
		name  string
		req   canon.Request
		field string
	}{
		{"n", canon.Request{N: 2, Messages: user(text("x"))}, "n"},
		{"json_object", canon.Request{Format: canon.ResponseFormat{Kind: canon.FormatJSONObject}, Messages: user(text("x"))}, "response_format"},
		{"bad schema", canon.Request{Format: canon.ResponseFormat{Kind: canon.FormatJSONSchema, Schema: "[]"}, Messages: user(text("x"))}, "response_format.json_schema.schema"},
		{"image url", canon.Request{Messages: user(text("x"), canon.Part{Kind: canon.PartImage, URL: "https://example.com/cat.png"})}, "messages[0].content[1].url"},
		{"image type", canon.Request{Messages: user(canon.Part{Kind: canon.PartImage, MediaType: "image/svg+xml", Data: "PHN2Zz4="})}, "messages[0].content[0].media_type"},
		{"data url not base64", canon.Request{Messages: user(canon.Part{Kind: canon.PartImage, URL: "data:image/png,raw"})}, "messages[0].content[0].url"},
		{"no data", canon.Request{Messages: user(canon.Part{Kind: canon.PartDocument, MediaType: "application/pdf"})}, "messages[0].content[0]"},
		{"document type", canon.Request{Messages: user(canon.Part{Kind: canon.PartDocument, MediaType: "application/zip", Data: "UEs="})}, "messages[0].content[0].media_type"},
		{"arguments", canon.Request{Messages: []canon.Message{{Role: canon.RoleAssistant, Parts: []canon.Part{{Kind: canon.PartToolCall, ID: "a", Name: "f", Args: "[1]"}}}}}, "messages[0].content[0].arguments"},
		{"tool result content", canon.Request{Messages: user(canon.Part{Kind: canon.PartToolResult, ID: "a", Content: []canon.Part{{Kind: canon.PartToolCall}}})}, "messages[0].content[0].content[0].type"},
		{"role", canon.Request{Messages: []canon.Message{{Role: 9, Parts: []canon.Part{text("x")}}}}, "messages[0].role"},
		{"kind", canon.Request{Messages: user(canon.Part{Kind: 99})}, "messages[0].content[0].type"},
		{"system kind", canon.Request{System: []canon.Part{{Kind: canon.PartImage, Data: pngB64}}, Messages: user(text("x"))}, "system[0]"},
		{"ttl", canon.Request{Messages: user(canon.Part{Kind: canon.PartText, Text: "x", Cache: canon.Cache{Set: true, TTL: "24h"}})}, "messages[0].content[0].cache_control.ttl"},
		{"tool schema", canon.Request{Messages: user(text("x")), Tools: []canon.Tool{{Name: "f", Schema: `"string"`}}}, "tools[0].parameters"},
		{"tool choice name", canon.Request{Messages: user(text("x")), Tools: []canon.Tool{{Name: "f"}}, ToolChoice: canon.ToolChoice{Mode: canon.ToolNamed, Set: true}}, "tool_choice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := EncodeRequest([]byte("prefix"), &tt.req)
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Msg == "" {
				t.Fatalf("got %v, want a FieldError on %s", err, tt.field)
			}
			if string(out) != "prefix" {
				t.Fatalf("dst %q", out)
			}
		})
	}
}

// Anthropic refuses thinking beside a forced tool choice, and when the
// last assistant message calls a tool without a thinking block first; with
// thinking on, it refuses temperature, top_k and a top_p under 0.95. The
// encoder leaves out what would be refused (translated requests from
// OpenAI and Gemini clients carry such combinations, which their own APIs
// accept).
func TestThinkingRefusals(t *testing.T) {
	call := canon.Part{Kind: canon.PartToolCall, ID: "t1", Name: "f", Args: "{}"}
	signed := canon.Part{Kind: canon.PartThinking, Text: "hmm", Signature: "sig"}
	unsigned := canon.Part{Kind: canon.PartThinking, Text: "hmm"}
	turn := func(parts ...canon.Part) []canon.Message {
		return []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("go")}}, {Role: canon.RoleAssistant, Parts: parts},
			{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartToolResult, ID: "t1", Content: []canon.Part{text("ok")}}}}}
	}
	tools := []canon.Tool{{Name: "f"}}
	tests := []struct {
		name     string
		r        canon.Request
		thinking bool
	}{
		{"auto tool choice", canon.Request{Tools: tools, ToolChoice: canon.ToolChoice{Mode: canon.ToolAuto, Set: true}}, true},
		{"required tool", canon.Request{Tools: tools, ToolChoice: canon.ToolChoice{Mode: canon.ToolRequired, Set: true}}, false},
		{"named tool", canon.Request{Tools: tools, ToolChoice: canon.ToolChoice{Mode: canon.ToolNamed, Name: "f", Set: true}}, false},
		{"tool turn with signed thinking", canon.Request{Tools: tools, Messages: turn(signed, call)}, true},
		{"tool turn without thinking", canon.Request{Tools: tools, Messages: turn(text("let me see"), call)}, false},
		{"tool turn with unsigned thinking", canon.Request{Tools: tools, Messages: turn(unsigned, call)}, false},
		{"earlier tool turn, last turn text", canon.Request{Tools: tools, Messages: append(turn(call),
			canon.Message{Role: canon.RoleAssistant, Parts: []canon.Part{text("done")}}, canon.Message{Role: canon.RoleUser, Parts: []canon.Part{text("more")}})}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.Model = "us." + claude
			if r.Messages == nil {
				r.Messages = []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("go")}}}
			}
			r.MaxTokens, r.Reasoning = 8000, canon.Reasoning{Effort: "medium"}
			r.Temperature, r.TopP, r.TopK = []byte("0.2"), []byte("0.9"), []byte("5")
			body, err := EncodeRequest(nil, &r)
			if err != nil {
				t.Fatal(err)
			}
			root := gjson.ParseBytes(body)
			if got := root.Get("additionalModelRequestFields.thinking").Exists(); got != tt.thinking {
				t.Fatalf("thinking sent: %v, want %v: %s", got, tt.thinking, body)
			}
			sampling := root.Get("inferenceConfig.temperature").Exists() || root.Get("inferenceConfig.topP").Exists() ||
				root.Get("additionalModelRequestFields.top_k").Exists()
			if sampling == tt.thinking {
				t.Errorf("sampling sent: %v with thinking %v: %s", sampling, tt.thinking, body)
			}
		})
	}
	// top_p of 0.95 and more stays with thinking.
	r := canon.Request{Model: claude, MaxTokens: 8000, Reasoning: canon.Reasoning{Budget: 2048}, TopP: []byte("0.95"),
		Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("go")}}}}
	body, err := EncodeRequest(nil, &r)
	if err != nil || gjson.GetBytes(body, "inferenceConfig.topP").Raw != "0.95" {
		t.Errorf("top_p 0.95 with thinking: %s, %v", body, err)
	}
}

func TestThinkingBudget(t *testing.T) {
	tests := []struct {
		r    canon.Reasoning
		max  int64
		want int64
	}{
		{canon.Reasoning{}, 0, 0},
		{canon.Reasoning{Budget: 5000}, 1000, 5000}, // the client's own budget goes as given
		{canon.Reasoning{Effort: "minimal"}, 0, 1024},
		{canon.Reasoning{Effort: "low"}, 0, 2048},
		{canon.Reasoning{Effort: "medium"}, 0, 8192},
		{canon.Reasoning{Effort: "high"}, 0, 16384},
		{canon.Reasoning{Effort: "high"}, 10000, 9999},
		{canon.Reasoning{Effort: "low"}, 1024, 0},
		{canon.Reasoning{Budget: -1}, 0, 8192},
		{canon.Reasoning{Effort: "high", Disabled: true}, 0, 0},
		{canon.Reasoning{Effort: "none"}, 0, 0},
		{canon.Reasoning{Effort: "xhigh"}, 0, 0},
	}
	for _, tt := range tests {
		r := canon.Request{Reasoning: tt.r, MaxTokens: tt.max}
		if got := thinkingBudget(&r); got != tt.want {
			t.Errorf("%+v max %d: %d, want %d", tt.r, tt.max, got, tt.want)
		}
	}
}

func TestDocumentName(t *testing.T) {
	tests := map[string]string{
		"Q3 report (final).pdf": "Q3 report (final)",
		"notes_2024.txt":        "notes-2024",
		"  a\t\tb  ":            "a b",
		"résumé [v2].docx":      "r-sum- [v2]",
		"archive.tar":           "archive-tar",
		"...":                   "-",
		"":                      "",
		"data.v1.CSV":           "data-v1",
		"x\n\ny":                "x y",
	}
	for in, want := range tests {
		if got := documentName(in); got != want {
			t.Errorf("documentName(%q) = %q, want %q", in, got, want)
		}
	}
}

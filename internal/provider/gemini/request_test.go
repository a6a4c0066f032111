package gemini

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// TestDecodeRequestRefuses checks that what canon cannot carry is refused
// with the field as the client wrote it.
func TestDecodeRequestRefuses(t *testing.T) {
	const user = `"contents":[{"role":"user","parts":[{"text":"hi"}]}]`
	tests := []struct {
		name, body, field string
	}{
		{"not JSON", `{"contents":`, ""},
		{"not an object", `[1]`, "body"},
		{"unknown field", `{` + user + `,"frobnicate":1}`, "frobnicate"},
		{"cached content", `{` + user + `,"cachedContent":"cachedContents/x"}`, "cachedContent"},
		{"candidates", `{` + user + `,"generationConfig":{"candidateCount":2}}`, "generationConfig.candidateCount"},
		{"audio", `{"contents":[{"parts":[{"inlineData":{"mimeType":"audio/wav","data":"AAAA"}}]}]}`, "contents[0].parts[0].inlineData.mimeType"},
		{"video file", `{"contents":[{"parts":[{"text":"a"},{"file_data":{"mime_type":"video/mp4","file_uri":"gs://x"}}]}]}`, "contents[0].parts[1].file_data.mime_type"},
		{"google search", `{` + user + `,"tools":[{"googleSearch":{}}]}`, "tools[0].googleSearch"},
		{"code execution part", `{"contents":[{"role":"model","parts":[{"executableCode":{"code":"1"}}]}]}`, "contents[0].parts[0].executableCode"},
		{"two data fields", `{"contents":[{"parts":[{"text":"a","inlineData":{"mimeType":"image/png","data":"AA"}}]}]}`, "contents[0].parts[0].inlineData"},
		{"empty part", `{"contents":[{"parts":[{}]}]}`, "contents[0].parts[0]"},
		{"no contents", `{"generationConfig":{}}`, "contents"},
		{"role not a string", `{"contents":[{"role":1,"parts":[{"text":"a"}]}]}`, "contents[0].role"},
		{"bad role", `{"contents":[{"role":"system","parts":[{"text":"a"}]}]}`, "contents[0].role"},
		{"image output", `{` + user + `,"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`, "generationConfig.responseModalities"},
		{"enum output", `{` + user + `,"generationConfig":{"responseMimeType":"text/x.enum"}}`, "generationConfig.responseMimeType"},
		{"schema without JSON", `{` + user + `,"generationConfig":{"responseSchema":{"type":"STRING"}}}`, "generationConfig.responseSchema"},
		{"speech", `{` + user + `,"generationConfig":{"speechConfig":{}}}`, "generationConfig.speechConfig"},
		{"thinking level", `{` + user + `,"generationConfig":{"thinkingConfig":{"thinkingLevel":"MAXIMAL"}}}`, "generationConfig.thinkingConfig.thinkingLevel"},
		{"allowed names", `{` + user + `,"tools":[{"functionDeclarations":[{"name":"a"},{"name":"b"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["x","y"]}}}`,
			"toolConfig.functionCallingConfig.allowedFunctionNames"},
		{"system image", `{` + user + `,"systemInstruction":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA"}}]}}`, "systemInstruction.parts[0].inlineData"},
		{"deep schema", `{` + user + `,"tools":[{"functionDeclarations":[{"name":"a","parameters":` + strings.Repeat(`{"items":`, 70) + `{}` + strings.Repeat(`}`, 70) + `}]}]}`,
			"tools[0].functionDeclarations[0].parameters" + strings.Repeat(".items", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r canon.Request
			err := decodeRequest([]byte(tt.body), &r)
			if tt.field == "" {
				if !errors.Is(err, canon.ErrInvalidJSON) {
					t.Fatalf("err %v, want ErrInvalidJSON", err)
				}
				return
			}
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

// TestDecodeRequestRules checks mapping rules the golden files do not.
func TestDecodeRequestRules(t *testing.T) {
	const user = `"contents":[{"role":"user","parts":[{"text":"hi"}]}]`
	tests := []struct {
		name, body string
		check      func(r *canon.Request) bool
	}{
		{"dynamic thinking is medium", `{` + user + `,"generationConfig":{"thinkingConfig":{"thinkingBudget":-1}}}`,
			func(r *canon.Request) bool { return r.Reasoning == canon.Reasoning{Effort: "medium"} }},
		{"no thinking", `{` + user + `,"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`,
			func(r *canon.Request) bool { return r.Reasoning == canon.Reasoning{Disabled: true} }},
		{"validated mode makes strict tools", `{` + user + `,"tools":[{"functionDeclarations":[{"name":"a"}]}],"toolConfig":{"functionCallingConfig":{"mode":"VALIDATED"}}}`,
			func(r *canon.Request) bool {
				return r.Tools[0].Strict && r.ToolChoice == canon.ToolChoice{Mode: canon.ToolAuto, Set: true}
			}},
		{"ANY with names keeps those tools", `{` + user + `,"tools":[{"functionDeclarations":[{"name":"a"},{"name":"b"},{"name":"c"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["c","a"]}}}`,
			func(r *canon.Request) bool {
				return len(r.Tools) == 2 && r.Tools[0].Name == "a" && r.Tools[1].Name == "c" && r.ToolChoice.Mode == canon.ToolRequired
			}},
		{"JSON object", `{` + user + `,"generationConfig":{"responseMimeType":"application/json"}}`,
			func(r *canon.Request) bool { return r.Format.Kind == canon.FormatJSONObject }},
		{"function role and unpaired response", `{"contents":[{"role":"function","parts":[{"functionResponse":{"name":"f","response":{"a":1}}}]}]}`,
			func(r *canon.Request) bool {
				p := r.Messages[0].Parts[0]
				return r.Messages[0].Role == canon.RoleUser && p.ID == "call_0" && canon.Text(p.Content) == `{"a":1}`
			}},
		{"dropped fields", `{` + user + `,"safetySettings":[],"model":"models/x","generationConfig":{"responseLogprobs":true,"logprobs":3,"mediaResolution":"MEDIA_RESOLUTION_LOW"},"toolConfig":{"retrievalConfig":{}}}`,
			func(r *canon.Request) bool { return r.Model == "" && len(r.Messages) == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r canon.Request
			if err := decodeRequest([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			if !tt.check(&r) {
				t.Errorf("decoded %s", dump(t, &r))
			}
		})
	}
}

// openAIStyle is a request as another format's decoder leaves it: ids on
// tool results but no names, a data URL, cache breakpoints, an effort.
func openAIStyle(model string) *canon.Request {
	return &canon.Request{
		Model:  model,
		System: []canon.Part{{Kind: canon.PartText, Text: "sys", Cache: canon.Cache{Set: true}}},
		Messages: []canon.Message{
			{Role: canon.RoleUser, Parts: []canon.Part{
				{Kind: canon.PartText, Text: "look", Cache: canon.Cache{Set: true, TTL: "1h"}},
				{Kind: canon.PartImage, URL: "data:image/webp;base64,UklGRg==", Detail: "high"},
				{Kind: canon.PartImage, URL: "https://example.com/cat.png"},
			}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{
				{Kind: canon.PartThinking, Redacted: "opaque"},
				{Kind: canon.PartToolCall, ID: "call_a", Name: "f", Args: `{"x":1}`},
				{Kind: canon.PartToolCall, ID: "call_b", Name: "g", Args: ``},
			}},
			{Role: canon.RoleUser, Parts: []canon.Part{
				{Kind: canon.PartToolResult, ID: "call_a", Content: []canon.Part{{Kind: canon.PartText, Text: "done"}}},
				{Kind: canon.PartToolResult, ID: "call_b", IsError: true, Content: []canon.Part{{Kind: canon.PartText, Text: "boom"}}},
			}},
		},
		Tools:         []canon.Tool{{Name: "f", Schema: `{"type":"object","properties":{"x":{"type":"integer"}},"additionalProperties":false}`, Strict: true, Cache: canon.Cache{Set: true}}, {Name: "g"}},
		ToolChoice:    canon.ToolChoice{Mode: canon.ToolRequired, Set: true},
		ParallelTools: canon.TriFalse,
		MaxTokens:     1000,
		Format:        canon.ResponseFormat{Kind: canon.FormatJSONSchema, Name: "out", Schema: `{"type":"object"}`, Strict: true},
		Reasoning:     canon.Reasoning{Effort: "low", Summary: "auto"},
		User:          "u-1",
		Metadata:      []canon.KV{{Key: "k", Value: "v"}},
		ServiceTier:   "auto",
		IncludeUsage:  true,
		Stream:        true,
	}
}

func TestEncodeRequest(t *testing.T) {
	for _, model := range []string{"gemini-2.5-flash", "gemini-3-pro-preview"} {
		t.Run(model, func(t *testing.T) {
			b, err := encodeRequest(nil, openAIStyle(model))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "request/openai-style."+model+".golden", indentJSON(t, b))
		})
	}
	refusals := []struct {
		name  string
		edit  func(r *canon.Request)
		field string
	}{
		{"n", func(r *canon.Request) { r.N = 2 }, "n"},
		{"previous response", func(r *canon.Request) { r.PreviousResponseID = "resp_1" }, "previous_response_id"},
		{"unnamed result", func(r *canon.Request) { r.Messages[2].Parts[0].ID = "call_zz" }, "messages[2].content[0].tool_call_id"},
		{"effort", func(r *canon.Request) { r.Reasoning.Effort = "extreme" }, "reasoning_effort"},
	}
	for _, tt := range refusals {
		r := openAIStyle("gemini-2.5-flash")
		tt.edit(r)
		_, err := encodeRequest(nil, r)
		var fe *canon.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: err %v, want a FieldError on %s", tt.name, err, tt.field)
		}
	}
}

func TestEffortTable(t *testing.T) {
	for effort, want := range map[string]string{"minimal": "512", "low": "2048", "medium": "-1", "high": "24576", "none": "0"} {
		r := &canon.Request{Model: "gemini-2.5-pro", Reasoning: canon.Reasoning{Effort: effort}}
		b, err := encodeRequest(nil, r)
		if err != nil || !strings.Contains(string(b), `"thinkingConfig":{"thinkingBudget":`+want+`}`) {
			t.Errorf("%s: %s, %v", effort, b, err)
		}
	}
	r := &canon.Request{Model: "models/gemini-3-flash", Reasoning: canon.Reasoning{Effort: "minimal"}}
	if b, _ := encodeRequest(nil, r); !strings.Contains(string(b), `"thinkingLevel":"MINIMAL"`) {
		t.Errorf("gemini 3: %s", b)
	}
}

func TestEmbed(t *testing.T) {
	c := EmbedCodec()
	for _, tt := range []struct{ name, body, want string }{
		{"one", `{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"},{"text":"b"}]},"taskType":"RETRIEVAL_DOCUMENT","title":"T","outputDimensionality":8}`,
			`{"content":{"parts":[{"text":"a\u000ab"}]},"taskType":"RETRIEVAL_DOCUMENT","outputDimensionality":8}`},
		{"batch", `{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]}`,
			`{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]}`},
	} {
		var r canon.EmbedRequest
		if err := c.DecodeRequest([]byte(tt.body), &r); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		b, err := c.EncodeRequest(nil, &r)
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: %s, %v\nwant %s", tt.name, b, err, tt.want)
		}
	}
	var r canon.EmbedRequest
	err := c.DecodeRequest([]byte(`{"requests":[{"content":{"parts":[{"text":"a"}]},"taskType":"A"},{"content":{"parts":[{"text":"b"}]},"taskType":"B"}]}`), &r)
	var fe *canon.FieldError
	if !errors.As(err, &fe) || fe.Field != "requests[1].taskType" {
		t.Errorf("mixed task types: %v", err)
	}
	reply := canon.EmbedReply{Vectors: [][]float32{{0.5, -1}, {2}}}
	for _, batch := range []bool{true, false} {
		b := EncodeEmbedReply(nil, &reply, batch)
		var back canon.EmbedReply
		if err := c.DecodeReply(b, &back); err != nil || !reflect.DeepEqual(back.Vectors, reply.Vectors) {
			t.Errorf("batch %v: %s → %+v, %v", batch, b, back, err)
		}
	}
	one := canon.EmbedReply{Vectors: [][]float32{{1, 2}}}
	if got := string(c.EncodeReply(nil, &one, &canon.EmbedRequest{Inputs: []string{"x"}})); got != `{"embedding":{"values":[1,2]}}` {
		t.Errorf("one: %s", got)
	}
	var u canon.EmbedReply
	if err := c.DecodeReply([]byte(`{"embeddings":[{"values":[1]}],"usageMetadata":{"promptTokenCount":4}}`), &u); err != nil ||
		u.Usage != (wire.Usage{Input: 4, Valid: true}) {
		t.Errorf("usage %+v, %v", u.Usage, err)
	}
}

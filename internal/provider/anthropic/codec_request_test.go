package anthropic

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func TestCodecDecodeRequestGolden(t *testing.T) {
	for _, name := range []string{"claude_code", "documents", "minimal"} {
		t.Run(name, func(t *testing.T) {
			var r canon.Request
			if err := MessagesCodec().DecodeRequest(codecRead(t, name+".request.json"), &r); err != nil {
				t.Fatal(err)
			}
			codecGolden(t, name+".request.canon.json", codecDumpReq(t, &r))
		})
	}
}

// TestCodecClaudeCode checks what a Claude Code request carries into the
// canonical form, beyond the golden file.
func TestCodecClaudeCode(t *testing.T) {
	var r canon.Request
	if err := MessagesCodec().DecodeRequest(codecRead(t, "claude_code.request.json"), &r); err != nil {
		t.Fatal(err)
	}
	switch {
	case len(r.System) != 2 || r.System[0].Cache.Set || !r.System[1].Cache.Set:
		t.Errorf("system %+v", r.System)
	case len(r.Tools) != 2 || r.Tools[0].Cache.Set || r.Tools[1].Cache.TTL != "1h" || !strings.Contains(r.Tools[1].Schema, `"file_path"`):
		t.Errorf("tools %+v", r.Tools)
	case r.Reasoning.Budget != 31999 || r.MaxTokens != 32000 || !r.Stream || r.User != "user_2f1b_account_7c3d_session_9e8a":
		t.Errorf("reasoning %+v, max %d, stream %v, user %q", r.Reasoning, r.MaxTokens, r.Stream, r.User)
	case len(r.Messages) != 5:
		t.Fatalf("%d messages", len(r.Messages))
	}
	m0, m1, m2 := r.Messages[0].Parts, r.Messages[1].Parts, r.Messages[2].Parts
	if len(m0) != 3 || m0[2].Kind != canon.PartImage || m0[2].MediaType != "image/png" || !m0[1].Cache.Set {
		t.Errorf("message 0 %+v", m0)
	}
	if len(m1) != 3 || m1[0].Kind != canon.PartThinking || m1[0].Signature == "" || m1[2].Args != `{"file_path": "/src/main.go", "limit": 200}` {
		t.Errorf("message 1 %+v", m1)
	}
	if len(m2) != 2 || m2[0].Kind != canon.PartToolResult || m2[0].ID != "toolu_01A09q90qw90lq917835lq9" || canon.Text(m2[0].Content) == "" {
		t.Errorf("message 2 %+v", m2)
	}
	if p := r.Messages[3].Parts[0]; p.Kind != canon.PartThinking || p.Redacted == "" {
		t.Errorf("redacted thinking %+v", p)
	}
	if p := r.Messages[4].Parts[0]; !p.IsError || !p.Cache.Set {
		t.Errorf("error result %+v", p)
	}
}

func TestCodecDecodeRequestErrors(t *testing.T) {
	tests := []struct{ name, body, field string }{
		{"not json", `{"model":`, ""},
		{"not an object", `[1]`, "body"},
		{"server tool", `{"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, "tools[0].type"},
		{"bash tool", `{"tools":[{"name":"a","input_schema":{}},{"type":"bash_20250124","name":"bash"}]}`, "tools[1].type"},
		{"server block", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`, "messages[1].content[0].type"},
		{"search result", `{"messages":[{"role":"user","content":[{"type":"search_result","source":"s","title":"t","content":[]}]}]}`, "messages[0].content[0].type"},
		{"mcp", `{"messages":[{"role":"user","content":[{"type":"mcp_tool_use","id":"m"}]}]}`, "messages[0].content[0].type"},
		{"unknown block", `{"messages":[{"role":"user","content":[{"type":"audio"}]}]}`, "messages[0].content[0].type"},
		{"nested", `{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"tool_reference","tool_name":"x"}]}]}]}`, "messages[0].content[0].content[0].type"},
		{"file image", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[1].source.type"},
		{"content document", `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[]}}]}]}`, "messages[0].content[0].source.type"},
		{"system role", `{"messages":[{"role":"system","content":"x"}]}`, "messages[0].role"},
		{"container", `{"container":"c"}`, "container"},
		{"mcp servers", `{"mcp_servers":[]}`, "mcp_servers"},
		{"context management", `{"context_management":{"edits":[]}}`, "context_management"},
		{"inference geo", `{"inference_geo":"us"}`, "inference_geo"},
		{"unknown field", `{"frobnicate":1}`, "frobnicate"},
		{"task budget", `{"output_config":{"task_budget":{"type":"tokens","total":1000}}}`, "output_config.task_budget"},
		{"bad effort", `{"output_config":{"effort":"huge"}}`, "output_config.effort"},
		{"bad thinking", `{"thinking":{"type":"sometimes"}}`, "thinking.type"},
		{"bad budget", `{"thinking":{"type":"enabled","budget_tokens":"many"}}`, "thinking.budget_tokens"},
		{"bad cache", `{"system":[{"type":"text","text":"a","cache_control":{"type":"forever"}}]}`, "system[0].cache_control.type"},
		{"zero max tokens", `{"max_tokens":0}`, "max_tokens"},
		{"tool input", `{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"b","input":[1]}]}]}`, "messages[0].content[0].input"},
		{"defer loading", `{"tools":[{"name":"a","input_schema":{},"defer_loading":true}]}`, "tools[0].defer_loading"},
		{"tool choice", `{"tool_choice":{"type":"tool"}}`, "tool_choice.name"},
		{"format", `{"output_format":{"type":"json_object"}}`, "output_format.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r canon.Request
			err := MessagesCodec().DecodeRequest([]byte(tt.body), &r)
			if tt.field == "" {
				if !errors.Is(err, canon.ErrInvalidJSON) {
					t.Fatalf("err %v, want ErrInvalidJSON", err)
				}
				return
			}
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Msg == "" {
				t.Fatalf("err %v, want a field error on %s", err, tt.field)
			}
		})
	}
}

// codecEncodeCases are canonical requests the encoder writes, each with
// the model whose profile it tests.
func codecEncodeCases(t testing.TB) map[string]*canon.Request {
	decoded := func(name, model string) *canon.Request {
		var r canon.Request
		if err := MessagesCodec().DecodeRequest(codecRead(t, name), &r); err != nil {
			t.Fatal(err)
		}
		r.Model = model
		return &r
	}
	cached := canon.Cache{Set: true}
	return map[string]*canon.Request{
		// Claude Code's request to a model of the same profile.
		"claude_code": decoded("claude_code.request.json", "claude-sonnet-4-5-20250929"),
		// The same to Opus 4.7: adaptive thinking, no temperature.
		"claude_code_opus47": decoded("claude_code.request.json", "claude-opus-4-7"),
		"documents":          decoded("documents.request.json", "claude-opus-4-7"),
		// An OpenAI client's request: reasoning effort, no max tokens,
		// sampling, parallel tools off, a JSON schema, a data URL,
		// reasoning without a signature, a tool result after text and six
		// breakpoints.
		"openai_client": {
			Model: "claude-sonnet-4-6", Temperature: []byte("0.7"), TopP: []byte("0.5"), Seed: []byte("7"),
			FrequencyPenalty: []byte("0.1"), Stop: []string{"END"}, User: "u-1", ServiceTier: "priority",
			Metadata:  []canon.KV{{Key: "k", Value: "v"}},
			Reasoning: canon.Reasoning{Effort: "xhigh", Summary: "detailed"},
			Format:    canon.ResponseFormat{Kind: canon.FormatJSONSchema, Name: "out", Schema: `{"type":"object"}`, Strict: true},
			System:    []canon.Part{{Kind: canon.PartText, Text: "sys", Cache: cached}, {Kind: canon.PartText}},
			Tools: []canon.Tool{{Name: "f", Description: "does f", Schema: `{"type":"object","properties":{"a":{"type":"string"}}}`, Cache: cached},
				{Name: "g", Cache: cached}},
			ToolChoice:    canon.ToolChoice{Set: true, Mode: canon.ToolAuto},
			ParallelTools: canon.TriFalse,
			Messages: []canon.Message{
				{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "look", Cache: cached},
					{Kind: canon.PartImage, URL: "data:image/png;base64,iVBORw0KGgo=", Detail: "high", Cache: cached}}},
				{Role: canon.RoleAssistant, Parts: []canon.Part{{Kind: canon.PartThinking, Text: "gpt reasoning"},
					{Kind: canon.PartText, Text: ""}, {Kind: canon.PartToolCall, ID: "call_1.x", Name: "f", Args: `{"a":"b"}`}}},
				{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "and then"},
					{Kind: canon.PartToolResult, ID: "call_1.x", Content: []canon.Part{{Kind: canon.PartText, Text: "ok", Cache: cached}}}}},
				{Role: canon.RoleAssistant, Parts: []canon.Part{{Kind: canon.PartThinking, Text: "no signature"}}},
			},
		},
		// A budget bigger than max_tokens on Sonnet 3.7.
		"budget_fit": {Model: "claude-3-7-sonnet-20250219", MaxTokens: 1000, Reasoning: canon.Reasoning{Budget: 20000},
			Temperature: []byte("0.3"), TopP: []byte("0.97"), TopK: []byte("5"),
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "hi"}}}}},
		// An unknown model: 4096 tokens, medium effort's budget.
		"unknown_model": {Model: "my-compatible-model", Reasoning: canon.Reasoning{Effort: "medium"},
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "hi"}}}}},
		// A forced tool: no thinking; effort stays on Opus 4.5.
		"forced_tool": {Model: "claude-opus-4-5-20251101", Reasoning: canon.Reasoning{Effort: "low"},
			Tools: []canon.Tool{{Name: "f"}}, ToolChoice: canon.ToolChoice{Set: true, Mode: canon.ToolNamed, Name: "f"},
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "hi"}}}}},
		// Thinking off, a text document, a PDF URL, Gemini's budget on
		// Sonnet 4.6 (kept as a budget) and tool choice without tools.
		"disabled": {Model: "claude-sonnet-4-6", Reasoning: canon.Reasoning{Disabled: true},
			ToolChoice: canon.ToolChoice{Set: true, Mode: canon.ToolRequired},
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{
				{Kind: canon.PartDocument, MediaType: "text/markdown", Data: "IyBUaXRsZQ==", Name: "notes.md"},
				{Kind: canon.PartDocument, URL: "https://example.com/x.pdf"},
				{Kind: canon.PartRefusal, Text: "refused"}}}}},
		"gemini_budget": {Model: "claude-sonnet-4-6", Reasoning: canon.Reasoning{Budget: 512}, MaxTokens: 600,
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "hi"}}}}},
	}
}

func TestCodecEncodeRequestGolden(t *testing.T) {
	for name, r := range codecEncodeCases(t) {
		t.Run(name, func(t *testing.T) {
			body, err := MessagesCodec().EncodeRequest([]byte("prefix"), r)
			if err != nil {
				t.Fatal(err)
			}
			if string(body[:6]) != "prefix" {
				t.Fatalf("the encoder overwrote dst: %q", body[:6])
			}
			codecGolden(t, name+".encoded.json", codecIndent(t, body[6:]))
		})
	}
}

func TestCodecEncodeRequestRules(t *testing.T) {
	cases := codecEncodeCases(t)
	enc := func(name string) gjson.Result {
		body, err := MessagesCodec().EncodeRequest(nil, cases[name])
		if err != nil {
			t.Fatal(err)
		}
		return gjson.ParseBytes(body)
	}
	oa := enc("openai_client")
	if n := strings.Count(oa.Raw, `"cache_control"`); n != codecMaxBreakpoints {
		t.Errorf("%d breakpoints, want the last %d", n, codecMaxBreakpoints)
	}
	if oa.Get("tools.0.cache_control").Exists() || oa.Get("tools.1.cache_control").Exists() || !oa.Get("messages.2.content.0.content.0.cache_control").Exists() {
		t.Errorf("the first breakpoints are not the ones dropped: %s", oa.Raw)
	}
	if oa.Get("temperature").Exists() || oa.Get("top_p").Exists() || oa.Get("seed").Exists() {
		t.Errorf("sampling with thinking on: %s", oa.Raw)
	}
	if got := oa.Get("messages.2.content.0.type").Str; got != "tool_result" {
		t.Errorf("user message starts with %q, want the tool result", got)
	}
	if oa.Get("messages.#").Int() != 3 || oa.Get("messages.1.content.#").Int() != 1 {
		t.Errorf("reasoning without a signature and empty text are not left out: %s", oa.Get("messages").Raw)
	}
	if oa.Get("messages.1.content.0.id").Str != "call_1_x" || oa.Get("messages.2.content.0.tool_use_id").Str != "call_1_x" {
		t.Errorf("tool ids not made Anthropic's: %s", oa.Get("messages").Raw)
	}
	if oa.Get("thinking.type").Str != "adaptive" || oa.Get("output_config.effort").Str != "max" || oa.Get("max_tokens").Int() != 128000 {
		t.Errorf("thinking %s, output_config %s, max_tokens %s", oa.Get("thinking").Raw, oa.Get("output_config").Raw, oa.Get("max_tokens").Raw)
	}
	bf := enc("budget_fit")
	if bf.Get("max_tokens").Int() != 21000 || bf.Get("thinking.budget_tokens").Int() != 20000 || bf.Get("temperature").Exists() || bf.Get("top_p").Raw != "0.97" {
		t.Errorf("budget fit: %s", bf.Raw)
	}
	um := enc("unknown_model")
	if um.Get("thinking.budget_tokens").Int() != 8192 || um.Get("max_tokens").Int() != 8192+4096 {
		t.Errorf("unknown model: %s", um.Raw)
	}
	ft := enc("forced_tool")
	if ft.Get("thinking").Exists() || ft.Get("output_config.effort").Str != "low" {
		t.Errorf("forced tool: %s", ft.Raw)
	}
	gb := enc("gemini_budget")
	if gb.Get("thinking.budget_tokens").Int() != 1024 || gb.Get("max_tokens").Int() != 1624 {
		t.Errorf("gemini budget: %s", gb.Raw)
	}
	ds := enc("disabled")
	if ds.Get("thinking.type").Str != "disabled" || ds.Get("tool_choice").Exists() {
		t.Errorf("disabled: %s", ds.Raw)
	}
}

func TestCodecEncodeRequestErrors(t *testing.T) {
	msg := func(p ...canon.Part) []canon.Message { return []canon.Message{{Role: canon.RoleUser, Parts: p}} }
	tests := []struct {
		name  string
		r     canon.Request
		field string
	}{
		{"n", canon.Request{N: 2}, "n"},
		{"previous response", canon.Request{PreviousResponseID: "resp_1"}, "previous_response_id"},
		{"store", canon.Request{Store: canon.TriTrue}, "store"},
		{"effort", canon.Request{Reasoning: canon.Reasoning{Effort: "extreme"}}, "reasoning_effort"},
		{"schema", canon.Request{Format: canon.ResponseFormat{Kind: canon.FormatJSONSchema}}, "response_format"},
		{"args", canon.Request{Messages: msg(canon.Part{Kind: canon.PartToolCall, ID: "a", Name: "f", Args: "{oops"})}, "messages[0].content[0].arguments"},
		{"docx", canon.Request{Messages: msg(canon.Part{Kind: canon.PartDocument, MediaType: "application/msword", Data: "AA=="})}, "messages[0].content[0].document"},
		{"text doc", canon.Request{Messages: msg(canon.Part{Kind: canon.PartDocument, MediaType: "text/plain", Data: "!!"})}, "messages[0].content[0].document"},
		{"empty image", canon.Request{Messages: msg(canon.Part{Kind: canon.PartImage})}, "messages[0].content[0].image"},
		{"role", canon.Request{Messages: []canon.Message{{Role: 9}}}, "messages[0].role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, err := MessagesCodec().EncodeRequest([]byte("x"), &tt.r)
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err %v, want a field error on %s", err, tt.field)
			}
			if string(dst) != "x" {
				t.Errorf("dst %q after an error, want it as it was", dst)
			}
		})
	}
}

// TestCodecRequestRoundTrip checks decode(encode(x)) == x for what the
// format carries, and encode(decode(body)) for Anthropic's own requests.
func TestCodecRequestRoundTrip(t *testing.T) {
	for _, name := range []string{"claude_code", "documents", "minimal"} {
		t.Run(name, func(t *testing.T) {
			codec := MessagesCodec()
			var first, second canon.Request
			if err := codec.DecodeRequest(codecRead(t, name+".request.json"), &first); err != nil {
				t.Fatal(err)
			}
			body, err := codec.EncodeRequest(nil, &first)
			if err != nil {
				t.Fatal(err)
			}
			if err := codec.DecodeRequest(body, &second); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			want := first
			codecCarried(&want)
			if !reflect.DeepEqual(codecDumpReq(t, &second), codecDumpReq(t, &want)) {
				t.Errorf("round trip differs:\n got %s\nwant %s", codecDumpReq(t, &second), codecDumpReq(t, &want))
			}
		})
	}
}

// codecCarried changes a decoded request the way the encoder's documented
// rules do for its model, so a round trip can be compared with it.
func codecCarried(r *canon.Request) {
	p := codecModelProfile(r.Model)
	switch {
	case p.think == codecThinkAdaptive:
		// Opus 4.7: no sampling, and the forced tool turns thinking off.
		r.Temperature, r.TopP, r.TopK = nil, nil, nil
		if r.ToolChoice.Mode == canon.ToolNamed {
			r.Reasoning.Summary = ""
		}
		// The cache breakpoint the top-level cache_control placed is
		// written where it sits.
	case r.Reasoning.Budget > 0:
		r.Temperature, r.TopK = nil, nil
	}
	if r.Reasoning.Disabled && p.think == codecThinkNone {
		r.Reasoning.Disabled = false
	}
	if !r.ToolChoice.Set || len(r.Tools) > 0 {
		return
	}
	r.ToolChoice = canon.ToolChoice{}
}

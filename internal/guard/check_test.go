package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
)

// The three rules of the L2 bench tier.
func l2Rules() []Rule {
	return []Rule{
		{Name: "ssn", Kind: "ssn", Action: Block, Scope: Input},
		{Name: "credit_card", Kind: "credit_card", Action: Block, Scope: Input},
		{Name: "email", Kind: "email", Action: Redact, Scope: Input | Output},
	}
}

func TestCheckRequest(t *testing.T) {
	const mail = "bob@example.com"
	const red = "[REDACTED:EMAIL]"
	tests := []struct {
		name string
		op   provider.Operation
		body string
		want string // expected body; "" = unchanged
		err  string // "violation:<rule>", "limit" or "" (no error)
		verd []Verdict
	}{
		{name: "chat clean", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"hello there"}]}`},
		{name: "chat string content redacted", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"mail ` + mail + ` now"}]}`,
			want: `{"model":"m","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"mail ` + red + ` now"}]}`,
			verd: []Verdict{{"email", Redact, Input, 1}}},
		{name: "chat parts, every role, tool args", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":"a ` + mail + `"}]},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"to\":\"` + mail + `\"}"}}]},` +
				`{"role":"tool","tool_call_id":"c","content":"sent to ` + mail + `"},` +
				`{"role":"assistant","function_call":{"name":"g","arguments":"` + mail + `"}}]}`,
			want: `{"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":"a ` + red + `"}]},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"to\":\"` + red + `\"}"}}]},` +
				`{"role":"tool","tool_call_id":"c","content":"sent to ` + red + `"},` +
				`{"role":"assistant","function_call":{"name":"g","arguments":"` + red + `"}}]}`,
			verd: []Verdict{{"email", Redact, Input, 4}}},
		{name: "escapes decoded and re-encoded", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"line\n\"q\" bob\u0040example.com\tend \u00e9"}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":"line\u000a\"q\" ` + red + "\\u0009end é" + `"}]}`,
			verd: []Verdict{{"email", Redact, Input, 1}}},
		{name: "escaped key is still content", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","con\u0074ent":"ssn 123-45-6789"}]}`,
			err:  "violation:ssn", verd: []Verdict{{"ssn", Block, Input, 1}}},
		{name: "ssn blocks", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"my ssn is 123-45-6789"}]}`,
			err:  "violation:ssn", verd: []Verdict{{"ssn", Block, Input, 1}}},
		{name: "card blocks, email still counted", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"4111 1111 1111 1111 and ` + mail + `"}]}`,
			err:  "violation:credit_card", verd: []Verdict{{"credit_card", Block, Input, 1}, {"email", Redact, Input, 1}}},
		{name: "completions prompt array", op: provider.OpCompletions,
			body: `{"model":"m","prompt":["x ` + mail + `",[1,2,3],"y"],"suffix":"` + mail + `"}`,
			want: `{"model":"m","prompt":["x ` + red + `",[1,2,3],"y"],"suffix":"` + red + `"}`,
			verd: []Verdict{{"email", Redact, Input, 2}}},
		{name: "embeddings string", op: provider.OpEmbeddings,
			body: `{"model":"m","input":"` + mail + `"}`,
			want: `{"model":"m","input":"` + red + `"}`,
			verd: []Verdict{{"email", Redact, Input, 1}}},
		{name: "embeddings tokens are not text", op: provider.OpEmbeddings,
			body: `{"model":"m","input":[[1,2],[3]]}`},
		{name: "responses items", op: provider.OpResponses,
			body: `{"model":"m","instructions":"` + mail + `","input":[{"role":"user","content":[{"type":"input_text","text":"` + mail + `"}]},` +
				`{"type":"function_call","call_id":"c","name":"f","arguments":"{\"a\":\"` + mail + `\"}"},` +
				`{"type":"function_call_output","call_id":"c","output":"` + mail + `"},{"role":"assistant","content":"` + mail + `"}]}`,
			want: `{"model":"m","instructions":"` + red + `","input":[{"role":"user","content":[{"type":"input_text","text":"` + red + `"}]},` +
				`{"type":"function_call","call_id":"c","name":"f","arguments":"{\"a\":\"` + red + `\"}"},` +
				`{"type":"function_call_output","call_id":"c","output":"` + red + `"},{"role":"assistant","content":"` + red + `"}]}`,
			verd: []Verdict{{"email", Redact, Input, 5}}},
		{name: "responses string input", op: provider.OpResponses,
			body: `{"model":"m","input":"` + mail + `"}`,
			want: `{"model":"m","input":"` + red + `"}`,
			verd: []Verdict{{"email", Redact, Input, 1}}},
		{name: "anthropic system, blocks, tools", op: provider.OpMessages,
			body: `{"model":"m","max_tokens":5,"system":[{"type":"text","text":"` + mail + `"}],"messages":[` +
				`{"role":"user","content":"` + mail + `"},` +
				`{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":"f","input":{"to":"` + mail + `","n":[{"x":"` + mail + `"}],"k":1}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"` + mail + `"}]},{"type":"tool_result","tool_use_id":"u","content":"` + mail + `"}]}]}`,
			want: `{"model":"m","max_tokens":5,"system":[{"type":"text","text":"` + red + `"}],"messages":[` +
				`{"role":"user","content":"` + red + `"},` +
				`{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":"f","input":{"to":"` + red + `","n":[{"x":"` + red + `"}],"k":1}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"` + red + `"}]},{"type":"tool_result","tool_use_id":"u","content":"` + red + `"}]}]}`,
			verd: []Verdict{{"email", Redact, Input, 6}}},
		{name: "anthropic text documents, not base64 ones", op: provider.OpMessages,
			body: `{"model":"m","messages":[{"role":"user","content":[` +
				`{"type":"document","source":{"type":"text","media_type":"text/plain","data":"` + mail + `"}},` +
				`{"type":"document","source":{"data":"` + mail + `","type":"base64","media_type":"application/pdf"}},` +
				`{"type":"document","source":{"type":"content","content":[{"type":"text","text":"` + mail + `"}]}}]}]}`,
			want: `{"model":"m","messages":[{"role":"user","content":[` +
				`{"type":"document","source":{"type":"text","media_type":"text/plain","data":"` + red + `"}},` +
				`{"type":"document","source":{"data":"` + mail + `","type":"base64","media_type":"application/pdf"}},` +
				`{"type":"document","source":{"type":"content","content":[{"type":"text","text":"` + red + `"}]}}]}]}`,
			verd: []Verdict{{"email", Redact, Input, 2}}},
		{name: "anthropic system string blocks", op: provider.OpCountTokens,
			body: `{"model":"m","system":"my ssn 123-45-6789","messages":[]}`,
			err:  "violation:ssn", verd: []Verdict{{"ssn", Block, Input, 1}}},
		// Issue #15: tool descriptions and message names are text a model
		// reads.
		{name: "chat tool descriptions and message names", op: provider.OpChat,
			body: `{"model":"m","tools":[{"type":"function","function":{"name":"f","description":"ask ` + mail + `","parameters":{"type":"object"}}},` +
				`{"type":"custom","custom":{"name":"g","description":"` + mail + `"}}],` +
				`"functions":[{"name":"h","description":"` + mail + `","parameters":{}}],` +
				`"messages":[{"role":"user","name":"` + mail + `","content":"hi"}]}`,
			want: `{"model":"m","tools":[{"type":"function","function":{"name":"f","description":"ask ` + red + `","parameters":{"type":"object"}}},` +
				`{"type":"custom","custom":{"name":"g","description":"` + red + `"}}],` +
				`"functions":[{"name":"h","description":"` + red + `","parameters":{}}],` +
				`"messages":[{"role":"user","name":"` + red + `","content":"hi"}]}`,
			verd: []Verdict{{"email", Redact, Input, 4}}},
		{name: "chat tool description blocks", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","description":"ssn 123-45-6789"}}]}`,
			err:  "violation:ssn", verd: []Verdict{{"ssn", Block, Input, 1}}},
		{name: "chat message name blocks", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"hi","name":"4111 1111 1111 1111"}]}`,
			err:  "violation:credit_card", verd: []Verdict{{"credit_card", Block, Input, 1}}},
		{name: "responses tool descriptions", op: provider.OpResponses,
			body: `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","description":"` + mail + `","parameters":{}},{"type":"web_search"}]}`,
			want: `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","description":"` + red + `","parameters":{}},{"type":"web_search"}]}`,
			verd: []Verdict{{"email", Redact, Input, 1}}},
		{name: "anthropic tool descriptions", op: provider.OpMessages,
			body: `{"model":"m","max_tokens":5,"tools":[{"name":"f","description":"` + mail + `","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}`,
			want: `{"model":"m","max_tokens":5,"tools":[{"name":"f","description":"` + red + `","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}`,
			verd: []Verdict{{"email", Redact, Input, 1}}},
		{name: "count_tokens tool description blocks", op: provider.OpCountTokens,
			body: `{"model":"m","messages":[],"tools":[{"name":"f","description":"my ssn 123-45-6789","input_schema":{}}]}`,
			err:  "violation:ssn", verd: []Verdict{{"ssn", Block, Input, 1}}},
		{name: "a key is not text", op: provider.OpChat,
			body: `{"model":"m","messages":[{"role":"user","content":"hi","` + mail + `":"x"}]}`},
		{name: "unknown operation scans nothing", op: 0,
			body: `{"model":"m","messages":[{"role":"user","content":"123-45-6789"}]}`},
	}
	p := mustPolicy(t, l2Rules()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test body is not valid JSON")
			}
			body := []byte(tt.body)
			out, v, err := p.CheckRequest(provider.FormatOpenAI, tt.op, body, make([]byte, 0, 16), nil)
			checkErr(t, err, tt.err)
			if !reflect.DeepEqual(v, tt.verd) {
				t.Errorf("verdicts = %v, want %v", v, tt.verd)
			}
			if tt.want == "" {
				if &out[0] != &body[0] || len(out) != len(body) {
					t.Errorf("body changed or copied: %s", out)
				}
				return
			}
			if string(out) != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", out, tt.want)
			}
			if !json.Valid(out) {
				t.Errorf("rewritten body is not valid JSON")
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	var ve *Violation
	var le *LimitError
	switch {
	case want == "" && err != nil:
		t.Fatalf("err = %v, want none", err)
	case want == "limit":
		if !errors.As(err, &le) {
			t.Fatalf("err = %v, want a *LimitError", err)
		}
	case strings.HasPrefix(want, "violation:"):
		if !errors.As(err, &ve) || ve.Rule != strings.TrimPrefix(want, "violation:") {
			t.Fatalf("err = %v, want a violation of %s", err, want)
		}
	}
}

func TestCheckRequestSizeRules(t *testing.T) {
	p := mustPolicy(t,
		Rule{Name: "chars", Kind: KindMaxChars, Limit: 10, Action: Block},
		Rule{Name: "msgs", Kind: KindMaxMessages, Limit: 2, Action: Flag, Scope: Input},
	)
	tests := []struct {
		name string
		op   provider.Operation
		body string
		err  string
		verd []Verdict
	}{
		{"under both", provider.OpChat, `{"model":"m","messages":[{"role":"user","content":"ééééé"},{"role":"user","content":"abcde"}]}`, "", nil},
		{"chars counted in runes, escapes decoded", provider.OpChat, `{"model":"m","messages":[{"role":"user","content":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"},{"role":"user","content":"abcde"}]}`,
			"violation:chars", []Verdict{{"chars", Block, Input, 1}}},
		{"messages flagged", provider.OpChat, `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}`,
			"", []Verdict{{"msgs", Flag, Input, 1}}},
		{"anthropic messages, system not counted", provider.OpMessages, `{"model":"m","system":"s","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`, "", nil},
		{"responses items", provider.OpResponses, `{"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"}]}`,
			"", []Verdict{{"msgs", Flag, Input, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, v, err := p.CheckRequest(provider.FormatOpenAI, tt.op, []byte(tt.body), nil, nil)
			checkErr(t, err, tt.err)
			if !reflect.DeepEqual(v, tt.verd) {
				t.Errorf("verdicts = %v, want %v", v, tt.verd)
			}
		})
	}
}

func TestCheckRequestScanLimit(t *testing.T) {
	p := limitPolicy(t, 20, l2Rules()...)
	tests := []struct {
		name, content string
		err           string
	}{
		{"at the limit", strings.Repeat("a", 20), ""},
		{"over the limit", strings.Repeat("a", 21), "limit"},
		{"escapes count decoded", strings.Repeat(`\n`, 20), ""},
		{"escapes over", strings.Repeat(`\n`, 21), "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"m","messages":[{"role":"user","content":"` + tt.content + `"}]}`
			_, _, err := p.CheckRequest(provider.FormatOpenAI, provider.OpChat, []byte(body), nil, nil)
			checkErr(t, err, tt.err)
			var le *LimitError
			if errors.As(err, &le) && (le.Limit != 20 || le.Size != 21) {
				t.Errorf("LimitError = %+v, want limit 20 size 21", le)
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	const mail = "bob@example.com"
	const red = "[REDACTED:EMAIL]"
	tests := []struct {
		name string
		op   provider.Operation
		body string
		want string
	}{
		{"chat content and tool args", provider.OpChat,
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"` + mail + `","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{\"e\":\"` + mail + `\"}"}}]}}]}`,
			`{"choices":[{"index":0,"message":{"role":"assistant","content":"` + red + `","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{\"e\":\"` + red + `\"}"}}]}}]}`},
		{"completions", provider.OpCompletions,
			`{"choices":[{"text":"` + mail + `","index":0},{"text":"no","index":1}]}`,
			`{"choices":[{"text":"` + red + `","index":0},{"text":"no","index":1}]}`},
		{"responses", provider.OpResponses,
			`{"output":[{"type":"message","content":[{"type":"output_text","text":"` + mail + `","annotations":[]}]},{"type":"function_call","arguments":"` + mail + `"}]}`,
			`{"output":[{"type":"message","content":[{"type":"output_text","text":"` + red + `","annotations":[]}]},{"type":"function_call","arguments":"` + red + `"}]}`},
		{"anthropic", provider.OpMessages,
			`{"content":[{"type":"text","text":"` + mail + `"},{"type":"tool_use","id":"t","name":"f","input":{"a":"` + mail + `"}}]}`,
			`{"content":[{"type":"text","text":"` + red + `"},{"type":"tool_use","id":"t","name":"f","input":{"a":"` + red + `"}}]}`},
		{"embeddings have no output text", provider.OpEmbeddings, `{"data":[{"embedding":"` + mail + `"}]}`, ""},
		{"input-only rules do not apply", provider.OpChat,
			`{"choices":[{"message":{"content":"123-45-6789"}}]}`, ""},
	}
	p := mustPolicy(t, l2Rules()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			out, v, err := p.CheckResponse(provider.FormatOpenAI, tt.op, body, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if string(out) != tt.body || len(v) != 0 {
					t.Errorf("changed: %s %v", out, v)
				}
				return
			}
			if string(out) != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", out, tt.want)
			}
			if len(v) != 1 || v[0].Scope != Output || v[0].Rule != "email" {
				t.Errorf("verdicts = %v", v)
			}
		})
	}
}

func TestCheckUnreadable(t *testing.T) {
	p := mustPolicy(t, reRule("x", `secret`, Redact, Input|Output))
	tests := []struct {
		name, body string
		want       error
	}{
		{"array", `[1,2]`, ErrNotObject},
		{"empty", ``, ErrNotObject},
		{"cut short", `{"model":"m","messages":[`, ErrInvalidJSON},
		{"invalid around a match", `{"model":"m","messages":[{"content":"secret"}],}`, ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := p.CheckRequest(provider.FormatOpenAI, provider.OpChat, []byte(tt.body), nil, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if string(out) != tt.body {
				t.Errorf("out = %q, want the body", out)
			}
		})
	}
}

func TestOverlapResolution(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		text  string
		want  string
		verd  []Verdict
		block string
	}{
		{"longest wins at the same start",
			[]Rule{reRule("short", `abc`, Redact, Output), reRule("long", `abcdef`, Redact, Output)},
			"xabcdefx", "x[REDACTED:LONG]x",
			[]Verdict{{"short", Redact, Output, 1}, {"long", Redact, Output, 1}}, ""},
		{"earliest start wins",
			[]Rule{reRule("b", `cdef`, Redact, Output), reRule("a", `abcd`, Redact, Output)},
			"abcdef", "[REDACTED:A]ef",
			[]Verdict{{"b", Redact, Output, 1}, {"a", Redact, Output, 1}}, ""},
		{"same span: first rule's label",
			[]Rule{reRule("one", `abc`, Redact, Output), reRule("two", `a[b]c`, Redact, Output)},
			"abc", "[REDACTED:ONE]",
			[]Verdict{{"one", Redact, Output, 1}, {"two", Redact, Output, 1}}, ""},
		{"flag does not stop a redaction",
			[]Rule{reRule("f", `abcdef`, Flag, Output), reRule("r", `cd`, Redact, Output)},
			"abcdef", "ab[REDACTED:R]ef",
			[]Verdict{{"f", Flag, Output, 1}, {"r", Redact, Output, 1}}, ""},
		{"block wins over everything",
			[]Rule{reRule("r", `abc`, Redact, Output), reRule("b", `c`, Block, Output)},
			"abc", "",
			[]Verdict{{"r", Redact, Output, 1}, {"b", Block, Output, 1}}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t, tt.rules...)
			out, v, err := p.CheckResponse(provider.FormatOpenAI, provider.OpChat, chatReply(tt.text), nil, nil)
			if tt.block != "" {
				checkErr(t, err, "violation:"+tt.block)
			} else if err != nil {
				t.Fatal(err)
			} else if got := replyText(t, out); got != tt.want {
				t.Errorf("text = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(v, tt.verd) {
				t.Errorf("verdicts = %v, want %v", v, tt.verd)
			}
		})
	}
}

func TestCheckConcurrent(t *testing.T) {
	p := mustPolicy(t, l2Rules()...)
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"write to a@example.com"}]}`)
	want := `{"model":"m","messages":[{"role":"user","content":"write to [REDACTED:EMAIL]"}]}`
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			var dst []byte
			for range 200 {
				out, _, err := p.CheckRequest(provider.FormatOpenAI, provider.OpChat, body, dst, nil)
				if err != nil || string(out) != want {
					errs <- fmt.Sprintf("%s %v", out, err)
					return
				}
				dst = out
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
}

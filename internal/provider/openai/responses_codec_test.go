package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// The golden files of the Responses codec live in testdata/responses_codec
// and are refreshed with -update. The flag may be defined by another test
// file of the package too: the one defined first serves both.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func respUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const respTestdata = "testdata/responses_codec"

// respGolden compares got with the golden file name, or rewrites it.
func respGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(respTestdata, name)
	if respUpdating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func respRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(respTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// respDump renders v as indented JSON without its zero fields, raw
// numbers ([]byte fields) as strings, for golden files people read.
func respDump(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(respPrune(tree)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func respPrune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = respPrune(e)
			if e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i := range x {
			if x[i] = respPrune(x[i]); x[i] == nil {
				x[i] = map[string]any{}
			}
		}
	case string:
		if x == "" {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	}
	return v
}

// respReqView shows a request's raw numbers as text.
type respReqView struct {
	*canon.Request
	Temperature, TopP, TopK, FrequencyPenalty, PresencePenalty, Seed string
}

func respViewReq(r *canon.Request) respReqView {
	return respReqView{Request: r, Temperature: string(r.Temperature), TopP: string(r.TopP), TopK: string(r.TopK),
		FrequencyPenalty: string(r.FrequencyPenalty), PresencePenalty: string(r.PresencePenalty), Seed: string(r.Seed)}
}

// respIndent indents a JSON body for a golden file.
func respIndent(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return append(b.Bytes(), '\n')
}

func TestResponsesDecodeRequest(t *testing.T) {
	for _, name := range []string{"req_codex", "req_sdk", "req_string"} {
		t.Run(name, func(t *testing.T) {
			var r canon.Request
			if err := respDecodeRequest(respRead(t, name+".json"), &r); err != nil {
				t.Fatal(err)
			}
			respGolden(t, name+".canon.json", respDump(t, respViewReq(&r)))
		})
	}
}

// A Codex CLI request (instructions, developer and user messages,
// reasoning with encrypted content, function calls and their outputs,
// function tools, store false, include, stream) decodes into the
// conversation an Anthropic or Gemini model needs.
func TestResponsesDecodeCodexRequest(t *testing.T) {
	var r canon.Request
	if err := respDecodeRequest(respRead(t, "req_codex.json"), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.System) != 2 || !strings.HasPrefix(r.System[0].Text, "You are Codex") || !strings.Contains(r.System[1].Text, "permissions") {
		t.Errorf("system %+v", r.System)
	}
	roles := make([]canon.Role, len(r.Messages))
	for i, m := range r.Messages {
		roles[i] = m.Role
	}
	want := []canon.Role{canon.RoleUser, canon.RoleAssistant, canon.RoleUser, canon.RoleAssistant, canon.RoleUser}
	if !reflect.DeepEqual(roles, want) {
		t.Fatalf("roles %v, want %v", roles, want)
	}
	a := r.Messages[1].Parts
	if len(a) != 2 || a[0].Kind != canon.PartThinking || a[0].Signature != "EqQBCkgIARABGAIiQL0signature" || a[0].Redacted != "" ||
		a[1].Kind != canon.PartToolCall || a[1].ID != "toolu_01A" || a[1].Name != "shell" {
		t.Errorf("first assistant turn %+v", a)
	}
	if th := r.Messages[3].Parts[0]; th.Kind != canon.PartThinking || th.Redacted != "gAAAAABopenai-encrypted==" || th.Text != "" {
		t.Errorf("encrypted reasoning %+v", th)
	}
	res := r.Messages[4].Parts
	if len(res) != 2 || res[0].Kind != canon.PartToolResult || len(res[0].Content) != 2 || res[0].Content[1].Kind != canon.PartImage ||
		res[1].Kind != canon.PartText {
		t.Errorf("last user turn %+v", res)
	}
	if r.Store != canon.TriFalse || !r.Stream || r.ParallelTools != canon.TriFalse || len(r.Tools) != 2 || !r.Tools[1].Strict ||
		r.Reasoning.Effort != "medium" || r.Reasoning.Summary != "auto" || !r.ToolChoice.Set {
		t.Errorf("request %+v", r)
	}
}

func TestResponsesDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"array body", `[1]`, "body"},
		{"hosted tool", `{"input":"x","tools":[{"type":"function","name":"f"},{"type":"web_search"}]}`, "tools[1].type"},
		{"hosted item", `{"input":[{"role":"user","content":"x"},{"type":"web_search_call","id":"ws"}]}`, "input[1].type"},
		{"custom tool call", `{"input":[{"type":"custom_tool_call","call_id":"c","name":"apply_patch","input":"x"}]}`, "input[0].type"},
		{"item reference", `{"input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type"},
		{"no type", `{"input":[{"content":"x"}]}`, "input[0].type"},
		{"bad role", `{"input":[{"role":"tool","content":"x"}]}`, "input[0].role"},
		{"image file id", `{"input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "input[0].content[0].file_id"},
		{"file id", `{"input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`, "input[0].content[0].file_id"},
		{"audio", `{"input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_audio"}]}]}`, "input[0].content[1].type"},
		{"assistant image", `{"input":[{"role":"assistant","content":[{"type":"input_image","image_url":"https://x"}]}]}`, "input[0].content[0].type"},
		{"bad data url", `{"input":[{"role":"user","content":[{"type":"input_image","image_url":"data:image/png,abc"}]}]}`, "input[0].content[0].image_url"},
		{"output part", `{"input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_audio"}]}]}`, "input[0].output[0].type"},
		{"call without id", `{"input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id"},
		{"summary text", `{"input":[{"type":"reasoning","summary":[{"type":"summary_text"}]}]}`, "input[0].summary[0].text"},
		{"background", `{"input":"x","background":true}`, "background"},
		{"conversation", `{"input":"x","conversation":"conv_1"}`, "conversation"},
		{"prompt", `{"prompt":{"id":"pmpt_1"}}`, "prompt"},
		{"unknown field", `{"input":"x","n":2}`, "n"},
		{"tool choice hosted", `{"input":"x","tool_choice":{"type":"web_search_preview"}}`, "tool_choice.type"},
		{"tool choice word", `{"input":"x","tool_choice":"any"}`, "tool_choice"},
		{"effort", `{"input":"x","reasoning":{"effort":"max"}}`, "reasoning.effort"},
		{"format", `{"input":"x","text":{"format":{"type":"grammar"}}}`, "text.format.type"},
		{"metadata", `{"input":"x","metadata":{"a":1}}`, "metadata.a"},
		{"temperature", `{"input":"x","temperature":"hot"}`, "temperature"},
		{"max tokens", `{"input":"x","max_output_tokens":1.5}`, "max_output_tokens"},
		{"input type", `{"input":{"role":"user"}}`, "input"},
		{"truncation", `{"input":"x","truncation":"middle"}`, "truncation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r canon.Request
			err := respDecodeRequest([]byte(tt.body), &r)
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Msg == "" {
				t.Fatalf("error %v, want a FieldError for %s", err, tt.field)
			}
		})
	}
	var r canon.Request
	if err := respDecodeRequest([]byte(`{"input":`), &r); !errors.Is(err, canon.ErrInvalidJSON) {
		t.Errorf("cut body: %v", err)
	}
}

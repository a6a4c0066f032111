package gemini

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		path, model, action string
		ok                  bool
	}{
		{"/v1beta/models/gemini-2.5-flash:generateContent", "gemini-2.5-flash", ActionGenerate, true},
		{"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "gemini-2.5-flash", ActionStreamGenerate, true},
		{"/v1/models/gemini-2.0-flash:countTokens", "gemini-2.0-flash", ActionCountTokens, true},
		{"/v1beta/models/text-embedding-004:embedContent", "text-embedding-004", ActionEmbed, true},
		{"/v1beta/models/gemini-embedding-001:batchEmbedContents", "gemini-embedding-001", ActionBatchEmbed, true},
		{"/v1beta/models/gemini-2.5-flash:batchGenerateContent", "", "", false},
		{"/v1beta/models/gemini-2.5-flash", "", "", false},
		{"/v1beta/models/:generateContent", "", "", false},
		{"/v1beta/models/a/b:generateContent", "", "", false},
		{"/v1/chat/completions", "", "", false},
	}
	for _, tt := range tests {
		model, action, ok := ParsePath([]byte(tt.path))
		if string(model) != tt.model || action != tt.action || ok != tt.ok {
			t.Errorf("ParsePath(%q) = %q, %q, %v; want %q, %q, %v", tt.path, model, action, ok, tt.model, tt.action, tt.ok)
		}
	}
}

func TestUpstreamPath(t *testing.T) {
	tests := []struct {
		model, action string
		stream        bool
		want          string
	}{
		{"gemini-2.5-flash", ActionGenerate, false, "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"gemini-2.5-flash", ActionGenerate, true, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"models/gemini-2.5-flash", ActionStreamGenerate, true, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"tunedModels/mine", ActionGenerate, false, "/v1beta/tunedModels/mine:generateContent"},
		{"gemini-embedding-001", EmbedAction(3), false, "/v1beta/models/gemini-embedding-001:batchEmbedContents"},
		{"gemini-embedding-001", EmbedAction(1), false, "/v1beta/models/gemini-embedding-001:embedContent"},
	}
	for _, tt := range tests {
		if got := UpstreamPath(tt.model, tt.action, tt.stream); got != tt.want {
			t.Errorf("UpstreamPath(%q, %q, %v) = %q, want %q", tt.model, tt.action, tt.stream, got, tt.want)
		}
	}
	for _, base := range []string{"https://generativelanguage.googleapis.com", "https://generativelanguage.googleapis.com/", "https://generativelanguage.googleapis.com/v1beta"} {
		if got := UpstreamURL(base, "m", ActionGenerate, false); got != "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent" {
			t.Errorf("UpstreamURL(%q) = %q", base, got)
		}
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		op   wire.Operation
		body string
		want wire.Usage
	}{
		{"generate", wire.OpChat, `{"candidates":[],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"thoughtsTokenCount":7,"cachedContentTokenCount":4,"toolUsePromptTokenCount":2,"totalTokenCount":24}}`,
			wire.Usage{Input: 12, Output: 12, CacheRead: 4, Valid: true}},
		{"no usage", wire.OpChat, `{"candidates":[]}`, wire.Usage{}},
		{"count tokens", wire.OpCountTokens, `{"totalTokens":31,"cachedContentTokenCount":3}`, wire.Usage{Input: 31, CacheRead: 3, Valid: true}},
		{"embeddings", wire.OpEmbedContent, `{"embedding":{"values":[1]}}`, wire.Usage{}},
	}
	for _, tt := range tests {
		if got := usage(tt.op, []byte(tt.body)); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestStreamEvent(t *testing.T) {
	tests := []struct {
		data string
		end  bool
		u    wire.Usage
	}{
		{`{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}`,
			false, wire.Usage{Input: 3, Valid: true}},
		{`{"candidates": [{"content": {"parts": [{"text": "b"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 3,"candidatesTokenCount": 2,"thoughtsTokenCount": 4}}`,
			true, wire.Usage{Input: 3, Output: 6, Valid: true}},
		{`{"promptFeedback":{"blockReason":"SAFETY"}}`, true, wire.Usage{}},
		{`{"error":{"code":500,"message":"x","status":"INTERNAL"}}`, true, wire.Usage{}},
		{`{"candidates":[{"content":{"parts":[{"text":"the word \"finishReason\""}]}}]}`, false, wire.Usage{}},
	}
	for _, tt := range tests {
		var u wire.Usage
		var seq int64
		end, usageOnly := streamEvent(wire.OpChat, nil, []byte(tt.data), &u, &seq)
		if end != tt.end || usageOnly || u != tt.u || seq != 0 {
			t.Errorf("%s: end %v, usage-only %v, usage %+v; want end %v, usage %+v", tt.data, end, usageOnly, u, tt.end, tt.u)
		}
	}
	last := []byte(tests[1].data)
	if testing.AllocsPerRun(100, func() {
		var u wire.Usage
		var seq int64
		streamEvent(wire.OpChat, nil, last, &u, &seq)
	}) != 0 {
		t.Error("streamEvent allocates")
	}
}

// walkText returns the text fields a text hook collects.
func walkText(t *testing.T, fn func(*walk.Walker, wire.Operation, walk.Span), op wire.Operation, body string) (texts []string, msgs int) {
	t.Helper()
	b := []byte(body)
	root, err := walk.RootObject(b)
	if err != nil {
		t.Fatal(err)
	}
	var w walk.Walker
	w.Reset(b)
	fn(&w, op, root)
	for _, f := range w.Fields {
		texts = append(texts, string(b[f.Start+1:f.End-1]))
	}
	return texts, w.Msgs
}

func TestInputText(t *testing.T) {
	tests := []struct {
		name, body string
		op         wire.Operation
		want       string
		msgs       int
	}{
		{"generate", `{"system_instruction":{"parts":[{"text":"sys"}]},"contents":[{"role":"user","parts":[{"text":"hi"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]},
			{"role":"model","parts":[{"text":"plan","thought":true},{"functionCall":{"name":"f","args":{"q":"arg","n":1}}}]},
			{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":"res"}}}]}],
			"tools":[{"functionDeclarations":[{"name":"f","description":"desc","parameters":{"type":"OBJECT"}}]}]}`,
			wire.OpChat, "sys|hi|plan|arg|res|desc", 3},
		{"count tokens", `{"generateContentRequest":{"model":"models/x","contents":[{"parts":[{"text":"a"}]}]}}`, wire.OpCountTokens, "a", 1},
		{"embed", `{"content":{"parts":[{"text":"e"}]}}`, wire.OpEmbedContent, "e", 1},
		{"batch embed", `{"requests":[{"model":"models/x","content":{"parts":[{"text":"e1"}]}},{"content":{"parts":[{"text":"e2"}]}}]}`, wire.OpEmbedContent, "e1|e2", 2},
	}
	for _, tt := range tests {
		texts, msgs := walkText(t, inputText, tt.op, tt.body)
		if got := strings.Join(texts, "|"); got != tt.want || msgs != tt.msgs {
			t.Errorf("%s: %q, %d messages; want %q, %d", tt.name, got, msgs, tt.want, tt.msgs)
		}
	}
}

func TestOutputText(t *testing.T) {
	body := `{"candidates":[{"content":{"parts":[{"text":"think","thought":true},{"text":"answer"},{"functionCall":{"name":"f","args":{"a":["x"]}}}],"role":"model"},"finishReason":"STOP"}],"modelVersion":"m"}`
	texts, _ := walkText(t, outputText, wire.OpChat, body)
	if got := strings.Join(texts, "|"); got != "think|answer|x" {
		t.Errorf("output text %q", got)
	}
}

func TestStreamText(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		pure  bool
		keys  []walk.ChanKey
		endAs []int32
		full  string
		err   error
	}{
		{name: "text", data: `{"candidates": [{"content": {"parts": [{"text": "hi"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 3},"modelVersion": "m","responseId": "r"}`,
			pure: true, keys: []walk.ChanKey{{A: 0, B: bText}}},
		{name: "thought", data: `{"candidates":[{"content":{"parts":[{"text":"hm","thought":true}],"role":"model"},"index":1}]}`,
			pure: true, keys: []walk.ChanKey{{A: 1, B: bThought}}},
		{name: "finish", data: `{"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP","index":0}]}`,
			keys: []walk.ChanKey{{A: 0, B: bText}}, endAs: []int32{0}},
		{name: "signature", data: `{"candidates":[{"content":{"parts":[{"text":"x","thoughtSignature":"c2ln"}],"role":"model"},"index":0}]}`,
			keys: []walk.ChanKey{{A: 0, B: bText}}},
		{name: "call", data: `{"candidates":[{"content":{"parts":[{"text":"a"},{"functionCall":{"name":"f","args":{"q":"b"}}}],"role":"model"},"index":0}]}`,
			endAs: []int32{0}, full: "a|b"},
		{name: "not an object", data: `[1]`, err: walk.ErrNotObject},
		{name: "cut short", data: `{"candidates":[{"content":{"parts":[{"text":"hi}]}}]}`, err: walk.ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st walk.StreamText
			d := []byte(tt.data)
			pure, err := streamText(&st, wire.OpChat, nil, d)
			if err != tt.err || pure != tt.pure || len(st.Slots) != len(tt.keys) || len(st.EndAs) != len(tt.endAs) || st.Full != (tt.full != "") {
				t.Fatalf("pure %v, err %v, slots %+v, ends %v, full %v", pure, err, st.Slots, st.EndAs, st.Full)
			}
			for i, k := range tt.keys {
				if st.Slots[i].Key != k {
					t.Errorf("slot %d: %+v, want %+v", i, st.Slots[i].Key, k)
				}
			}
			var full []string
			for _, f := range st.W.Fields {
				full = append(full, string(d[f.Start+1:f.End-1]))
			}
			if got := strings.Join(full, "|"); tt.full != "" && got != tt.full {
				t.Errorf("full texts %q, want %q", got, tt.full)
			}
		})
	}
}

func TestSynthText(t *testing.T) {
	var st walk.StreamText
	d := []byte(`{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"},"index":0}],"modelVersion":"gemini-x","responseId":"r1"}`)
	if _, err := streamText(&st, wire.OpChat, nil, d); err != nil {
		t.Fatal(err)
	}
	got := string(synthText(nil, &st, wire.OpChat, walk.ChanKey{A: 0, B: bThought}, nil, []byte(`q"`)))
	want := "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"q\\\"\",\"thought\":true}],\"role\":\"model\"},\"index\":0}],\"modelVersion\":\"gemini-x\",\"responseId\":\"r1\"}\n\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	got := string(appendError(nil, wire.Error{Status: 404, Code: wire.CodeModelNotFound, Msg: `no "x"`}))
	if want := `{"error":{"code":404,"message":"no \"x\"","status":"NOT_FOUND"}}`; got != want {
		t.Errorf("appendError: %s", got)
	}
	got = string(appendStreamError(nil, wire.OpChat, wire.Error{Status: 504, Code: wire.CodeUpstreamTimeout, Msg: "late"}, 0))
	if want := "data: {\"error\":{\"code\":504,\"message\":\"late\",\"status\":\"DEADLINE_EXCEEDED\"}}\n\n"; got != want {
		t.Errorf("appendStreamError: %q", got)
	}
	tests := []struct {
		status int
		body   string
		typ    string
	}{
		{429, `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`, "6 quota RESOURCE_EXHAUSTED"},
		{400, `[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]`, "1 bad INVALID_ARGUMENT"},
		{503, `{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}`, "7 busy UNAVAILABLE"},
		{502, `<html>`, "0 the upstream answered 502 with a body that is not a Gemini error "},
	}
	for _, tt := range tests {
		e := decodeError(tt.status, []byte(tt.body))
		if got := strings.Join([]string{itoa(int(e.Type)), e.Message, e.Code}, " "); got != tt.typ || e.Status != tt.status {
			t.Errorf("decodeError(%d, %s) = %+v", tt.status, tt.body, e)
		}
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestModels(t *testing.T) {
	at := time.Unix(0, 0)
	got := string(appendModels(nil, []wire.Model{{ID: "gemini-2.5-flash", Created: at}, {ID: "gemini-embedding-001", Created: at}}))
	want := `{"models":[{"name":"models/gemini-2.5-flash","baseModelId":"gemini-2.5-flash","displayName":"gemini-2.5-flash","supportedGenerationMethods":["generateContent","streamGenerateContent"]},` +
		`{"name":"models/gemini-embedding-001","baseModelId":"gemini-embedding-001","displayName":"gemini-embedding-001","supportedGenerationMethods":["embedContent","batchEmbedContents"]}]}`
	if got != want {
		t.Errorf("got %s", got)
	}
}

func TestStreamTextAllocs(t *testing.T) {
	d := []byte(`{"candidates": [{"content": {"parts": [{"text": "hi"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 3},"modelVersion": "m","responseId": "r"}`)
	var st walk.StreamText
	if _, err := streamText(&st, wire.OpChat, nil, d); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		st.Reset()
		_, _ = streamText(&st, wire.OpChat, nil, d)
	}); n != 0 {
		t.Errorf("streamText allocates %v times per event", n)
	}
}

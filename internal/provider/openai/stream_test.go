package openai

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// streamText reports each event's text by channel, the channels it ends
// and whether it says nothing else; package guard's stream tests check
// what the guardrails make of it.
func TestStreamText(t *testing.T) {
	const head = `"id":"c","object":"chat.completion.chunk","created":1,"model":"m",`
	tests := []struct {
		name   string
		op     wire.Operation
		event  string
		data   string
		pure   bool
		keys   []walk.ChanKey
		endAll bool
		endAs  []int32
		full   int // fields collected for redaction as a whole text
		err    error
	}{
		{name: "content chunk", op: wire.OpChat, data: `{` + head + `"choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}]}`,
			pure: true, keys: []walk.ChanKey{{A: 0, B: bText}}},
		{name: "role chunk", op: wire.OpChat, data: `{` + head + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			keys: []walk.ChanKey{{A: 0, B: bText}}},
		{name: "refusal and tool call", op: wire.OpChat, data: `{"choices":[{"index":1,"delta":{"refusal":"no","tool_calls":[{"index":2,"function":{"arguments":"{}"}}]}}]}`,
			pure: true, keys: []walk.ChanKey{{A: 1, B: bRefusal}, {A: 1, B: 2}}},
		{name: "finish", op: wire.OpChat, data: `{"choices":[{"index":3,"delta":{},"finish_reason":"stop"}]}`, endAs: []int32{3}},
		{name: "done", op: wire.OpChat, data: `[DONE]`, endAll: true},
		{name: "completions", op: wire.OpCompletions, data: `{"choices":[{"text":"hi","index":1,"finish_reason":null}]}`, pure: true,
			keys: []walk.ChanKey{{A: 1, B: bText}}},
		{name: "not an object", op: wire.OpChat, data: `hello`, err: walk.ErrNotObject},
		{name: "cut short", op: wire.OpChat, data: `{"choices":[{"delta":{"content":"hi`, err: walk.ErrInvalidJSON},
		{name: "empty", op: wire.OpChat, data: ``},
		{name: "responses delta", op: wire.OpResponses, event: "response.output_text.delta",
			data: `{"type":"response.output_text.delta","output_index":1,"content_index":2,"delta":"hi"}`, pure: true, keys: []walk.ChanKey{{A: 1, B: 2}}},
		{name: "responses arguments", op: wire.OpResponses, data: `{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{}"}`,
			pure: true, keys: []walk.ChanKey{{A: 1, B: -1}}},
		{name: "responses text done", op: wire.OpResponses, data: `{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"hi"}`, full: 1},
		{name: "responses item done", op: wire.OpResponses, data: `{"type":"response.output_item.done","output_index":4,"item":{"content":[{"text":"a"},{"text":"b"}]}}`,
			endAs: []int32{4}, full: 2},
		{name: "responses completed", op: wire.OpResponses, data: `{"type":"response.completed","response":{"output":[{"content":[{"text":"a"}]}]}}`, endAll: true, full: 1},
		{name: "responses other", op: wire.OpResponses, data: `{"type":"response.created","response":{}}`},
		{name: "embeddings", op: wire.OpEmbeddings, data: `{"x":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st walk.StreamText
			st.Reset()
			pure, err := streamText(&st, tt.op, []byte(tt.event), []byte(tt.data))
			if err != tt.err || pure != tt.pure || st.EndAll != tt.endAll || len(st.EndAs) != len(tt.endAs) || len(st.Slots) != len(tt.keys) {
				t.Fatalf("pure %v, err %v, end all %v, ends %v, slots %+v", pure, err, st.EndAll, st.EndAs, st.Slots)
			}
			for i, k := range tt.keys {
				if st.Slots[i].Key != k || st.Slots[i].Template != (tt.op == wire.OpResponses) {
					t.Errorf("slot %d: %+v, want key %+v", i, st.Slots[i], k)
				}
			}
			if got := len(st.W.Fields); st.Full != (tt.full > 0) || (st.Full && got != tt.full) {
				t.Errorf("full %v with %d fields, want %d", st.Full, got, tt.full)
			}
		})
	}
}

func TestSynthText(t *testing.T) {
	st := walk.StreamText{Head: []byte(`"id":"c",`)}
	var none walk.Template
	for _, tc := range []struct {
		op   wire.Operation
		key  walk.ChanKey
		tmpl *walk.Template
		want string
	}{
		{wire.OpChat, walk.ChanKey{A: 1, B: bText}, &none, `data: {"id":"c","choices":[{"index":1,"delta":{"content":"a\"b"},"logprobs":null,"finish_reason":null}]}` + "\n\n"},
		{wire.OpChat, walk.ChanKey{A: 0, B: bRefusal}, &none, `data: {"id":"c","choices":[{"index":0,"delta":{"refusal":"a\"b"},"logprobs":null,"finish_reason":null}]}` + "\n\n"},
		{wire.OpChat, walk.ChanKey{A: 0, B: 2}, &none, `data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"function":{"arguments":"a\"b"}}]},"logprobs":null,"finish_reason":null}]}` + "\n\n"},
		{wire.OpCompletions, walk.ChanKey{A: 3, B: bText}, &none, `data: {"id":"c","choices":[{"text":"a\"b","index":3,"logprobs":null,"finish_reason":null}]}` + "\n\n"},
		{wire.OpResponses, walk.ChanKey{A: 0, B: 0}, &walk.Template{Name: []byte("response.output_text.delta"),
			Data: []byte(`{"delta":"old","n":1}`), Text: walk.Span{Start: 9, End: 14}},
			"event: response.output_text.delta\ndata: {\"delta\":\"a\\\"b\",\"n\":1}\n\n"},
		{wire.OpResponses, walk.ChanKey{}, &none, ``},
	} {
		if got := string(synthText(nil, &st, tc.op, tc.key, tc.tmpl, []byte(`a"b`))); got != tc.want {
			t.Errorf("%s %+v:\n got %q\nwant %q", tc.op, tc.key, got, tc.want)
		}
	}
}

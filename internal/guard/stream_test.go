package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// tokRule redacts sk- keys: longest match 11 bytes, so a hold of 13.
func tokRule() Rule { return reRule("tok", `sk-[a-z0-9]{8}`, Redact, Output) }

func TestStreamPassThrough(t *testing.T) {
	p := mustPolicy(t, tokRule())
	body := openaiStream([]string{"Hello", " world", ", how", " are you today?"})
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	out, err := relay(t, s, body, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := streamText(t, provider.OpChat, out); got != "Hello world, how are you today?" {
		t.Errorf("text = %q", got)
	}
	evs := parseEvents(t, out)
	// The role chunk, the finish chunk and [DONE] pass unchanged; the text
	// is held until 13 bytes follow it and flushed before the finish chunk.
	if evs[0].Data != openaiRole || evs[len(evs)-2].Data != openaiFinish || evs[len(evs)-1].Data != "[DONE]" {
		t.Errorf("first/last events changed:\n%s", out)
	}
	for _, ev := range evs[1 : len(evs)-2] {
		var c map[string]any
		_ = json.Unmarshal([]byte(ev.Data), &c)
		if c["id"] != "c1" || c["model"] != "m" || c["object"] != "chat.completion.chunk" || c["created"] != 7.0 {
			t.Errorf("a text event lost the chunk's fields: %s", ev.Data)
		}
	}
	if len(s.Verdicts(nil)) != 0 {
		t.Errorf("verdicts on clean text: %v", s.Verdicts(nil))
	}
}

func TestStreamNoOutputRules(t *testing.T) {
	p := mustPolicy(t, reRule("in", `x`, Block, Input))
	body := openaiStream([]string{"x", "y"})
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	out, err := relay(t, s, body, true)
	if err != nil || string(out) != string(body) {
		t.Fatalf("stream changed without output rules: %v\n%s", err, out)
	}
}

func TestStreamHoldback(t *testing.T) {
	p := mustPolicy(t, tokRule())
	if p.hold != 13 {
		t.Fatalf("hold = %d, want 13", p.hold)
	}
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	ev := func(text string) []byte {
		out, err := s.Event(nil, &sse.Event{Raw: sse.AppendData(nil, []byte(openaiDelta(text))), Data: []byte(openaiDelta(text))})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := ev("0123456789"); len(out) != 0 {
		t.Fatalf("10 bytes released with a 13-byte hold: %s", out)
	}
	out := ev("abcdefghij") // 20 bytes: the first 7 go out
	if got := streamText(t, provider.OpChat, out); got != "0123456" {
		t.Errorf("released %q, want %q", got, "0123456")
	}
	out = ev(" sk-abcdefgh is a key and more text")
	// 55 bytes: all but the last 13 go out, the key redacted.
	if got := streamText(t, provider.OpChat, out); got != "789abcdefghij [REDACTED:TOK] is a key " {
		t.Errorf("released %q", got)
	}
	out = s.Finish(nil)
	if got := streamText(t, provider.OpChat, out); got != "and more text" {
		t.Errorf("Finish flushed %q", got)
	}
	if v := s.Verdicts(nil); !reflect.DeepEqual(v, []Verdict{{"tok", Redact, Output, 1}}) {
		t.Errorf("verdicts = %v", v)
	}
}

func TestStreamBlock(t *testing.T) {
	p := mustPolicy(t, reRule("bad", `forbidden`, Block, Output), tokRule())
	text := "this is a long enough text before the forbidden word and after it"
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	var chunks []string
	for i := 0; i < len(text); i += 3 {
		chunks = append(chunks, text[i:min(i+3, len(text))])
	}
	out, err := relay(t, s, openaiStream(chunks), true)
	var v *Violation
	if !errors.As(err, &v) || v.Rule != "bad" || v.Scope != Output {
		t.Fatalf("err = %v, want a violation of bad", err)
	}
	got := streamText(t, provider.OpChat, out)
	if !strings.HasPrefix(text, got) || len(got) > strings.Index(text, "forbidden") {
		t.Errorf("released %q: past the match", got)
	}
	if _, err2 := s.Event(nil, &sse.Event{Data: []byte("[DONE]")}); err2 != err {
		t.Errorf("Event after a violation = %v", err2)
	}
	if vs := s.Verdicts(nil); !reflect.DeepEqual(vs, []Verdict{{"bad", Block, Output, 1}}) {
		t.Errorf("verdicts = %v", vs)
	}
}

func TestStreamFinishBlock(t *testing.T) {
	p := mustPolicy(t, reRule("bad", `forbidden`, Block, Output))
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	body := sse.AppendData(nil, []byte(openaiDelta("ok forbidden")))
	out, err := relay(t, s, body, true)
	var v *Violation
	// "o" was released on the event (12 bytes, hold 11); Finish adds nothing.
	if got := streamText(t, provider.OpChat, out); !errors.As(err, &v) || got != "o" {
		t.Fatalf("Finish with a held match: err %v, out %q", err, out)
	}
}

func TestStreamOpenAIShapes(t *testing.T) {
	p := mustPolicy(t, tokRule())
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	var body []byte
	add := func(d string) { body = sse.AppendData(body, []byte(d)) }
	add(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"two sk-zzzzzzzz"},"finish_reason":null}]}`)
	add(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"k\":\"sk-abcdefgh\"}"}}]},"finish_reason":null}]}`)
	add(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":1,"delta":{"content":" end"},"finish_reason":"stop"}]}`)
	add(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`)
	add(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1}}`)
	add(`[DONE]`)
	out, err := relay(t, s, body, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// Text held, role and tool call header kept.
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"tw"},"finish_reason":null}]}`,
		// Pure delta: the args that can go out (19 bytes, hold 13).
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"k\":\""}}]},"finish_reason":null}]}`,
		// Choice 1 ends with text in its own event.
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":1,"delta":{"content":"o [REDACTED:TOK] end"},"finish_reason":"stop"}]}`,
		// Choice 0 ends without text: its tail goes first, synthesized.
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"[REDACTED:TOK]\"}"}}]},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1}}`,
		`[DONE]`,
	}
	var got []string
	for _, ev := range parseEvents(t, out) {
		got = append(got, ev.Data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v := s.Verdicts(nil); !reflect.DeepEqual(v, []Verdict{{"tok", Redact, Output, 2}}) {
		t.Errorf("verdicts = %v", v)
	}
}

func TestStreamCompletions(t *testing.T) {
	p := mustPolicy(t, tokRule())
	s := p.NewStream(provider.FormatOpenAI, provider.OpCompletions)
	defer s.Release()
	var body []byte
	body = sse.AppendData(body, []byte(`{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"text":"key sk-abcdefgh","index":0,"logprobs":null,"finish_reason":null}]}`))
	out, err := relay(t, s, body, true)
	if err != nil {
		t.Fatal(err)
	}
	evs := parseEvents(t, out)
	want := []string{
		`{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"text":"ke","index":0,"logprobs":null,"finish_reason":null}]}`,
		// Finish: synthesized from the chunks' fields.
		`{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"text":"y [REDACTED:TOK]","index":0,"logprobs":null,"finish_reason":null}]}`,
	}
	if len(evs) != 2 || evs[0].Data != want[0] || evs[1].Data != want[1] {
		t.Errorf("events = %v", evs)
	}
}

func TestStreamAnthropic(t *testing.T) {
	p := mustPolicy(t, tokRule())
	s := p.NewStream(provider.FormatAnthropic, provider.OpMessages)
	defer s.Release()
	var body []byte
	add := func(name, d string) { body = sse.AppendEvent(body, []byte(name), []byte(d)) }
	add("message_start", `{"type":"message_start","message":{"id":"m1"}}`)
	add("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	add("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi sk-abcdefgh"}}`)
	add("ping", `{"type":"ping"}`)
	add("content_block_stop", `{"type":"content_block_stop","index":0}`)
	add("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`)
	add("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\": \"sk-12345678\"}"}}`)
	add("content_block_stop", `{"type":"content_block_stop","index":1}`)
	add("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"}}`)
	add("message_stop", `{"type":"message_stop"}`)
	out, err := relay(t, s, body, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{
		{"message_start", `{"type":"message_start","message":{"id":"m1"}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h"}}`},
		{"ping", `{"type":"ping"}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"i [REDACTED:TOK]"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\": \""}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"[REDACTED:TOK]\"}"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":1}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"}}`},
		{"message_stop", `{"type":"message_stop"}`},
	}
	if got := parseEvents(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%v\nwant\n%v", got, want)
	}
}

func TestStreamResponses(t *testing.T) {
	p := mustPolicy(t, tokRule())
	s := p.NewStream(provider.FormatOpenAI, provider.OpResponses)
	defer s.Release()
	var body []byte
	add := func(name, d string) { body = sse.AppendEvent(body, []byte(name), []byte(d)) }
	add("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"r","output":[]}}`)
	add("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"item_id":"i","output_index":0,"content_index":0,"delta":"a sk-abc"}`)
	add("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":2,"item_id":"i","output_index":0,"content_index":0,"delta":"defgh b"}`)
	add("response.output_text.done", `{"type":"response.output_text.done","sequence_number":3,"item_id":"i","output_index":0,"content_index":0,"text":"a sk-abcdefgh b"}`)
	add("response.content_part.done", `{"type":"response.content_part.done","sequence_number":4,"item_id":"i","output_index":0,"content_index":0,"part":{"type":"output_text","text":"a sk-abcdefgh b"}}`)
	add("response.function_call_arguments.delta", `{"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"f","output_index":1,"delta":"{\"k\":\"sk-12345678\"}"}`)
	add("response.function_call_arguments.done", `{"type":"response.function_call_arguments.done","sequence_number":6,"item_id":"f","output_index":1,"arguments":"{\"k\":\"sk-12345678\"}"}`)
	add("response.completed", `{"type":"response.completed","sequence_number":7,"response":{"id":"r","output":[{"type":"message","content":[{"type":"output_text","text":"a sk-abcdefgh b"}]},{"type":"function_call","arguments":"{\"k\":\"sk-12345678\"}"}]}}`)
	out, err := relay(t, s, body, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{
		{"response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"r","output":[]}}`},
		{"response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":2,"item_id":"i","output_index":0,"content_index":0,"delta":"a "}`},
		{"response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":2,"item_id":"i","output_index":0,"content_index":0,"delta":"[REDACTED:TOK] b"}`},
		{"response.output_text.done", `{"type":"response.output_text.done","sequence_number":3,"item_id":"i","output_index":0,"content_index":0,"text":"a [REDACTED:TOK] b"}`},
		{"response.content_part.done", `{"type":"response.content_part.done","sequence_number":4,"item_id":"i","output_index":0,"content_index":0,"part":{"type":"output_text","text":"a [REDACTED:TOK] b"}}`},
		{"response.function_call_arguments.delta", `{"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"f","output_index":1,"delta":"{\"k\":\""}`},
		{"response.function_call_arguments.delta", `{"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"f","output_index":1,"delta":"[REDACTED:TOK]\"}"}`},
		{"response.function_call_arguments.done", `{"type":"response.function_call_arguments.done","sequence_number":6,"item_id":"f","output_index":1,"arguments":"{\"k\":\"[REDACTED:TOK]\"}"}`},
		{"response.completed", `{"type":"response.completed","sequence_number":7,"response":{"id":"r","output":[{"type":"message","content":[{"type":"output_text","text":"a [REDACTED:TOK] b"}]},{"type":"function_call","arguments":"{\"k\":\"[REDACTED:TOK]\"}"}]}}`},
	}
	if got := parseEvents(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%v\nwant\n%v", got, want)
	}
	if v := s.Verdicts(nil); !reflect.DeepEqual(v, []Verdict{{"tok", Redact, Output, 2}}) {
		t.Errorf("verdicts = %v (done events must not count again)", v)
	}
}

func TestStreamOddEvents(t *testing.T) {
	p := mustPolicy(t, tokRule())
	ev := func(name, data string) sse.Event {
		return sse.Event{Raw: sse.AppendEvent(nil, []byte(name), []byte(data)), Name: []byte(name), Data: []byte(data)}
	}
	tests := []struct {
		name string
		op   provider.Operation
		ev   sse.Event
		want string
		err  error // the event is not relayed, and the stream ends
	}{
		{"comment", provider.OpChat, sse.Event{Raw: []byte(": keep-alive\n\n")}, ": keep-alive\n\n", nil},
		{"no data", provider.OpMessages, sse.Event{Raw: []byte("event: ping\n\n"), Name: []byte("ping")}, "event: ping\n\n", nil},
		{"done in responses", provider.OpResponses, ev("", "[DONE]"), "data: [DONE]\n\n", nil},
		{"error object", provider.OpChat, ev("", `{"error":{"message":"x"}}`), "data: {\"error\":{\"message\":\"x\"}}\n\n", nil},
		// Data that is not a JSON object, or not valid JSON, could hide
		// text from the scan: never relayed.
		{"not json", provider.OpChat, ev("", "hello sk-abcdefgh"), "", ErrNotObject},
		{"a string", provider.OpResponses, ev("", `"sk-abcdefgh"`), "", ErrNotObject},
		{"cut short", provider.OpChat, sse.Event{Raw: []byte(`data: {"choices":[{"delta":{"content":"sk-abc`), Data: []byte(`{"choices":[{"delta":{"content":"sk-abc`), Incomplete: true}, "", ErrInvalidJSON},
		{"truncated chunk", provider.OpChat, ev("", `{"choices":[{"index":0,"delta":{"content":"sk-abcdefgh`), "", ErrInvalidJSON},
		{"string never ends", provider.OpChat, ev("", `{"choices":[{"index":0,"delta":{"content":"sk-abcdefgh}]}`), "", ErrInvalidJSON},
		{"completions", provider.OpCompletions, ev("", `{"choices":[{"index":0,"text":"sk-abcdefgh}]}`), "", ErrInvalidJSON},
		{"anthropic", provider.OpMessages, ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sk-abcdefgh}}`), "", ErrInvalidJSON},
		{"anthropic truncated", provider.OpMessages, ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sk-abc`), "", ErrInvalidJSON},
		{"responses", provider.OpResponses, ev("response.output_text.delta", `{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"sk-abcdefgh}`), "", ErrInvalidJSON},
		{"responses done", provider.OpResponses, ev("response.output_text.done", `{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"sk-abcdefgh",}`), "", ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := provider.FormatOpenAI
			if tt.op == provider.OpMessages {
				f = provider.FormatAnthropic
			}
			s := p.NewStream(f, tt.op)
			defer s.Release()
			out, err := s.Event(nil, &tt.ev)
			if !errors.Is(err, tt.err) || string(out) != tt.want {
				t.Fatalf("out = %q, %v; want %q, %v", out, err, tt.want, tt.err)
			}
			if tt.err == nil {
				return
			}
			// The stream stays ended: later events are refused too.
			next := ev("", openaiDelta("fine"))
			if out, err := s.Event(nil, &next); !errors.Is(err, tt.err) || len(out) > 0 {
				t.Errorf("after the bad event: out = %q, %v", out, err)
			}
			if !errors.Is(s.Err(), tt.err) {
				t.Errorf("Err() = %v", s.Err())
			}
		})
	}
}

func TestStreamUTF8(t *testing.T) {
	// A 4-byte rune split between events (as an upstream sending raw bytes
	// could): the client only ever gets whole runes.
	p := mustPolicy(t, reRule("x", `xx`, Redact, Output)) // hold 4
	text := "ab🙂cd🙂ef"
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
			out, err := relay(t, s, openaiStream([]string{text[:i], text[i:j], text[j:]}), false)
			s.Release()
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range parseEvents(t, out) {
				var c struct {
					Choices []struct{ Delta struct{ Content string } }
				}
				if json.Unmarshal([]byte(ev.Data), &c) == nil && len(c.Choices) > 0 && strings.ContainsRune(c.Choices[0].Delta.Content, '\uFFFD') {
					t.Fatalf("split %d,%d: a partial rune went out: %q", i, j, ev.Data)
				}
			}
			if got := streamText(t, provider.OpChat, out); got != text {
				t.Fatalf("split %d,%d: %q", i, j, got)
			}
		}
	}
}

func TestStreamFinishFlushesEveryChannel(t *testing.T) {
	p := mustPolicy(t, tokRule())
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	var body []byte
	body = sse.AppendData(body, []byte(`{"id":"x","choices":[{"index":0,"delta":{"content":"zero sk-00000000"}},{"index":1,"delta":{"content":"one"}}]}`))
	body = sse.AppendData(body, []byte(`{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"function":{"arguments":"{}"}}]}}]}`))
	out, err := relay(t, s, body, true) // cut short: no finish_reason, no [DONE]
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ev := range parseEvents(t, out) {
		var c struct {
			Choices []struct {
				Index int
				Delta struct {
					Content   string
					ToolCalls []struct {
						Index    int
						Function struct{ Arguments string }
					} `json:"tool_calls"`
				}
			}
		}
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			got[fmt.Sprint(ch.Index)] += ch.Delta.Content
			for _, tc := range ch.Delta.ToolCalls {
				got[fmt.Sprint(ch.Index, "/", tc.Index)] += tc.Function.Arguments
			}
		}
	}
	want := map[string]string{"0": "zero [REDACTED:TOK]", "1": "one", "0/2": "{}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flushed %v, want %v", got, want)
	}
	if again := s.Finish(nil); len(again) != 0 {
		t.Errorf("a second Finish flushed %q", again)
	}
}

func TestStreamReuse(t *testing.T) {
	// A released Stream comes back clean from the pool.
	p := mustPolicy(t, tokRule(), reRule("bad", `forbidden`, Block, Output))
	for range 5 {
		s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
		if _, err := relay(t, s, openaiStream([]string{"a forbidden word"}), true); !isViolation(err, "bad") {
			t.Fatalf("err = %v", err)
		}
		s.Release()
		s = p.NewStream(provider.FormatAnthropic, provider.OpMessages)
		out, err := relay(t, s, anthropicStream([]string{"key sk-abcdefgh", " ok"}), false)
		if err != nil || streamText(t, provider.OpMessages, out) != "key [REDACTED:TOK] ok" {
			t.Fatalf("reused stream: %v %q", err, out)
		}
		if v := s.Verdicts(nil); len(v) != 1 || v[0].Count != 1 {
			t.Fatalf("verdicts carried over: %v", v)
		}
		s.Release()
	}
}

func TestStreamRefusal(t *testing.T) {
	p := mustPolicy(t, tokRule())
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	var body []byte
	body = sse.AppendData(body, []byte(`{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":"no: sk-abcdefgh"},"finish_reason":null}]}`))
	body = sse.AppendData(body, []byte(`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`))
	out, err := relay(t, s, body, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":null}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{"refusal":": [REDACTED:TOK]"},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	}
	var got []string
	for _, ev := range parseEvents(t, out) {
		got = append(got, ev.Data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStreamResponsesDoneOnly(t *testing.T) {
	// Text that arrives only in a done event (no deltas) is still checked.
	p := mustPolicy(t, tokRule(), reRule("bad", `forbidden`, Block, Output))
	tests := []struct {
		name, data, want string
		err              bool
	}{
		{"redacted", `{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"k sk-abcdefgh"}`,
			`{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"k [REDACTED:TOK]"}`, false},
		{"blocked", `{"type":"response.output_item.done","output_index":0,"item":{"type":"message","content":[{"type":"output_text","text":"forbidden"}]}}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := p.NewStream(provider.FormatOpenAI, provider.OpResponses)
			defer s.Release()
			ev := sse.Event{Name: []byte("x"), Data: []byte(tt.data)}
			ev.Raw = sse.AppendEvent(nil, ev.Name, ev.Data)
			out, err := s.Event(nil, &ev)
			if tt.err {
				if !isViolation(err, "bad") || len(out) != 0 || len(s.Verdicts(nil)) != 1 {
					t.Fatalf("out %q err %v verdicts %v", out, err, s.Verdicts(nil))
				}
				return
			}
			if evs := parseEvents(t, out); err != nil || len(evs) != 1 || evs[0].Data != tt.want {
				t.Fatalf("out %q err %v", out, err)
			}
		})
	}
}

package anthropic

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// codecDumpEvents writes events one JSON object a line.
func codecDumpEvents(t testing.TB, events []canon.Event) []byte {
	var b bytes.Buffer
	for i := range events {
		line := codecJSON(t, &events[i])
		b.Write(bytes.Join(bytes.Fields(line), []byte(" ")))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestCodecStreamDecodeGolden(t *testing.T) {
	for _, name := range []string{"thinking_tool", "overloaded"} {
		t.Run(name, func(t *testing.T) {
			events := codecDecodeStream(t, codecReadSSE(t, codecRead(t, name+".stream.sse")))
			codecGolden(t, name+".stream.events", codecDumpEvents(t, events))
		})
	}
}

// codecCheckGrammar checks events against canon's stream grammar.
func codecCheckGrammar(t *testing.T, events []canon.Event) {
	t.Helper()
	open, next, started, stopped := -1, 0, false, false
	for i, e := range events {
		bad := false
		switch e.Kind {
		case canon.EvStart:
			bad = started || i != 0
			started = true
		case canon.EvPartStart:
			bad = !started || open >= 0 || stopped || e.Index != next
			open = e.Index
			next++
		case canon.EvDelta:
			bad = open < 0 || e.Index != open
		case canon.EvPartStop:
			bad = open < 0 || e.Index != open
			open = -1
		case canon.EvStop:
			bad = open >= 0 || stopped
			stopped = true
		case canon.EvEnd, canon.EvError:
			bad = e.Kind == canon.EvEnd && open >= 0 || i != len(events)-1
		}
		if bad {
			t.Fatalf("event %d (%+v) breaks the grammar", i, e)
		}
	}
}

func TestCodecStreamDecodeGrammar(t *testing.T) {
	events := codecDecodeStream(t, codecReadSSE(t, codecRead(t, "thinking_tool.stream.sse")))
	codecCheckGrammar(t, events)
	var args, thinking, sig, text strings.Builder
	var u canon.Usage
	for _, e := range events {
		switch {
		case e.Kind == canon.EvDelta && e.Index == 0:
			thinking.WriteString(e.Text)
			sig.WriteString(e.Signature)
		case e.Kind == canon.EvDelta && e.Index == 1:
			text.WriteString(e.Text)
		case e.Kind == canon.EvDelta && e.Index == 2:
			args.WriteString(e.Text)
		case e.Kind == canon.EvUsage:
			u.Merge(&e.Usage)
		}
	}
	if thinking.String() != "The user wants the weather." || sig.String() != "EqQBCkYIBxgCKkDx3s5u0Ig==" ||
		text.String() != `Let me "check".` || args.String() != `{"location": "San Francisco, CA"}` {
		t.Errorf("thinking %q, signature %q, text %q, args %q", thinking.String(), sig.String(), text.String(), args.String())
	}
	want := canon.Usage{Input: 25672, Output: 189, CacheRead: 24000, CacheWrite: 1200, Valid: true, Reasoning: 120, CacheWrite1h: 1000}
	if u != want {
		t.Errorf("usage %+v, want %+v", u, want)
	}
}

func TestCodecStreamDecodeEdges(t *testing.T) {
	tests := []struct {
		name   string
		events []codecSSE
		want   []canon.EventKind
	}{
		{"no message_start", []codecSSE{
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"hi"}}`},
			{"message_stop", `{"type":"message_stop"}`},
		}, []canon.EventKind{canon.EvStart, canon.EvPartStart, canon.EvPartStop, canon.EvEnd}},
		{"named only by the event", []codecSSE{
			{"message_start", `{"message":{"id":"m","model":"c"}}`},
			{"message_stop", `{}`},
		}, []canon.EventKind{canon.EvStart, canon.EvEnd}},
		{"tool input given whole, a redacted block", []codecSSE{
			{"message_start", `{"type":"message_start","message":{"id":"m"}}`},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"xx"}}`},
			{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{"a":1}}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":1}`},
			{"unknown", `{"type":"future_event"}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"pause_turn"}}`},
		}, []canon.EventKind{canon.EvStart, canon.EvPartStart, canon.EvPartStop, canon.EvPartStart, canon.EvDelta, canon.EvPartStop, canon.EvStop}},
		{"after the end", []codecSSE{
			{"message_stop", `{"type":"message_stop"}`},
			{"message_start", `{"type":"message_start","message":{}}`},
		}, []canon.EventKind{canon.EvStart, canon.EvEnd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := codecDecodeStream(t, tt.events)
			kinds := make([]canon.EventKind, len(events))
			for i, e := range events {
				kinds[i] = e.Kind
			}
			if !reflect.DeepEqual(kinds, tt.want) {
				t.Errorf("kinds %v, want %v (%+v)", kinds, tt.want, events)
			}
		})
	}
	d := MessagesCodec().NewDecoder()
	for _, data := range []string{`{"type":`, `[1]`, `"x"`} {
		if _, err := d.Decode(nil, []byte(data), nil); err == nil {
			t.Errorf("%s: no error", data)
		}
	}
}

func TestCodecStreamError(t *testing.T) {
	events := codecDecodeStream(t, codecReadSSE(t, codecRead(t, "overloaded.stream.sse")))
	last := events[len(events)-1]
	if last.Kind != canon.EvError || last.Err.Status != 529 || last.Err.Type != canon.ErrOverloaded || last.Err.Message != "Overloaded" {
		t.Errorf("last event %+v", last)
	}
	for name, status := range map[string]int{"rate_limit_error": 429, "api_error": 500, "mystery_error": 500, "billing_error": 402} {
		e := codecStreamError(gjson.Parse(`{"type":"` + name + `","message":"m"}`))
		if e.Status != status {
			t.Errorf("%s: status %d, want %d", name, e.Status, status)
		}
	}
}

// codecStreams are canonical event sequences the encoder writes.
func codecStreams() map[string][]canon.Event {
	u := func(in, out, cr, cw int64) canon.Event {
		return canon.Event{Kind: canon.EvUsage, Usage: canon.Usage{Input: in, Output: out, CacheRead: cr, CacheWrite: cw, Valid: true}}
	}
	return map[string][]canon.Event{
		// An OpenAI stream: usage only at the end, reasoning text, a
		// refusal, two tool calls and an image part Anthropic cannot show.
		"openai": {
			{Kind: canon.EvStart, ID: "chatcmpl-1", Model: "gpt-5"},
			{Kind: canon.EvPartStart, Index: 0, Part: canon.Part{Kind: canon.PartThinking}},
			{Kind: canon.EvDelta, Index: 0, Text: "Think"},
			{Kind: canon.EvDelta, Index: 0, Text: "ing."},
			{Kind: canon.EvPartStop, Index: 0},
			{Kind: canon.EvPartStart, Index: 1, Part: canon.Part{Kind: canon.PartText, Text: "Hel"}},
			{Kind: canon.EvDelta, Index: 1, Text: "lo \"world\"\n"},
			{Kind: canon.EvPartStop, Index: 1},
			{Kind: canon.EvPartStart, Index: 2, Part: canon.Part{Kind: canon.PartImage}},
			{Kind: canon.EvDelta, Index: 2, Text: "ignored"},
			{Kind: canon.EvPartStop, Index: 2},
			{Kind: canon.EvPartStart, Index: 3, Part: canon.Part{Kind: canon.PartToolCall, ID: "call_1", Name: "get_weather"}},
			{Kind: canon.EvDelta, Index: 3, Text: `{"location":`},
			{Kind: canon.EvDelta, Index: 3, Text: `"Paris"}`},
			{Kind: canon.EvPartStop, Index: 3},
			{Kind: canon.EvPartStart, Index: 4, Part: canon.Part{Kind: canon.PartToolCall, ID: "call_2", Name: "noargs"}},
			{Kind: canon.EvPartStop, Index: 4},
			{Kind: canon.EvStop, Stop: canon.Stop{Reason: canon.StopTool, Raw: "tool_calls"}},
			{Kind: canon.EvUsage, Usage: canon.Usage{Input: 900, Output: 120, CacheRead: 512, Valid: true, Reasoning: 64}},
			{Kind: canon.EvEnd},
		},
		// An Anthropic-shaped stream: usage at the start and the end,
		// signed thinking, a stop sequence.
		"anthropic": {
			{Kind: canon.EvStart, ID: "msg_1", Model: "claude-sonnet-4-5"},
			u(30, 1, 10, 5),
			{Kind: canon.EvPartStart, Index: 0, Part: canon.Part{Kind: canon.PartThinking}},
			{Kind: canon.EvDelta, Index: 0, Text: "Hmm."},
			{Kind: canon.EvDelta, Index: 0, Signature: "sig=="},
			{Kind: canon.EvPartStop, Index: 0},
			{Kind: canon.EvPartStart, Index: 1, Part: canon.Part{Kind: canon.PartText}},
			{Kind: canon.EvDelta, Index: 1, Text: "1 2"},
			{Kind: canon.EvPartStop, Index: 1},
			{Kind: canon.EvStop, Stop: canon.Stop{Reason: canon.StopSequence, Sequence: "3"}},
			u(0, 9, 0, 0),
			{Kind: canon.EvEnd},
		},
		"error": {
			{Kind: canon.EvStart, ID: "msg_2", Model: "m"},
			{Kind: canon.EvPartStart, Index: 0, Part: canon.Part{Kind: canon.PartText}},
			{Kind: canon.EvDelta, Index: 0, Text: "partial"},
			{Kind: canon.EvError, Err: canon.Error{Status: 429, Type: canon.ErrRateLimit, Message: "slow down"}},
			{Kind: canon.EvEnd},
		},
	}
}

func TestCodecStreamEncodeGolden(t *testing.T) {
	for name, events := range codecStreams() {
		t.Run(name, func(t *testing.T) {
			codecGolden(t, name+".stream.encoded.sse", codecEncodeStream(&canon.Request{Model: "asked"}, events))
		})
	}
}

func TestCodecStreamEncodeShape(t *testing.T) {
	out := codecEncodeStream(&canon.Request{Model: "asked"}, codecStreams()["openai"])
	events := codecReadSSE(t, out)
	var types []string
	for i, ev := range events {
		typ := gjson.Get(ev.data, "type").Str
		if typ != ev.name {
			t.Errorf("event %d: name %q, type %q", i, ev.name, typ)
		}
		types = append(types, typ)
	}
	want := "message_start content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_stop message_delta message_stop"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	if u := gjson.Get(events[len(events)-2].data, "usage"); u.Get("input_tokens").Int() != 388 || u.Get("cache_read_input_tokens").Int() != 512 || u.Get("output_tokens").Int() != 120 {
		t.Errorf("message_delta usage %s", u.Raw)
	}
}

// TestCodecStreamGuardrails checks that the output guardrails read the
// encoder's events as they read Anthropic's: text deltas in the common
// shape their fast path takes.
func TestCodecStreamGuardrails(t *testing.T) {
	texts := 0
	for _, ev := range codecReadSSE(t, codecEncodeStream(nil, codecStreams()["openai"])) {
		var st walk.StreamText
		pure, err := streamText(&st, wire.OpMessages, []byte(ev.name), []byte(ev.data))
		if err != nil {
			t.Fatalf("%s: %v", ev.data, err)
		}
		if strings.Contains(ev.data, `"text_delta"`) {
			texts++
			if !pure || len(st.Slots) != 1 || !textDelta(&walk.StreamText{}, []byte(ev.data), walk.Span{Start: 0, End: len(ev.data)}) {
				t.Errorf("%s: pure %v, slots %+v", ev.data, pure, st.Slots)
			}
		}
	}
	if texts != 2 {
		t.Errorf("%d text deltas", texts)
	}
}

// TestCodecStreamRoundTrip checks that decoding the encoder's stream gives
// back the events the format carries: Anthropic's own stream, decoded,
// encoded and decoded again.
func TestCodecStreamRoundTrip(t *testing.T) {
	first := codecDecodeStream(t, codecReadSSE(t, codecRead(t, "thinking_tool.stream.sse")))
	second := codecDecodeStream(t, codecReadSSE(t, codecEncodeStream(nil, first)))
	if !reflect.DeepEqual(codecDumpEvents(t, codecFoldUsage(first)), codecDumpEvents(t, codecFoldUsage(second))) {
		t.Errorf("round trip:\n got %s\nwant %s", codecDumpEvents(t, second), codecDumpEvents(t, first))
	}
}

// codecFoldUsage merges a stream's usage events into the last one, which
// is what a stream's usage means (the encoder may report it at other
// points).
func codecFoldUsage(events []canon.Event) []canon.Event {
	var u canon.Usage
	var out []canon.Event
	for _, e := range events {
		if e.Kind == canon.EvUsage {
			u.Merge(&e.Usage)
			continue
		}
		if e.Kind == canon.EvEnd {
			out = append(out, canon.Event{Kind: canon.EvUsage, Usage: u})
		}
		out = append(out, e)
	}
	return out
}

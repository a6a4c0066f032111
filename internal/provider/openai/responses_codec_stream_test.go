package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/sse"
)

// respSSE is one event of a stream.
type respSSE struct{ name, data []byte }

func respReadSSE(t testing.TB, stream []byte) []respSSE {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream), 0)
	var out []respSSE
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, respSSE{append([]byte(nil), ev.Name...), append([]byte(nil), ev.Data...)})
	}
}

// respDecodeStream runs a decoder over a stream, checking the canonical
// grammar, and returns the events with their strings copied.
func respDecodeStream(t testing.TB, stream []byte) []canon.Event {
	t.Helper()
	d := ResponsesCodec().NewDecoder()
	var all, buf []canon.Event
	for _, e := range respReadSSE(t, stream) {
		var err error
		if buf, err = d.Decode(e.name, e.data, buf[:0]); err != nil {
			t.Fatalf("event %s: %v", e.data, err)
		}
		for _, ev := range buf {
			all = append(all, respCopyEvent(ev))
		}
	}
	if err := respCheckGrammar(all, true); err != nil {
		t.Fatalf("%v\n%s", err, respDumpEvents(t, all))
	}
	return all
}

// respCopyEvent copies an event's strings, which may view the decoder's
// input.
func respCopyEvent(ev canon.Event) canon.Event {
	b, _ := json.Marshal(ev)
	var c canon.Event
	_ = json.Unmarshal(b, &c)
	return c
}

// respCheckGrammar checks canon's stream grammar:
//
//	stream = EvStart { part | EvUsage } [ EvStop ] { EvUsage } EvEnd
//	part   = EvPartStart { EvDelta | EvUsage } EvPartStop
//
// with parts numbered from 0, and EvError allowed anywhere after EvStart
// as the last event. Unless complete, evs may be a prefix of a stream.
func respCheckGrammar(evs []canon.Event, complete bool) error {
	fail := func(i int, msg string) error { return errors.New("event " + strconv.Itoa(i) + ": " + msg) }
	if len(evs) == 0 && !complete {
		return nil
	}
	if len(evs) == 1 && evs[0].Kind == canon.EvError {
		return nil // an error instead of the whole stream
	}
	if len(evs) == 0 || evs[0].Kind != canon.EvStart {
		return fail(0, "the stream does not start with EvStart")
	}
	open, next, stopped := false, 0, false
	for i, ev := range evs[1:] {
		i++
		switch ev.Kind {
		case canon.EvPartStart:
			if open || stopped || ev.Index != next {
				return fail(i, "part start out of place")
			}
			open = true
			next++
		case canon.EvDelta:
			if !open || ev.Index != next-1 {
				return fail(i, "delta outside its part")
			}
		case canon.EvPartStop:
			if !open || ev.Index != next-1 {
				return fail(i, "part stop out of place")
			}
			open = false
		case canon.EvStop:
			if open || stopped {
				return fail(i, "stop out of place")
			}
			stopped = true
		case canon.EvUsage:
		case canon.EvEnd, canon.EvError:
			if ev.Kind == canon.EvEnd && open {
				return fail(i, "end inside a part")
			}
			if i != len(evs)-1 {
				return fail(i, "events after the end")
			}
			return nil
		default:
			return fail(i, "unexpected kind")
		}
	}
	if !complete {
		return nil
	}
	return errors.New("the stream has no EvEnd or EvError")
}

func respDumpEvents(t testing.TB, evs []canon.Event) []byte {
	var b []byte
	for _, ev := range evs {
		d := respDump(t, ev)
		var c bytes.Buffer
		_ = json.Compact(&c, d)
		b = append(append(b, c.Bytes()...), '\n')
	}
	return b
}

func TestResponsesStreamDecode(t *testing.T) {
	for _, name := range []string{"stream_reasoning", "stream_tools", "stream_incomplete", "stream_error", "stream_failed"} {
		t.Run(name, func(t *testing.T) {
			evs := respDecodeStream(t, respRead(t, name+".sse"))
			respGolden(t, name+".events", respDumpEvents(t, evs))
		})
	}
}

func TestResponsesStreamDecodeErrors(t *testing.T) {
	d := ResponsesCodec().NewDecoder()
	for _, data := range []string{`{"type":`, `[1,2]`, `"text"`} {
		if _, err := d.Decode(nil, []byte(data), nil); err == nil {
			t.Errorf("%s: no error", data)
		}
	}
	d = ResponsesCodec().NewDecoder()
	if out, err := d.Decode(nil, []byte(`{"type":"response.output_text.delta","output_index":1e9,"delta":"x"}`), nil); err == nil {
		t.Errorf("huge output_index: %v", out)
	}
	out, err := d.Decode(nil, []byte(`[DONE]`), nil)
	if err != nil || len(out) != 0 {
		t.Errorf("[DONE]: %v %v", out, err)
	}
}

func respTestEv(kind canon.EventKind, index int, part canon.Part, text string) canon.Event {
	return canon.Event{Kind: kind, Index: index, Part: part, Text: text}
}

var respEventSeqs = []struct {
	name string
	evs  []canon.Event
}{
	{"thinking_text_tool", []canon.Event{
		{Kind: canon.EvStart, ID: "msg_01XYZ", Model: "claude-sonnet-4-5"},
		{Kind: canon.EvUsage, Usage: respUsage(100, 1, 80, 10, 0)},
		respTestEv(canon.EvPartStart, 0, canon.Part{Kind: canon.PartThinking}, ""),
		respTestEv(canon.EvDelta, 0, canon.Part{}, "Let me "),
		respTestEv(canon.EvDelta, 0, canon.Part{}, "think."),
		{Kind: canon.EvDelta, Index: 0, Signature: "EqQBsig"},
		respTestEv(canon.EvPartStop, 0, canon.Part{}, ""),
		respTestEv(canon.EvPartStart, 1, canon.Part{Kind: canon.PartText}, ""),
		respTestEv(canon.EvDelta, 1, canon.Part{}, "Hello "),
		respTestEv(canon.EvDelta, 1, canon.Part{}, "\"world\"\n"),
		respTestEv(canon.EvPartStop, 1, canon.Part{}, ""),
		respTestEv(canon.EvPartStart, 2, canon.Part{Kind: canon.PartText, Text: "Second block."}, ""),
		respTestEv(canon.EvPartStop, 2, canon.Part{}, ""),
		respTestEv(canon.EvPartStart, 3, canon.Part{Kind: canon.PartToolCall, ID: "toolu_1", Name: "get_weather"}, ""),
		respTestEv(canon.EvDelta, 3, canon.Part{}, `{"city":`),
		respTestEv(canon.EvDelta, 3, canon.Part{}, `"Paris"}`),
		respTestEv(canon.EvPartStop, 3, canon.Part{}, ""),
		{Kind: canon.EvStop, Stop: canon.Stop{Reason: canon.StopTool}},
		{Kind: canon.EvUsage, Usage: respUsage(0, 50, 0, 0, 20)},
		{Kind: canon.EvEnd},
	}},
	{"refusal_length", []canon.Event{
		{Kind: canon.EvStart, ID: "chatcmpl-abc", Model: "gpt-4o"},
		respTestEv(canon.EvPartStart, 0, canon.Part{Kind: canon.PartRefusal}, ""),
		respTestEv(canon.EvDelta, 0, canon.Part{}, "I won't."),
		respTestEv(canon.EvPartStop, 0, canon.Part{}, ""),
		respTestEv(canon.EvPartStart, 1, canon.Part{Kind: canon.PartText}, ""),
		respTestEv(canon.EvDelta, 1, canon.Part{}, "But"),
		respTestEv(canon.EvPartStop, 1, canon.Part{}, ""),
		{Kind: canon.EvStop, Stop: canon.Stop{Reason: canon.StopLength}},
		{Kind: canon.EvEnd},
	}},
	{"redacted", []canon.Event{
		{Kind: canon.EvStart, ID: "resp_r", Model: "gemini-2.5-pro"},
		respTestEv(canon.EvPartStart, 0, canon.Part{Kind: canon.PartThinking, Redacted: "opaque"}, ""),
		respTestEv(canon.EvPartStop, 0, canon.Part{}, ""),
		respTestEv(canon.EvPartStart, 1, canon.Part{Kind: canon.PartText}, ""),
		respTestEv(canon.EvDelta, 1, canon.Part{}, "ok"),
		respTestEv(canon.EvPartStop, 1, canon.Part{}, ""),
		{Kind: canon.EvStop, Stop: canon.Stop{Reason: canon.StopEnd}},
		{Kind: canon.EvUsage, Usage: respUsage(7, 3, 0, 0, 0)},
		{Kind: canon.EvEnd},
	}},
	{"error", []canon.Event{
		{Kind: canon.EvStart, ID: "msg_e", Model: "claude-haiku-4-5"},
		respTestEv(canon.EvPartStart, 0, canon.Part{Kind: canon.PartText}, ""),
		respTestEv(canon.EvDelta, 0, canon.Part{}, "Par"),
		{Kind: canon.EvError, Err: canon.Error{Status: 529, Type: canon.ErrOverloaded, Message: "Overloaded", Code: "overloaded_error"}},
	}},
}

func respEncodeStream(evs []canon.Event, req *canon.Request) []byte {
	enc := respNewStreamEncoder(req, func() int64 { return 1755000000 })
	var f canon.Frames
	var out []byte
	for i := range evs {
		f.Reset()
		enc.Encode(&f, &evs[i])
		out = f.AppendSSE(out)
	}
	return out
}

func TestResponsesStreamEncode(t *testing.T) {
	for _, tt := range respEventSeqs {
		t.Run(tt.name, func(t *testing.T) {
			out := respEncodeStream(tt.evs, respEchoRequest())
			respGolden(t, "enc_stream_"+tt.name+".sse", out)
			// Every event: name = type, sequence_number counting from 0.
			for i, e := range respReadSSE(t, out) {
				var head struct {
					Type string `json:"type"`
					Seq  *int   `json:"sequence_number"`
				}
				if err := json.Unmarshal(e.data, &head); err != nil {
					t.Fatalf("event %d: %v\n%s", i, err, e.data)
				}
				if head.Type != string(e.name) || head.Seq == nil || *head.Seq != i {
					t.Errorf("event %d: name %q type %q sequence_number %v", i, e.name, head.Type, head.Seq)
				}
			}
		})
	}
}

// respShape is what of a canonical stream the Responses format carries:
// its events without usage ones, and the usage they add up to.
func respShape(t testing.TB, evs []canon.Event) ([]byte, canon.Usage) {
	var u canon.Usage
	var keep []canon.Event
	for _, ev := range evs {
		if ev.Kind == canon.EvUsage {
			u.Merge(&ev.Usage)
			continue
		}
		if ev.Kind == canon.EvError {
			ev.Err.Code, ev.Err.Status, ev.Err.Type = "", 0, 0 // mapped to OpenAI's codes
		}
		ev.Stop.Raw = ""
		if ev.Kind == canon.EvPartStart && ev.Part.Text != "" {
			// Text known at a part's start streams as a delta.
			text := ev.Part.Text
			ev.Part.Text = ""
			keep = append(keep, ev, canon.Event{Kind: canon.EvDelta, Index: ev.Index, Text: text})
			continue
		}
		keep = append(keep, ev)
	}
	u.CacheWrite = 0
	return respDumpEvents(t, keep), u
}

// Within the format, the decoder reads back what the encoder wrote.
func TestResponsesStreamRoundTrip(t *testing.T) {
	for _, tt := range respEventSeqs {
		t.Run(tt.name, func(t *testing.T) {
			back := respDecodeStream(t, respEncodeStream(tt.evs, nil))
			got, gu := respShape(t, back)
			want, wu := respShape(t, tt.evs)
			if string(got) != string(want) || gu != wu {
				t.Errorf("round trip differs:\n--- got\n%s%+v\n--- want\n%s%+v", got, gu, want, wu)
			}
		})
	}
}

// Encoder events reach the final response in full, and nothing follows
// the end.
func TestResponsesStreamEncodeEnds(t *testing.T) {
	enc := respNewStreamEncoder(nil, func() int64 { return 1 })
	var f canon.Frames
	for _, ev := range []canon.Event{{Kind: canon.EvEnd}, {Kind: canon.EvStart}, {Kind: canon.EvEnd}} {
		enc.Encode(&f, &ev)
	}
	evs := respReadSSE(t, f.AppendSSE(nil))
	if len(evs) != 3 || string(evs[2].name) != "response.completed" {
		t.Errorf("events %q", evs)
	}
}

package bedrock

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// streamFixture reads testdata/streams/<name>.txt, one message a line:
// "event <type> <json>", "exception <type> <json>" or "error <code> <text>",
// and frames it as an AWS event stream with the SDK's encoder.
func streamFixture(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		name, payload, _ := strings.Cut(rest, " ")
		switch kind {
		case "event":
			out = append(out, esEvent(t, name, payload)...)
		case "exception":
			out = append(out, esException(t, name, payload)...)
		case "error":
			out = append(out, esError(t, name, payload)...)
		default:
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
	}
	return out
}

func streamFixtures(t testing.TB) map[string][]byte {
	files, err := filepath.Glob("testdata/streams/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no stream fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".txt")] = streamFixture(t, f)
	}
	return out
}

// owned copies an event's strings, which are views valid until the
// decoder's next call.
func owned(ev canon.Event) canon.Event {
	c := strings.Clone
	ev.ID, ev.Model, ev.Text, ev.Signature = c(ev.ID), c(ev.Model), c(ev.Text), c(ev.Signature)
	ev.Part.Text, ev.Part.ID, ev.Part.Name, ev.Part.Redacted = c(ev.Part.Text), c(ev.Part.ID), c(ev.Part.Name), c(ev.Part.Redacted)
	ev.Stop.Raw, ev.Stop.Sequence = c(ev.Stop.Raw), c(ev.Stop.Sequence)
	ev.Err.Message, ev.Err.Code, ev.Err.Param = c(ev.Err.Message), c(ev.Err.Code), c(ev.Err.Param)
	return ev
}

// decodeStream reads an event stream through EventReader and a Decoder.
func decodeStream(t testing.TB, stream []byte) []canon.Event {
	t.Helper()
	er, dec := NewEventReader(bytes.NewReader(stream), 0), NewDecoder()
	var events, out []canon.Event
	for {
		name, payload, err := er.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err = dec.Decode(name, payload, out[:0])
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out {
			events = append(events, owned(ev))
		}
	}
	if err := checkGrammar(events); err != nil {
		t.Fatalf("%v in %s", err, dump(t, events))
	}
	return events
}

// checkGrammar checks canon's stream grammar:
//
//	stream = EvStart { part | EvUsage } [ EvStop ] { EvUsage } EvEnd
//	part   = EvPartStart { EvDelta | EvUsage } EvPartStop
//
// with EvError allowed anywhere after EvStart, ending the stream.
func checkGrammar(events []canon.Event) error {
	open, next, stopped, ended := false, 0, false, false
	for i, ev := range events {
		if ended {
			return fmt.Errorf("event %d after the end", i)
		}
		if i == 0 && ev.Kind != canon.EvStart && ev.Kind != canon.EvError {
			return fmt.Errorf("stream starts with %d", ev.Kind)
		}
		switch ev.Kind {
		case canon.EvStart:
			if i != 0 {
				return fmt.Errorf("EvStart at %d", i)
			}
		case canon.EvPartStart:
			if open || stopped || ev.Index != next {
				return fmt.Errorf("EvPartStart %d at %d (open %v, next %d, stopped %v)", ev.Index, i, open, next, stopped)
			}
			open, next = true, next+1
		case canon.EvDelta:
			if !open || ev.Index != next-1 {
				return fmt.Errorf("EvDelta %d at %d outside its part", ev.Index, i)
			}
		case canon.EvPartStop:
			if !open || ev.Index != next-1 {
				return fmt.Errorf("EvPartStop %d at %d", ev.Index, i)
			}
			open = false
		case canon.EvStop:
			if open || stopped {
				return fmt.Errorf("EvStop at %d", i)
			}
			stopped = true
		case canon.EvUsage:
		case canon.EvEnd, canon.EvError:
			if ev.Kind == canon.EvEnd && open {
				return fmt.Errorf("EvEnd at %d with a part open", i)
			}
			ended = true
		default:
			return fmt.Errorf("unknown kind %d at %d", ev.Kind, i)
		}
	}
	return nil
}

func TestStreamGolden(t *testing.T) {
	for name, stream := range streamFixtures(t) {
		t.Run(name, func(t *testing.T) {
			events := decodeStream(t, stream)
			golden(t, "decode_stream/"+name+".json", dump(t, events))

			var (
				enc    streamEncoder
				frames canon.Frames
			)
			frames.Reset()
			for i := range events {
				enc.Encode(&frames, &events[i])
			}
			golden(t, "encode_stream/"+name+".txt", frames.AppendSSE(nil))

			// The encoded events decode to the same canonical events.
			dec := NewDecoder()
			var back, out []canon.Event
			for i := 0; i < frames.Len(); i++ {
				n, d := frames.At(i)
				var err error
				if out, err = dec.Decode(n, d, out[:0]); err != nil {
					t.Fatal(err)
				}
				for _, ev := range out {
					back = append(back, owned(ev))
				}
			}
			if !reflect.DeepEqual(events, back) {
				t.Fatalf("round trip\n got %s\nwant %s", dump(t, back), dump(t, events))
			}
		})
	}
}

func TestDecoderEdges(t *testing.T) {
	type msg struct{ name, data string }
	tests := []struct {
		name string
		in   []msg
		want []canon.EventKind
		err  bool
	}{
		{"delta before start opens the stream", []msg{{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"a"}}`}},
			[]canon.EventKind{canon.EvStart, canon.EvPartStart, canon.EvDelta}, false},
		{"a new block closes the open one", []msg{{"messageStart", `{}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"a"}}`},
			{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"text":"b"}}`},
			{"messageStop", `{"stopReason":"end_turn"}`}},
			[]canon.EventKind{canon.EvStart, canon.EvPartStart, canon.EvDelta, canon.EvPartStop, canon.EvPartStart, canon.EvDelta, canon.EvPartStop, canon.EvStop}, false},
		{"stop of another block is ignored", []msg{{"messageStart", `{}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"a"}}`},
			{"contentBlockStop", `{"contentBlockIndex":7}`}},
			[]canon.EventKind{canon.EvStart, canon.EvPartStart, canon.EvDelta}, false},
		{"server tool start says nothing", []msg{{"messageStart", `{}`},
			{"contentBlockStart", `{"contentBlockIndex":0,"start":{"toolResult":{"toolUseId":"x"}}}`}},
			[]canon.EventKind{canon.EvStart}, false},
		{"nothing after the end", []msg{{"metadata", `{}`}, {"messageStart", `{}`}, {"throttlingException", `{}`}},
			[]canon.EventKind{canon.EvStart, canon.EvEnd}, false},
		{"no content after messageStop", []msg{{"messageStart", `{}`}, {"messageStop", `{"stopReason":"end_turn"}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"late"}}`}, {"contentBlockStop", `{"contentBlockIndex":0}`},
			{"messageStop", `{"stopReason":"end_turn"}`}, {"metadata", `{"usage":{"inputTokens":1}}`}},
			[]canon.EventKind{canon.EvStart, canon.EvStop, canon.EvUsage, canon.EvEnd}, false},
		{"exception first", []msg{{"validationException", `{"message":"bad"}`}}, []canon.EventKind{canon.EvError}, false},
		{"unknown event", []msg{{"futureEvent", `not json`}}, nil, false},
		{"payload not JSON", []msg{{"messageStart", `{"role":`}}, nil, true},
		{"payload not an object", []msg{{"contentBlockDelta", `[]`}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := NewDecoder()
			var kinds []canon.EventKind
			var err error
			for _, m := range tt.in {
				var out []canon.Event
				out, err = dec.Decode([]byte(m.name), []byte(m.data), nil)
				for _, ev := range out {
					kinds = append(kinds, ev.Kind)
				}
				if err != nil {
					break
				}
			}
			if (err != nil) != tt.err || !reflect.DeepEqual(kinds, tt.want) {
				t.Fatalf("kinds %v, err %v; want %v, err %v", kinds, err, tt.want, tt.err)
			}
		})
	}
}

// A delta of a tool call's block after another block's delta reopens the
// call in a new part that keeps its id and name (it had none, so a client
// saw a second, nameless call).
func TestDecoderReopenedCall(t *testing.T) {
	dec := NewDecoder()
	var evs []canon.Event
	for _, m := range [][2]string{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tu_1","name":"get_weather"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"x"}}`},
		{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`},
		{"contentBlockStop", `{"contentBlockIndex":1}`},
	} {
		data := []byte(m[1])
		out, err := dec.Decode([]byte(m[0]), data, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out {
			evs = append(evs, owned(ev))
		}
		for i := range data {
			data[i] = 'X' // a decoder that kept a view would now see garbage
		}
	}
	var starts []string
	for _, ev := range evs {
		if ev.Kind == canon.EvPartStart && ev.Part.Kind == canon.PartToolCall {
			starts = append(starts, ev.Part.ID+" "+ev.Part.Name)
		}
	}
	if want := []string{"tu_1 get_weather", "tu_1 get_weather"}; !reflect.DeepEqual(starts, want) {
		t.Errorf("tool call parts %q, want %q", starts, want)
	}
}

func TestStreamErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       canon.Error
	}{
		{"throttlingException", `{"message":"slow"}`, canon.Error{Status: 429, Type: canon.ErrRateLimit, Code: "throttlingException", Message: "slow"}},
		{"validationException", `{"Message":"bad"}`, canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Code: "validationException", Message: "bad"}},
		{"serviceUnavailableException", `{"message":"busy"}`, canon.Error{Status: 503, Type: canon.ErrOverloaded, Code: "serviceUnavailableException", Message: "busy"}},
		{"modelStreamErrorException", `{"originalMessage":"boom","originalStatusCode":500}`, canon.Error{Status: 500, Type: canon.ErrAPI, Code: "modelStreamErrorException", Message: "boom"}},
		{"internalServerException", `{}`, canon.Error{Status: 500, Type: canon.ErrAPI, Code: "internalServerException", Message: "bedrock ended the stream with internalServerException"}},
		{"modelTimeoutException", `{"message":"late"}`, canon.Error{Status: 504, Type: canon.ErrTimeout, Code: "modelTimeoutException", Message: "late"}},
		{"InternalFailure", `it broke`, canon.Error{Status: 500, Type: canon.ErrAPI, Code: "InternalFailure", Message: "it broke"}},
	}
	for _, tt := range tests {
		out, err := NewDecoder().Decode([]byte(tt.name), []byte(tt.data), nil)
		if err != nil || len(out) != 1 || out[0].Kind != canon.EvError || out[0].Err != tt.want {
			t.Errorf("%s: %+v %v", tt.name, out, err)
		}
	}
}

package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with the file name under testdata/, rewriting it
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
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
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

// reqDump shows a request's raw numbers as text in golden files.
type reqDump struct {
	*canon.Request
	Temperature, TopP, TopK, FrequencyPenalty, PresencePenalty, Seed string `json:",omitempty"`
}

func dump(t *testing.T, v any) []byte {
	t.Helper()
	if r, ok := v.(*canon.Request); ok {
		v = reqDump{Request: r, Temperature: string(r.Temperature), TopP: string(r.TopP), TopK: string(r.TopK),
			FrequencyPenalty: string(r.FrequencyPenalty), PresencePenalty: string(r.PresencePenalty), Seed: string(r.Seed)}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// indentJSON re-indents a JSON body for a readable golden file, failing on
// invalid JSON.
func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return append(out.Bytes(), '\n')
}

func cases(t *testing.T, dir, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil || len(names) == 0 {
		t.Fatalf("no cases in testdata/%s: %v", dir, err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(filepath.Base(n), ext)
	}
	return names
}

// TestRequest decodes each client request, encodes it for an upstream,
// and decodes that again: the canonical form must come back unchanged.
func TestRequest(t *testing.T) {
	c := GenerateCodec()
	for _, name := range cases(t, "request", ".json") {
		if strings.Contains(name, ".") {
			continue // a golden file
		}
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "request", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var r canon.Request
			if err := c.DecodeRequest(body, &r); err != nil {
				t.Fatalf("decode: %v", err)
			}
			r.Model = "gemini-3-pro-preview" // the encoder writes thinking levels for it
			golden(t, "request/"+name+".canon.golden", dump(t, &r))
			enc, err := c.EncodeRequest(nil, &r)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			golden(t, "request/"+name+".gemini.golden", indentJSON(t, enc))
			var back canon.Request
			if err := c.DecodeRequest(enc, &back); err != nil {
				t.Fatalf("decode of the encoding: %v", err)
			}
			back.Model = r.Model
			if !reflect.DeepEqual(normalize(&r), normalize(&back)) {
				t.Errorf("round trip changed the request:\n got %s\nwant %s", dump(t, &back), dump(t, &r))
			}
		})
	}
}

// normalize clears what a Gemini round trip cannot keep by design (labels,
// which the encoder does not send), and compares schemas as parsed JSON.
func normalize(r *canon.Request) *canon.Request {
	c := *r
	c.Tools = append([]canon.Tool(nil), r.Tools...)
	for i := range c.Tools {
		c.Tools[i].Schema = compactJSON(c.Tools[i].Schema)
	}
	c.Format.Schema = compactJSON(c.Format.Schema)
	c.Metadata = nil // labels are not sent upstream
	c.Messages = append([]canon.Message(nil), r.Messages...)
	for i := range c.Messages {
		var parts []canon.Part
		for _, p := range c.Messages[i].Parts {
			if p.Kind == canon.PartThinking && p.Text == "" && p.Signature == skipSignature {
				continue // the encoder's sentinel for a Gemini 3 upstream
			}
			parts = append(parts, p)
		}
		c.Messages[i].Parts = parts
	}
	return &c
}

func compactJSON(s string) string {
	if s == "" {
		return s
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestReply decodes each upstream reply and encodes it for a client.
func TestReply(t *testing.T) {
	c := GenerateCodec()
	for _, name := range cases(t, "reply", ".json") {
		if strings.Contains(name, ".") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "reply", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var r canon.Reply
			if err := c.DecodeReply(body, &r); err != nil {
				t.Fatalf("decode: %v", err)
			}
			golden(t, "reply/"+name+".canon.golden", dump(t, &r))
			enc := c.EncodeReply(nil, &r, &canon.Request{})
			golden(t, "reply/"+name+".gemini.golden", indentJSON(t, enc))
			var back canon.Reply
			if err := c.DecodeReply(enc, &back); err != nil {
				t.Fatalf("decode of the encoding: %v", err)
			}
			if !reflect.DeepEqual(&r, &back) {
				t.Errorf("round trip changed the reply:\n got %s\nwant %s", dump(t, &back), dump(t, &r))
			}
		})
	}
}

// readSSE returns the data of each event of an SSE file.
func readSSE(t *testing.T, b []byte) (datas [][]byte) {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(b), 1<<20)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return datas
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Name) != 0 {
			t.Fatalf("event named %q: Gemini's events have no name", ev.Name)
		}
		datas = append(datas, bytes.Clone(ev.Data))
	}
}

// eventDump copies an event for a golden file (the decoder's strings are
// views valid until its next call).
func decodeStream(t *testing.T, datas [][]byte) []canon.Event {
	t.Helper()
	d := GenerateCodec().NewDecoder()
	var all []canon.Event
	var out []canon.Event
	for _, data := range datas {
		var err error
		out, err = d.Decode(nil, data, out[:0])
		if err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		for _, ev := range out {
			b, _ := json.Marshal(ev)
			var c canon.Event
			_ = json.Unmarshal(b, &c)
			all = append(all, c)
		}
	}
	return all
}

// TestStream decodes each upstream stream into canonical events, checks
// their grammar, encodes them as a client's stream and decodes that again.
func TestStream(t *testing.T) {
	for _, name := range cases(t, "stream", ".sse") {
		if strings.Contains(name, ".") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "stream", name+".sse"))
			if err != nil {
				t.Fatal(err)
			}
			evs := decodeStream(t, readSSE(t, body))
			checkGrammar(t, evs)
			golden(t, "stream/"+name+".events.golden", eventLines(evs))
			enc := encodeStream(evs)
			golden(t, "stream/"+name+".gemini.golden", enc)
			back := decodeStream(t, readSSE(t, enc))
			if !reflect.DeepEqual(evs, back) {
				t.Errorf("round trip changed the events:\n got %s\nwant %s", eventLines(back), eventLines(evs))
			}
		})
	}
}

func encodeStream(evs []canon.Event) []byte {
	e := GenerateCodec().NewEncoder(&canon.Request{})
	var f canon.Frames
	var out []byte
	for i := range evs {
		f.Reset()
		e.Encode(&f, &evs[i])
		out = f.AppendSSE(out)
	}
	return out
}

// checkGrammar checks canon's stream grammar:
//
//	stream = EvStart { part | EvUsage } [ EvStop ] { EvUsage } EvEnd
//	part   = EvPartStart { EvDelta | EvUsage } EvPartStop
//
// with EvError allowed anywhere instead of the rest.
func checkGrammar(t *testing.T, evs []canon.Event) {
	t.Helper()
	if len(evs) == 0 || evs[0].Kind != canon.EvStart {
		t.Fatalf("stream does not open with EvStart: %+v", evs)
	}
	open, next, stopped := -1, 0, false
	for i, ev := range evs[1:] {
		switch ev.Kind {
		case canon.EvPartStart:
			if open >= 0 || stopped || ev.Index != next {
				t.Fatalf("event %d: part %d starts (open %d, next %d, stopped %v)", i+1, ev.Index, open, next, stopped)
			}
			open = ev.Index
			next++
		case canon.EvDelta:
			if open < 0 || ev.Index != open {
				t.Fatalf("event %d: delta of part %d, open %d", i+1, ev.Index, open)
			}
		case canon.EvPartStop:
			if open < 0 || ev.Index != open {
				t.Fatalf("event %d: stop of part %d, open %d", i+1, ev.Index, open)
			}
			open = -1
		case canon.EvStop:
			if open >= 0 || stopped {
				t.Fatalf("event %d: EvStop with part %d open", i+1, open)
			}
			stopped = true
		case canon.EvUsage:
		case canon.EvEnd, canon.EvError:
			if ev.Kind == canon.EvEnd && open >= 0 {
				t.Fatalf("event %d: EvEnd with part %d open", i+1, open)
			}
			if i+2 != len(evs) {
				t.Fatalf("event %d ends the stream, %d follow", i+1, len(evs)-i-2)
			}
			return
		default:
			t.Fatalf("event %d: kind %d", i+1, ev.Kind)
		}
	}
	t.Fatalf("stream does not end with EvEnd or EvError")
}

var kindNames = [...]string{canon.EvStart: "start", canon.EvPartStart: "part_start", canon.EvDelta: "delta",
	canon.EvPartStop: "part_stop", canon.EvStop: "stop", canon.EvUsage: "usage", canon.EvEnd: "end", canon.EvError: "error"}

var partNames = [...]string{canon.PartText: "text", canon.PartImage: "image", canon.PartDocument: "document",
	canon.PartToolCall: "tool_call", canon.PartToolResult: "tool_result", canon.PartThinking: "thinking", canon.PartRefusal: "refusal"}

// eventLines writes events one a line, with the fields their kind uses.
func eventLines(evs []canon.Event) []byte {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(kindNames[ev.Kind])
		switch ev.Kind {
		case canon.EvStart:
			fmt.Fprintf(&b, " id=%q model=%q", ev.ID, ev.Model)
		case canon.EvPartStart:
			fmt.Fprintf(&b, " %d %s", ev.Index, partNames[ev.Part.Kind])
			if ev.Part.ID != "" || ev.Part.Name != "" {
				fmt.Fprintf(&b, " id=%q name=%q", ev.Part.ID, ev.Part.Name)
			}
			if ev.Part.Text != "" {
				fmt.Fprintf(&b, " text=%q", ev.Part.Text)
			}
		case canon.EvDelta:
			fmt.Fprintf(&b, " %d", ev.Index)
			if ev.Text != "" {
				fmt.Fprintf(&b, " text=%q", ev.Text)
			}
			if ev.Signature != "" {
				fmt.Fprintf(&b, " signature=%q", ev.Signature)
			}
		case canon.EvPartStop:
			fmt.Fprintf(&b, " %d", ev.Index)
		case canon.EvStop:
			fmt.Fprintf(&b, " reason=%d raw=%q", ev.Stop.Reason, ev.Stop.Raw)
		case canon.EvUsage:
			fmt.Fprintf(&b, " %+v", ev.Usage)
		case canon.EvError:
			fmt.Fprintf(&b, " %+v", ev.Err)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// A call continued by a later part of the same id (canon's rule for a late
// fragment of an earlier call) is written once, whole, after the rest of
// its arguments came; its arguments used to be written {} at the first
// part's stop.
func TestStreamEncoderContinuedCall(t *testing.T) {
	call := func(i int, id, name string) canon.Event {
		return canon.Event{Kind: canon.EvPartStart, Index: i, Part: canon.Part{Kind: canon.PartToolCall, ID: id, Name: name}}
	}
	delta := func(i int, s string) canon.Event { return canon.Event{Kind: canon.EvDelta, Index: i, Text: s} }
	stop := func(i int) canon.Event { return canon.Event{Kind: canon.EvPartStop, Index: i} }
	evs := []canon.Event{{Kind: canon.EvStart, ID: "r"},
		call(0, "a", "f"), delta(0, `{"x"`), stop(0),
		call(1, "b", "g"), delta(1, `{"y":2}`), stop(1),
		call(2, "a", "f"), delta(2, `:1}`), stop(2),
		call(3, "c", "h"), delta(3, `{"cut`), stop(3),
		{Kind: canon.EvStop, Stop: canon.Stop{Reason: canon.StopTool}}, {Kind: canon.EvEnd}}
	back := decodeStream(t, readSSE(t, encodeStream(evs)))
	var calls []string
	for i, ev := range back {
		if ev.Kind == canon.EvPartStart && ev.Part.Kind == canon.PartToolCall {
			calls = append(calls, ev.Part.Name+back[i+1].Text)
		}
	}
	if want := []string{`g{"y":2}`, `f{"x":1}`, `h{}`}; !reflect.DeepEqual(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

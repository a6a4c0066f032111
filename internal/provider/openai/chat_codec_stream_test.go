package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

func wireUsage(input, output, cacheRead, cacheWrite int64) wire.Usage {
	return wire.Usage{Input: input, Output: output, CacheRead: cacheRead, CacheWrite: cacheWrite, Valid: true}
}

// chatClock is the fixed clock of the stream encoders under test.
func chatClock() time.Time { return time.Unix(1700000000, 0) }

// chatEncodeEvents writes events as a client stream answering req and
// returns its SSE.
func chatEncodeEvents(req *canon.Request, evs []chatEv) []byte {
	enc := chatNewStreamEncoder(req, chatClock)
	var f canon.Frames
	var out []byte
	for _, c := range evs {
		ev := c.event()
		f.Reset()
		enc.Encode(&f, &ev)
		out = f.AppendSSE(out)
	}
	return out
}

// TestChatStreamGolden decodes each upstream stream into canonical events,
// encodes them as a client stream, and decodes that again: what the client
// gets says what the upstream said.
func TestChatStreamGolden(t *testing.T) {
	for _, path := range chatFiles(t, filepath.Join(chatTestdata, "streams"), ".sse") {
		name := strings.TrimSuffix(path, ".sse")
		t.Run(filepath.Base(name), func(t *testing.T) {
			stream, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := chatDecodeStream(t, stream)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			chatCheckGrammar(t, evs)
			chatGolden(t, name+".events.json", chatDump(t, evs))
			client := chatEncodeEvents(&canon.Request{Model: "asked", IncludeUsage: true}, evs)
			chatGolden(t, name+".client.sse", client)
			back, err := chatDecodeStream(t, client)
			if err != nil {
				t.Fatalf("decode client stream: %v", err)
			}
			chatCheckGrammar(t, back)
			if got, want := chatSummary(back), chatSummary(evs); got != want {
				t.Errorf("client stream says\n%s\nupstream said\n%s", got, want)
			}
		})
	}
}

// chatCheckGrammar checks a decoded stream against canon's grammar:
// EvStart { part | EvUsage } [ EvStop ] { EvUsage } EvEnd, parts numbered
// from 0 and never overlapping; EvError may end it anywhere.
func chatCheckGrammar(t *testing.T, evs []chatEv) {
	t.Helper()
	started, stopped, ended, open, next := false, false, false, -1, 0
	for i, e := range evs {
		bad := func(why string) { t.Fatalf("event %d (%s): %s", i, e.Kind, why) }
		if ended {
			bad("after the end")
		}
		if !started && e.Kind != "start" && e.Kind != "error" {
			bad("before start")
		}
		switch e.Kind {
		case "start":
			if started {
				bad("second start")
			}
			started = true
		case "part_start":
			if open >= 0 || stopped || e.Index != next {
				bad("part does not follow")
			}
			open = e.Index
			next++
		case "delta":
			if open < 0 || e.Index != open {
				bad("delta outside its part")
			}
		case "part_stop":
			if open < 0 || e.Index != open {
				bad("stop of a part not open")
			}
			open = -1
		case "stop":
			if open >= 0 || stopped {
				bad("stop inside a part, or twice")
			}
			stopped = true
		case "end", "error":
			if open >= 0 && e.Kind == "end" {
				bad("end inside a part")
			}
			ended = true
		}
	}
}

// chatSummary says what a stream carries: each part's kind and text (or
// call id, name and arguments), the stop reason and the last usage.
func chatSummary(evs []chatEv) string {
	var b strings.Builder
	var usage canon.Usage
	for _, e := range evs {
		switch e.Kind {
		case "part_start":
			b.WriteString("\npart ")
			b.WriteString(string(rune('0' + e.Part.Kind)))
			b.WriteString(" " + e.Part.ID + " " + e.Part.Name + ": ")
		case "delta":
			b.WriteString(e.Text)
		case "stop":
			b.WriteString("\nstop " + chatFinishReason(*e.Stop, strings.Contains(b.String(), "part 4")))
		case "usage":
			usage.Merge(e.Usage)
		case "error":
			b.WriteString("\nerror " + e.Err.Message)
		case "end":
			b.WriteString("\nend")
		}
	}
	usage.Valid = false // a client asking for usage gets a usage chunk, zeros when the upstream said none
	u, _ := json.Marshal(usage)
	b.WriteString("\nusage " + string(u))
	return b.String()
}

// TestChatStreamEncode encodes canonical event sequences such as other
// formats' decoders produce.
func TestChatStreamEncode(t *testing.T) {
	usage := func(u canon.Usage) chatEv { return chatEv{Kind: "usage", Usage: &u} }
	part := func(i int, p canon.Part) chatEv { return chatEv{Kind: "part_start", Index: i, Part: &p} }
	delta := func(i int, s string) chatEv { return chatEv{Kind: "delta", Index: i, Text: s} }
	stop := func(i int) chatEv { return chatEv{Kind: "part_stop", Index: i} }
	end := func(r canon.StopReason) chatEv { return chatEv{Kind: "stop", Stop: &canon.Stop{Reason: r}} }
	anthropic := []chatEv{
		{Kind: "start", ID: "msg_01", Model: "claude-sonnet-4-5"},
		usage(wireUsage(1200, 1, 1000, 100)),
		part(0, canon.Part{Kind: canon.PartThinking}),
		delta(0, "Need the weather."),
		{Kind: "delta", Index: 0, Signature: "EqQBCgIYAhIM"},
		stop(0),
		part(1, canon.Part{Kind: canon.PartText}),
		delta(1, "Checking \"Paris\"…\n"),
		stop(1),
		part(2, canon.Part{Kind: canon.PartToolCall, ID: "toolu_01", Name: "get_weather"}),
		delta(2, `{"city":`),
		delta(2, `"Paris"}`),
		stop(2),
		part(3, canon.Part{Kind: canon.PartToolCall, ID: "toolu_02", Name: "now"}),
		stop(3),
		end(canon.StopTool),
		usage((func() canon.Usage { u := wireUsage(0, 57, 0, 0); u.Reasoning = 20; return u }())),
		{Kind: "end"},
	}
	gemini := []chatEv{ // no EvStart, no EvStop, parts with text at start
		part(0, canon.Part{Kind: canon.PartText, Text: "Hi"}),
		delta(0, " there"),
		stop(0),
		part(1, canon.Part{Kind: canon.PartRefusal, Text: "but no."}),
		stop(1),
		part(2, canon.Part{Kind: canon.PartImage}), // not carried
		delta(2, "ignored"),
		stop(2),
		{Kind: "end"},
	}
	failed := []chatEv{
		{Kind: "start", ID: "r1", Model: "m"},
		part(0, canon.Part{Kind: canon.PartText}),
		delta(0, "Par"),
		{Kind: "error", Err: &canon.Error{Status: 529, Type: canon.ErrOverloaded, Message: "Overloaded", Code: "overloaded_error"}},
		{Kind: "end"}, // ignored after the error
	}
	for _, tc := range []struct {
		name string
		req  canon.Request
		evs  []chatEv
	}{
		{"anthropic_usage", canon.Request{Model: "asked", IncludeUsage: true}, anthropic},
		{"anthropic_no_usage", canon.Request{Model: "asked"}, anthropic},
		{"gemini", canon.Request{Model: "gemini-2.5-pro"}, gemini},
		{"error", canon.Request{IncludeUsage: true}, failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := chatEncodeEvents(&tc.req, tc.evs)
			chatGolden(t, filepath.Join(chatTestdata, "events", tc.name+".sse"), out)
			evs := chatSSE(t, out)
			for i, e := range evs {
				if len(e.Name) > 0 {
					t.Errorf("event %d has a name: %s", i, e.Name)
				}
				if string(e.Data) == "[DONE]" {
					if i != len(evs)-1 {
						t.Errorf("[DONE] is not last")
					}
					continue
				}
				var c struct {
					ID, Object, Model string
					Created           int64
					Error             json.RawMessage
					Usage             json.RawMessage
				}
				if err := json.Unmarshal(e.Data, &c); err != nil {
					t.Fatalf("event %d: %v: %s", i, err, e.Data)
				}
				if c.Error != nil {
					continue
				}
				if c.ID == "" || c.Object != "chat.completion.chunk" || c.Created != 1700000000 || c.Model == "" {
					t.Errorf("event %d lacks id, object, created or model: %s", i, e.Data)
				}
				if tc.req.IncludeUsage != (c.Usage != nil) {
					t.Errorf("event %d: usage present %v with include_usage %v: %s", i, c.Usage != nil, tc.req.IncludeUsage, e.Data)
				}
			}
			if !bytes.Contains(out, []byte(`"delta":{"role":"assistant","content":"","refusal":null}`)) {
				t.Error("no role chunk")
			}
		})
	}
}

// Interleaved parallel calls become one part per call (held until the
// open call's arguments are whole JSON), so that clients of formats that
// cannot continue an ended block (Anthropic, Responses, Gemini) get whole
// calls; a call whose arguments never become whole is let go at the
// finish; a fragment of a call already ended still opens a new part.
func TestChatStreamHoldsInterleavedCalls(t *testing.T) {
	frag := func(calls string) string {
		return `data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[` + calls + `]},"finish_reason":null}]}` + "\n\n"
	}
	const fin = `data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\ndata: [DONE]\n\n"
	for _, tc := range []struct{ name, stream, want string }{
		{"headers together, fragments in turn",
			frag(`{"index":0,"id":"a","function":{"name":"f","arguments":""}},{"index":1,"id":"b","function":{"name":"g","arguments":""}}`) +
				frag(`{"index":1,"function":{"arguments":"{\"y\":"}}`) + frag(`{"index":0,"function":{"arguments":"{\"x\":"}}`) +
				frag(`{"index":1,"function":{"arguments":"2}"}}`) + frag(`{"index":0,"function":{"arguments":"1}"}}`) + fin,
			`start|a:{"x":|a:1}|stop|b:{"y":2}|stop|`},
		{"three calls, the held ones start in order",
			frag(`{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}`) + frag(`{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}`) +
				frag(`{"index":2,"id":"c","function":{"name":"h","arguments":"["}}`) + frag(`{"index":0,"function":{"arguments":"}"}}`) +
				frag(`{"index":2,"function":{"arguments":"]"}}`) + fin,
			`start|a:{|a:}|stop|b:{}|stop|c:[|c:]|stop|`},
		{"arguments never whole: held calls start at the finish",
			frag(`{"index":0,"id":"a","function":{"name":"f","arguments":"{\"cut"}}`) + frag(`{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}`) + fin,
			`start|a:{"cut|stop|b:{}|stop|`},
		{"a fragment of an ended call opens a new part",
			frag(`{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}`) + frag(`{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}`) +
				frag(`{"index":0,"function":{"arguments":" "}}`) + fin,
			`start|a:{}|stop|b:{}|stop|a:&nbsp;|stop|`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := chatDecodeStream(t, []byte(tc.stream))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			id := ""
			for _, ev := range evs {
				switch ev.Kind {
				case "start":
					b.WriteString("start|")
				case "part_start":
					id = ev.Part.ID
				case "delta":
					b.WriteString(id + ":" + strings.ReplaceAll(ev.Text, " ", "&nbsp;") + "|")
				case "part_stop":
					b.WriteString("stop|")
				}
			}
			if b.String() != tc.want {
				t.Errorf("events %s, want %s", b.String(), tc.want)
			}
		})
	}
}

package openai

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func respCompact(b testing.TB, name string) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, respRead(b, name)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// A Codex CLI request, 2.5 KB compact: instructions, 11 input items
// (messages, reasoning, function calls and outputs), two function tools.
func BenchmarkResponsesDecodeRequest(b *testing.B) {
	body := respCompact(b, "req_codex.json")
	var r canon.Request
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := respDecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponsesEncodeRequest(b *testing.B) {
	var r canon.Request
	if err := respDecodeRequest(respCompact(b, "req_codex.json"), &r); err != nil {
		b.Fatal(err)
	}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = respEncodeRequest(dst[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(dst)))
}

// An OpenAI reply, 1.2 KB compact: a reasoning item with two summaries
// and encrypted content, a message with an annotated text, usage.
func BenchmarkResponsesDecodeReply(b *testing.B) {
	body := respCompact(b, "reply_reasoning.json")
	var r canon.Reply
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := respDecodeReply(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// The reply of two thinking parts, text and two tool calls, answering a
// request with one tool (echoed).
func BenchmarkResponsesEncodeReply(b *testing.B) {
	r, req := &respReplies[0].reply, respEchoRequest()
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = respEncodeReply(dst[:0], r, req)
	}
	b.SetBytes(int64(len(dst)))
}

// One response.output_text.delta event of an open text part.
func BenchmarkResponsesStreamDecodeEvent(b *testing.B) {
	d := &respStreamDecoder{}
	var out []canon.Event
	for _, e := range respReadSSE(b, respRead(b, "stream_reasoning.sse"))[:12] { // up to content_part.added
		out, _ = d.Decode(e.name, e.data, out[:0])
	}
	name := []byte("response.output_text.delta")
	data := []byte(`{"type":"response.output_text.delta","sequence_number":12,"item_id":"msg_68a1f0c2b4e08190a6d3e6f0c2b4e081","output_index":1,"content_index":0,"delta":" world","logprobs":[],"obfuscation":"a1B2c3"}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = d.Decode(name, data, out[:0]); err != nil || len(out) != 1 {
			b.Fatal(err, out)
		}
	}
}

// One text delta written as a response.output_text.delta event.
func BenchmarkResponsesStreamEncodeEvent(b *testing.B) {
	enc := respNewStreamEncoder(respEchoRequest(), func() int64 { return 1 })
	var f canon.Frames
	for _, ev := range []canon.Event{{Kind: canon.EvStart, ID: "msg_01XYZ", Model: "claude-sonnet-4-5"},
		{Kind: canon.EvPartStart, Part: canon.Part{Kind: canon.PartText}}} {
		enc.Encode(&f, &ev)
	}
	ev := canon.Event{Kind: canon.EvDelta, Text: " world"}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		f.Reset()
		enc.Encode(&f, &ev)
		if n++; n%4096 == 0 {
			enc.buf = enc.buf[:0] // the reply's text, kept for the final event
		}
	}
}

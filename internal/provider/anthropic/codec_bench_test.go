package anthropic

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// codecCompact returns a testdata file without its whitespace.
func codecCompact(b *testing.B, name string) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, codecRead(b, name)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkCodecDecodeRequest decodes Claude Code's request (about 2.3 KB
// compact) into a reused canon.Request.
func BenchmarkCodecDecodeRequest(b *testing.B) {
	body := codecCompact(b, "claude_code.request.json")
	codec := MessagesCodec()
	var r canon.Request
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := codec.DecodeRequest(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecEncodeRequest(b *testing.B) {
	codec := MessagesCodec()
	var r canon.Request
	if err := codec.DecodeRequest(codecCompact(b, "claude_code.request.json"), &r); err != nil {
		b.Fatal(err)
	}
	dst, _ := codec.EncodeRequest(nil, &r)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = codec.EncodeRequest(dst[:0], &r)
	}
}

// BenchmarkCodecDecodeReply decodes a reply of about 1 KB: thinking, text,
// a tool call, cached usage.
func BenchmarkCodecDecodeReply(b *testing.B) {
	body := codecCompact(b, "tools.reply.json")
	codec := MessagesCodec()
	var r canon.Reply
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := codec.DecodeReply(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecEncodeReply(b *testing.B) {
	codec := MessagesCodec()
	var r canon.Reply
	if err := codec.DecodeReply(codecCompact(b, "tools.reply.json"), &r); err != nil {
		b.Fatal(err)
	}
	req := &canon.Request{Model: "m"}
	dst := codec.EncodeReply(nil, &r, req)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = codec.EncodeReply(dst[:0], &r, req)
	}
}

// BenchmarkCodecStreamDecode decodes a whole stream per iteration; ns/op
// divided by events/op is the cost of one event.
func BenchmarkCodecStreamDecode(b *testing.B) {
	events := codecReadSSE(b, codecRead(b, "thinking_tool.stream.sse"))
	names, datas := make([][]byte, len(events)), make([][]byte, len(events))
	for i, ev := range events {
		names[i], datas[i] = []byte(ev.name), []byte(ev.data)
	}
	codec := MessagesCodec()
	out := make([]canon.Event, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		d := codec.NewDecoder()
		for i := range datas {
			out, _ = d.Decode(names[i], datas[i], out[:0])
		}
	}
	b.ReportMetric(float64(len(events)), "events/op")
}

// BenchmarkCodecStreamEncode encodes a whole stream per iteration into
// reused frames.
func BenchmarkCodecStreamEncode(b *testing.B) {
	events := codecStreams()["openai"]
	codec := MessagesCodec()
	req := &canon.Request{Model: "m"}
	var f canon.Frames
	b.ReportAllocs()
	for b.Loop() {
		enc := codec.NewEncoder(req)
		for i := range events {
			f.Reset()
			enc.Encode(&f, &events[i])
		}
	}
	b.ReportMetric(float64(len(events)), "events/op")
}

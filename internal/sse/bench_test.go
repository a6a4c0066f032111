package sse

import (
	"bytes"
	"io"
	"testing"
)

// eventCuts returns the offset after each event of stream, so that a cutReader hands
// out one event per Read, the way a streaming upstream delivers them.
func eventCuts(stream []byte) []int {
	var cuts []int
	for at := 0; ; {
		i := bytes.Index(stream[at:], []byte("\n\n"))
		if i < 0 {
			return cuts
		}
		at += i + 2
		cuts = append(cuts, at)
	}
}

// benchRead reads stream through a pooled Reader once per iteration.
func benchRead(b *testing.B, stream []byte, cuts []int) {
	src := &cutReader{data: stream, cuts: cuts}
	r := NewReader(nil, 0)
	events := 0
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		src.reset()
		r.Reset(src)
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

// BenchmarkReaderOpenAIChunks reads an OpenAI chat stream of 500 chunks of about 230
// bytes: "bulk" as fast as a buffered body hands them out, "event-per-read" one event
// per Read as a live stream arrives.
func BenchmarkReaderOpenAIChunks(b *testing.B) {
	stream := openAIStream(500)
	b.Run("bulk", func(b *testing.B) { benchRead(b, stream, nil) })
	b.Run("event-per-read", func(b *testing.B) { benchRead(b, stream, eventCuts(stream)) })
}

// BenchmarkReaderAnthropic reads an Anthropic Messages stream of 500 text deltas.
func BenchmarkReaderAnthropic(b *testing.B) {
	stream := anthropicStream(500)
	b.Run("bulk", func(b *testing.B) { benchRead(b, stream, nil) })
	b.Run("event-per-read", func(b *testing.B) { benchRead(b, stream, eventCuts(stream)) })
}

// BenchmarkReaderMultiLineData reads events of three data lines each, which the Reader
// joins in its reused buffer.
func BenchmarkReaderMultiLineData(b *testing.B) {
	benchRead(b, bytes.Repeat([]byte("data: {\"a\":1,\ndata: \"b\":2,\ndata: \"c\":3}\n\n"), 500), nil)
}

// BenchmarkAppendEvent appends one Anthropic text delta event to a reused buffer.
func BenchmarkAppendEvent(b *testing.B) {
	name := []byte("content_block_delta")
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" Hello"}}`)
	dst := make([]byte, 0, 512)
	b.SetBytes(int64(len(AppendEvent(nil, name, data))))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEvent(dst[:0], name, data)
	}
}

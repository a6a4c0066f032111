package bedrock

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// esMessage frames one message with the AWS SDK's encoder.
func esMessage(t testing.TB, headers eventstream.Headers, payload string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: headers, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func esEvent(t testing.TB, typ, payload string) []byte {
	return esMessage(t, eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}, payload)
}

func esException(t testing.TB, typ, payload string) []byte {
	return esMessage(t, eventstream.Headers{
		{Name: ":exception-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
	}, payload)
}

func esError(t testing.TB, code, msg string) []byte {
	return esMessage(t, eventstream.Headers{
		{Name: ":error-code", Value: eventstream.StringValue(code)},
		{Name: ":error-message", Value: eventstream.StringValue(msg)},
		{Name: ":message-type", Value: eventstream.StringValue("error")},
	}, "")
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestEventReader(t *testing.T) {
	big := string(bytes.Repeat([]byte("x"), 5000))
	stream := concat(
		esEvent(t, "messageStart", `{"role":"assistant"}`),
		esEvent(t, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"`+big+`"}}`),
		esEvent(t, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"b"}}`),
		esException(t, "throttlingException", `{"message":"slow down"}`),
		esError(t, "InternalFailure", "it broke"),
		esMessage(t, eventstream.Headers{{Name: ":message-type", Value: eventstream.StringValue("event")}, {Name: ":event-type", Value: eventstream.StringValue("metadata")}}, ""),
	)
	want := []struct{ name, payload string }{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"` + big + `"}}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"b"}}`},
		{"throttlingException", `{"message":"slow down"}`},
		{"InternalFailure", "it broke"},
		{"metadata", ""},
	}
	// Read in 1-byte pieces too: a reader may return short reads.
	for _, r := range []io.Reader{bytes.NewReader(stream), &oneByte{stream}} {
		er := NewEventReader(r, 0)
		for i, w := range want {
			name, payload, err := er.Next()
			if err != nil || string(name) != w.name || string(payload) != w.payload {
				t.Fatalf("message %d: %q %.40q %v", i, name, payload, err)
			}
		}
		if _, _, err := er.Next(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	}
}

type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0], o.b = o.b[0], o.b[1:]
	return 1, nil
}

func TestEventReaderErrors(t *testing.T) {
	ev := esEvent(t, "messageStop", `{"stopReason":"end_turn"}`)
	flip := func(i int) []byte {
		b := bytes.Clone(ev)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name string
		in   []byte
		max  int
		want error // nil: any error
	}{
		{"truncated prelude", ev[:5], 0, io.ErrUnexpectedEOF},
		{"truncated message", ev[:len(ev)-1], 0, io.ErrUnexpectedEOF},
		{"too large", ev, len(ev) - 1, ErrMessageTooLarge},
		{"prelude crc", flip(9), 0, eventstream.ChecksumError{}},
		{"payload crc", flip(len(ev) - 8), 0, eventstream.ChecksumError{}},
		{"length under frame", []byte{0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0}, 0, nil},
		{"headers over length", []byte{0, 0, 0, 20, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, nil},
		{"no message type", esMessage(t, eventstream.Headers{{Name: ":event-type", Value: eventstream.StringValue("x")}}, "{}"), 0, nil},
		{"unknown message type", esMessage(t, eventstream.Headers{{Name: ":message-type", Value: eventstream.StringValue("ping")}}, "{}"), 0, nil},
		{"event without type", esMessage(t, eventstream.Headers{{Name: ":message-type", Value: eventstream.StringValue("event")}}, "{}"), 0, nil},
		{"type not a string", esMessage(t, eventstream.Headers{{Name: ":message-type", Value: eventstream.Int32Value(1)}}, "{}"), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewEventReader(bytes.NewReader(tt.in), tt.max).Next()
			if err == nil || err == io.EOF || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := NewEventReader(bytes.NewReader(nil), 0).Next(); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
}

func FuzzEventReader(f *testing.F) {
	f.Add(concat(esEvent(f, "messageStart", `{"role":"assistant"}`), esException(f, "validationException", `{"message":"x"}`)))
	f.Add(esError(f, "InternalFailure", "oops"))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 1 << 12
		er := NewEventReader(bytes.NewReader(in), max)
		for range 64 {
			name, payload, err := er.Next()
			if err != nil {
				return
			}
			if len(name) == 0 || len(name)+len(payload) > max {
				t.Fatalf("name %q, payload of %d bytes", name, len(payload))
			}
		}
	})
}

func BenchmarkEventReader(b *testing.B) {
	msg := esEvent(b, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" token"},"p":"abcdefghijklmnopq"}`)
	r := bytes.NewReader(msg)
	er := NewEventReader(r, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r.Reset(msg)
		if _, _, err := er.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

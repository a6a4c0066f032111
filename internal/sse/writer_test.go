package sse

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name       string
		event      string
		data, want string
	}{
		{"data only", "", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"named", "content_block_delta", `{"b":2}`, "event: content_block_delta\ndata: {\"b\":2}\n\n"},
		{"empty data", "", "", "data: \n\n"},
		{"lf in data", "", "a\nb", "data: a\ndata: b\n\n"},
		{"crlf in data", "", "a\r\nb", "data: a\ndata: b\n\n"},
		{"cr in data", "", "a\rb", "data: a\ndata: b\n\n"},
		{"trailing lf", "", "a\n", "data: a\ndata: \n\n"},
		{"blank lines in data", "", "a\n\n\nb", "data: a\ndata: \ndata: \ndata: b\n\n"},
		{"leading space kept", "", " a", "data:  a\n\n"},
		{"name cut at a line break", "x\ndata: injected", "d", "event: x\ndata: d\n\n"},
		{"name that is only a line break", "\r\n", "d", "data: d\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendEvent([]byte("prefix"), []byte(tc.event), []byte(tc.data))
			if string(got) != "prefix"+tc.want {
				t.Errorf("AppendEvent(%q, %q) = %q, want %q", tc.event, tc.data, got, "prefix"+tc.want)
			}
			if tc.event == "" {
				if got := AppendData(nil, []byte(tc.data)); string(got) != tc.want {
					t.Errorf("AppendData(%q) = %q, want %q", tc.data, got, tc.want)
				}
			}
		})
	}
}

func TestAppendComment(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"ping", ": ping\n\n"},
		{"", ": \n\n"},
		{"a\r\nb", ": a\n: b\n\n"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			if got := AppendComment(nil, []byte(tc.text)); string(got) != tc.want {
				t.Errorf("AppendComment(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// TestRoundTrip writes events with the Append helpers and reads them back: each event's
// Raw is exactly what was appended for it, and its fields are what went in.
func TestRoundTrip(t *testing.T) {
	type in struct {
		comment    bool
		name, data string
		wantData   string // when it differs from data
	}
	events := []in{
		{name: "message_start", data: `{"type":"message_start"}`},
		{data: `{"choices":[{"delta":{"content":"Hi"}}]}`},
		{comment: true, data: "ping"},
		{data: ""},
		{data: "multi\nline\n"},
		{name: "x", data: "\n"},
		{data: "a\r\nb\rc", wantData: "a\nb\nc"},
		{data: "  spaces  "},
		{data: ":not a comment"},
		{data: "[DONE]"},
	}
	var stream []byte
	var raws []string
	for _, e := range events {
		n := len(stream)
		if e.comment {
			stream = AppendComment(stream, []byte(e.data))
		} else {
			stream = AppendEvent(stream, []byte(e.name), []byte(e.data))
		}
		raws = append(raws, string(stream[n:]))
	}
	for _, cuts := range [][]int{nil, everyByte(len(stream))} {
		r := NewReader(&cutReader{data: stream, cuts: cuts}, 0)
		for i, want := range events {
			got, err := r.Next()
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if string(got.Raw) != raws[i] {
				t.Errorf("event %d: Raw = %q, want %q", i, got.Raw, raws[i])
			}
			if got.Incomplete {
				t.Errorf("event %d: Incomplete", i)
			}
			wantName, wantData := none, want.data
			if want.name != "" {
				wantName = want.name
			}
			if want.wantData != "" {
				wantData = want.wantData
			}
			if want.comment {
				wantData = none
			}
			if show(got.Name) != wantName || show(got.Data) != wantData {
				t.Errorf("event %d: Name, Data = %q, %q; want %q, %q", i, show(got.Name), show(got.Data), wantName, wantData)
			}
			if got.IsDone() != (want.data == DoneData) {
				t.Errorf("event %d: IsDone() = %v", i, got.IsDone())
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("after the last event: %v, want io.EOF", err)
		}
	}
}

func TestAppendZeroAllocs(t *testing.T) {
	dst := make([]byte, 0, 4096)
	name := []byte("content_block_delta")
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`)
	multi := []byte(strings.Repeat("line\n", 20))
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendEvent(dst[:0], name, data)
		dst = AppendData(dst, multi)
		dst = AppendComment(dst, []byte("ping"))
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
	if !bytes.HasPrefix(dst, []byte("event: content_block_delta\n")) {
		t.Errorf("unexpected output %q", dst)
	}
}

package sse

import (
	"io"
	"testing"
)

// chunks is a source that returns the given reads in turn.
type chunks struct{ parts []string }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func TestBuffered(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  []bool // Buffered() after each Next
	}{
		{name: "two events in one read", parts: []string{"data: a\n\ndata: b\n\n", "data: c\n\n"}, want: []bool{true, false, false}},
		{name: "partial next event", parts: []string{"data: a\n\ndata: b", "\n\n"}, want: []bool{false, false}},
		{name: "crlf", parts: []string{"data: a\r\n\r\ndata: b\r\n\r\n"}, want: []bool{true, false}},
		{name: "one per read", parts: []string{"data: a\n\n", "data: b\n\n"}, want: []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(&chunks{parts: append([]string(nil), tt.parts...)}, 0)
			for i, want := range tt.want {
				if _, err := r.Next(); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				// The source reports EOF only on a read of its own, so after
				// the last event Next still has to read: false.
				if got := r.Buffered(); got != want {
					t.Fatalf("after event %d: Buffered() = %v, want %v", i, got, want)
				}
			}
		})
	}
}

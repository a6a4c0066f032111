package anthropic

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

func TestStreamEventUsage(t *testing.T) {
	var u wire.Usage
	var seq int64
	end, usageOnly := streamEvent(wire.OpMessages, []byte("message_start"),
		[]byte(`{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}}`), &u, &seq)
	if want := (wire.Usage{Input: 15, CacheRead: 5, Output: 1, Valid: true}); u != want || end || usageOnly {
		t.Errorf("message_start: usage %+v, end %v, usage-only %v; want %+v", u, end, usageOnly, want)
	}
	// message_delta carries the final output count.
	u = wire.Usage{}
	streamEvent(wire.OpMessages, []byte("message_start"), []byte(`{"message":{"usage":{"input_tokens":10,"output_tokens":1}}}`), &u, &seq)
	streamEvent(wire.OpMessages, []byte("message_delta"), []byte(`{"usage":{"output_tokens":42}}`), &u, &seq)
	if u.Input != 10 || u.Output != 42 {
		t.Errorf("stream usage %+v", u)
	}
	if seq != 0 {
		t.Errorf("sequence number %d: Messages events have none", seq)
	}
}

func TestStreamEventEnd(t *testing.T) {
	for name, end := range map[string]bool{"message_stop": true, "error": true, "message_delta": false, "content_block_stop": false, "": false} {
		var u wire.Usage
		var seq int64
		if got, _ := streamEvent(wire.OpMessages, []byte(name), []byte(`{}`), &u, &seq); got != end {
			t.Errorf("%q ends the stream: %v, want %v", name, got, end)
		}
	}
}

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name string
		op   wire.Operation
		body string
		want wire.Usage
	}{
		{name: "messages", op: wire.OpMessages, body: `{"content":[],"usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":2}}`,
			want: wire.Usage{Input: 5, Output: 4, CacheWrite: 2, Valid: true}},
		{name: "count tokens", op: wire.OpCountTokens, body: `{"input_tokens":12}`, want: wire.Usage{Input: 12, Valid: true}},
		{name: "no usage", op: wire.OpMessages, body: `{"content":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usage(tt.op, []byte(tt.body)); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

package openai

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

func TestStreamEventUsage(t *testing.T) {
	tests := []struct {
		name      string
		op        wire.Operation
		event     string
		data      string
		usageOnly bool
		want      wire.Usage
	}{
		{name: "null usage", op: wire.OpChat, data: `{"choices":[{"delta":{"content":"x"}}],"usage":null}`},
		{name: "null usage with a content mentioning usage", op: wire.OpChat,
			data: `{"choices":[{"delta":{"content":"\"usage\": 5"}}],"usage" : null}`},
		{name: "usage chunk", op: wire.OpChat, data: `{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":1}}}`,
			usageOnly: true, want: wire.Usage{Input: 3, Output: 4, CacheRead: 1, Valid: true}},
		{name: "usage on a content chunk", op: wire.OpChat, data: `{"choices":[{"delta":{}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`,
			want: wire.Usage{Input: 3, Output: 4, Valid: true}},
		{name: "responses completed", op: wire.OpResponses, event: "response.completed",
			data: `{"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":8}}}`,
			want: wire.Usage{Input: 7, Output: 8, Valid: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u wire.Usage
			var seq int64
			if _, got := streamEvent(tt.op, []byte(tt.event), []byte(tt.data), &u, &seq); got != tt.usageOnly {
				t.Errorf("usageOnly = %v", got)
			}
			if u != tt.want {
				t.Errorf("usage = %+v, want %+v", u, tt.want)
			}
		})
	}
}

// The relay learns the end of a stream and a Responses stream's sequence
// numbers from streamEvent.
func TestStreamEventEnd(t *testing.T) {
	tests := []struct {
		name    string
		op      wire.Operation
		event   string
		data    string
		end     bool
		seqNext int64 // after the event, from 5
	}{
		{name: "chat chunk", op: wire.OpChat, data: `{"choices":[{"delta":{"content":"x"}}]}`, seqNext: 5},
		{name: "done", op: wire.OpChat, data: `[DONE]`, end: true, seqNext: 5},
		{name: "completions done", op: wire.OpCompletions, data: `[DONE]`, end: true, seqNext: 5},
		{name: "responses delta", op: wire.OpResponses, event: "response.output_text.delta",
			data: `{"type":"response.output_text.delta","sequence_number":9,"delta":"hi"}`, seqNext: 10},
		{name: "responses event without a number", op: wire.OpResponses, event: "response.in_progress",
			data: `{"type":"response.in_progress"}`, seqNext: 6},
		{name: "responses completed", op: wire.OpResponses, event: "response.completed",
			data: `{"type":"response.completed","sequence_number":12}`, end: true, seqNext: 13},
		{name: "responses failed", op: wire.OpResponses, event: "response.failed", data: `{}`, end: true, seqNext: 6},
		{name: "responses incomplete", op: wire.OpResponses, event: "response.incomplete", data: `{}`, end: true, seqNext: 6},
		{name: "responses error", op: wire.OpResponses, event: "error", data: `{}`, end: true, seqNext: 6},
		{name: "responses [DONE] is not its end", op: wire.OpResponses, data: `[DONE]`, seqNext: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u wire.Usage
			seq := int64(5)
			end, _ := streamEvent(tt.op, []byte(tt.event), []byte(tt.data), &u, &seq)
			if end != tt.end || seq != tt.seqNext {
				t.Errorf("end %v, next sequence number %d; want %v, %d", end, seq, tt.end, tt.seqNext)
			}
		})
	}
}

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name string
		op   wire.Operation
		body string
		want wire.Usage
	}{
		{name: "chat", op: wire.OpChat, body: `{"choices":[{"message":{"content":"the \"usage\": {} trick"}}],"usage":{"prompt_tokens":5,"completion_tokens":6},"system_fingerprint":"x"}`,
			want: wire.Usage{Input: 5, Output: 6, Valid: true}},
		{name: "usage not last key", op: wire.OpChat, body: `{"usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[]}`,
			want: wire.Usage{Input: 1, Output: 2, Valid: true}},
		{name: "null usage", op: wire.OpChat, body: `{"choices":[],"usage":null}`},
		{name: "no usage", op: wire.OpChat, body: `{"choices":[]}`},
		{name: "responses", op: wire.OpResponses, body: `{"output":[],"usage":{"input_tokens":3,"output_tokens":4,"input_tokens_details":{"cached_tokens":1}}}`,
			want: wire.Usage{Input: 3, Output: 4, CacheRead: 1, Valid: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usage(tt.op, []byte(tt.body)); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func BenchmarkParseUsage(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-static","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am a static reply, a little longer than a greeting so that the body has the size of a real short answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_x"}`)
	b.ReportAllocs()
	for b.Loop() {
		if u := usage(wire.OpChat, body); !u.Valid {
			b.Fatal("no usage")
		}
	}
}

// FuzzParseUsage checks the fast path against the JSON walk: when it
// accepts a body, it must read the same numbers.
func FuzzParseUsage(f *testing.F) {
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":8,"prompt_tokens_details":{"cached_tokens":3}}}`))
	f.Add([]byte(`{"usage":{"completion_tokens":8,"prompt_tokens":9},"x":{"usage":null}}`))
	f.Add([]byte(`{"usage": { "prompt_tokens" : 1 , "completion_tokens": 2 } }`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastUsage(body)
		if !ok || !gjson.ValidBytes(body) {
			return
		}
		var slow wire.Usage
		chatUsage(&slow, gjson.Get(wire.StringView(body), "usage"))
		if fast.Input != slow.Input || fast.Output != slow.Output {
			t.Fatalf("fast %+v, walk %+v for %q", fast, slow, body)
		}
	})
}

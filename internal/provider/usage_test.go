package provider

import "testing"

func TestStreamEventUsage(t *testing.T) {
	tests := []struct {
		name      string
		op        Operation
		event     string
		data      string
		usageOnly bool
		want      Usage
	}{
		{name: "null usage", op: OpChat, data: `{"choices":[{"delta":{"content":"x"}}],"usage":null}`},
		{name: "null usage with a content mentioning usage", op: OpChat,
			data: `{"choices":[{"delta":{"content":"\"usage\": 5"}}],"usage" : null}`},
		{name: "usage chunk", op: OpChat, data: `{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":1}}}`,
			usageOnly: true, want: Usage{Input: 3, Output: 4, CacheRead: 1, Valid: true}},
		{name: "usage on a content chunk", op: OpChat, data: `{"choices":[{"delta":{}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`,
			want: Usage{Input: 3, Output: 4, Valid: true}},
		{name: "responses completed", op: OpResponses, event: "response.completed",
			data: `{"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":8}}}`,
			want: Usage{Input: 7, Output: 8, Valid: true}},
		{name: "anthropic start", op: OpMessages, event: "message_start",
			data: `{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}}`,
			want: Usage{Input: 15, CacheRead: 5, Output: 1, Valid: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u Usage
			if got := u.StreamEvent(tt.op, []byte(tt.event), []byte(tt.data)); got != tt.usageOnly {
				t.Errorf("usageOnly = %v", got)
			}
			if u != tt.want {
				t.Errorf("usage = %+v, want %+v", u, tt.want)
			}
		})
	}
	// message_delta carries the final output count.
	var u Usage
	u.StreamEvent(OpMessages, []byte("message_start"), []byte(`{"message":{"usage":{"input_tokens":10,"output_tokens":1}}}`))
	u.StreamEvent(OpMessages, []byte("message_delta"), []byte(`{"usage":{"output_tokens":42}}`))
	if u.Input != 10 || u.Output != 42 {
		t.Errorf("anthropic stream usage %+v", u)
	}
}

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name string
		op   Operation
		body string
		want Usage
	}{
		{name: "chat", op: OpChat, body: `{"choices":[{"message":{"content":"the \"usage\": {} trick"}}],"usage":{"prompt_tokens":5,"completion_tokens":6},"system_fingerprint":"x"}`,
			want: Usage{Input: 5, Output: 6, Valid: true}},
		{name: "usage not last key", op: OpChat, body: `{"usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[]}`,
			want: Usage{Input: 1, Output: 2, Valid: true}},
		{name: "null usage", op: OpChat, body: `{"choices":[],"usage":null}`},
		{name: "no usage", op: OpChat, body: `{"choices":[]}`},
		{name: "messages", op: OpMessages, body: `{"content":[],"usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":2}}`,
			want: Usage{Input: 5, Output: 4, CacheWrite: 2, Valid: true}},
		{name: "responses", op: OpResponses, body: `{"output":[],"usage":{"input_tokens":3,"output_tokens":4,"input_tokens_details":{"cached_tokens":1}}}`,
			want: Usage{Input: 3, Output: 4, CacheRead: 1, Valid: true}},
		{name: "count tokens", op: OpCountTokens, body: `{"input_tokens":12}`, want: Usage{Input: 12, Valid: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseUsage(tt.op, []byte(tt.body)); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func BenchmarkParseUsage(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-static","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am a static reply, a little longer than a greeting so that the body has the size of a real short answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_x"}`)
	b.ReportAllocs()
	for b.Loop() {
		if u := ParseUsage(OpChat, body); !u.Valid {
			b.Fatal("no usage")
		}
	}
}

// FuzzParseUsage checks the fast OpenAI path against the JSON walk: when
// it accepts a body, it must read the same numbers.
func FuzzParseUsage(f *testing.F) {
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":8,"prompt_tokens_details":{"cached_tokens":3}}}`))
	f.Add([]byte(`{"usage":{"completion_tokens":8,"prompt_tokens":9},"x":{"usage":null}}`))
	f.Add([]byte(`{"usage": { "prompt_tokens" : 1 , "completion_tokens": 2 } }`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastOpenAIUsage(body)
		if !ok || !gjsonValid(body) {
			return
		}
		var slow Usage
		slow.openAI(gjsonGet(body, "usage"))
		if fast.Input != slow.Input || fast.Output != slow.Output {
			t.Fatalf("fast %+v, walk %+v for %q", fast, slow, body)
		}
	})
}

package openai

import (
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// chatBenchRequest is a typical ~2 KB request: a system prompt, a
// conversation with a tool call and its result, two tools.
var chatBenchRequest = []byte(`{"model":"gpt-4o-mini","messages":[` +
	`{"role":"system","content":"You are a helpful assistant for a travel agency. Answer briefly, in the language of the user, and use the tools to look up live data rather than guessing. Never invent prices."},` +
	`{"role":"user","content":"I would like to fly from Paris to Rome next Friday morning and come back on Sunday evening. What are my options, and what will the weather be like?"},` +
	`{"role":"assistant","content":"Let me look that up.","tool_calls":[{"id":"call_Xq1","type":"function","function":{"name":"search_flights","arguments":"{\"from\":\"CDG\",\"to\":\"FCO\",\"date\":\"2025-06-13\",\"return\":\"2025-06-15\"}"}},{"id":"call_Xq2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\",\"days\":3}"}}]},` +
	`{"role":"tool","tool_call_id":"call_Xq1","content":"[{\"flight\":\"AF1404\",\"dep\":\"07:15\",\"arr\":\"09:20\",\"price\":129},{\"flight\":\"AZ317\",\"dep\":\"09:40\",\"arr\":\"11:45\",\"price\":142}]"},` +
	`{"role":"tool","tool_call_id":"call_Xq2","content":"Friday 27°C sunny, Saturday 29°C sunny, Sunday 25°C light rain in the evening."},` +
	`{"role":"user","content":[{"type":"text","text":"Great, the first one please. Also, is it usually crowded at the Colosseum on Saturdays in June?"}]}],` +
	`"tools":[{"type":"function","function":{"name":"search_flights","description":"Search flights between two airports","parameters":{"type":"object","properties":{"from":{"type":"string"},"to":{"type":"string"},"date":{"type":"string"},"return":{"type":"string"}},"required":["from","to","date"]}}},` +
	`{"type":"function","function":{"name":"get_weather","description":"Weather forecast for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}],` +
	`"tool_choice":"auto","temperature":0.3,"max_tokens":800,"stream":true,"stream_options":{"include_usage":true},"user":"user-42"}`)

// chatBenchReply is a typical ~1 KB reply.
var chatBenchReply = []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"` +
	strings.Repeat("The AF1404 flight leaves at 07:15 and lands at 09:20. ", 11) +
	`","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":612,"completion_tokens":150,"total_tokens":762,"prompt_tokens_details":{"cached_tokens":512,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_06737a9306"}`)

var chatBenchChunk = []byte(`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":" flight"},"logprobs":null,"finish_reason":null}],"usage":null}`)

func BenchmarkChatDecodeRequest(b *testing.B) {
	var r canon.Request
	b.ReportAllocs()
	b.SetBytes(int64(len(chatBenchRequest)))
	for b.Loop() {
		if err := chatDecodeRequest(chatBenchRequest, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatEncodeRequest(b *testing.B) {
	var r canon.Request
	if err := chatDecodeRequest(chatBenchRequest, &r); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = chatEncodeRequest(dst[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatDecodeReply(b *testing.B) {
	var r canon.Reply
	b.ReportAllocs()
	b.SetBytes(int64(len(chatBenchReply)))
	for b.Loop() {
		if err := chatDecodeReply(chatBenchReply, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatEncodeReply(b *testing.B) {
	var r canon.Reply
	if err := chatDecodeReply(chatBenchReply, &r); err != nil {
		b.Fatal(err)
	}
	req := &canon.Request{Model: "gpt-4o-mini"}
	dst := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		dst = chatEncodeReply(dst[:0], &r, req)
	}
}

// BenchmarkChatStreamDecode decodes one content chunk.
func BenchmarkChatStreamDecode(b *testing.B) {
	d := &chatStreamDecoder{}
	evs, err := d.Decode(nil, chatBenchChunk, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if evs, err = d.Decode(nil, chatBenchChunk, evs[:0]); err != nil || len(evs) != 1 {
			b.Fatal(err, len(evs))
		}
	}
}

// BenchmarkChatStreamEncode encodes one text delta.
func BenchmarkChatStreamEncode(b *testing.B) {
	e := chatNewStreamEncoder(&canon.Request{Model: "claude-sonnet-4-5", IncludeUsage: true}, nil)
	var f canon.Frames
	e.Encode(&f, &canon.Event{Kind: canon.EvStart, ID: "msg_01XFDUDYJgAACzvnptvVoYEL", Model: "claude-sonnet-4-5"})
	e.Encode(&f, &canon.Event{Kind: canon.EvPartStart, Part: canon.Part{Kind: canon.PartText}})
	ev := canon.Event{Kind: canon.EvDelta, Text: " flight"}
	b.ReportAllocs()
	for b.Loop() {
		f.Reset()
		e.Encode(&f, &ev)
	}
}

func BenchmarkEmbedDecodeReply(b *testing.B) {
	vec := make([]float32, 1536)
	for i := range vec {
		vec[i] = float32(i%97)/97 - 0.5
	}
	r := canon.EmbedReply{Model: "text-embedding-3-small", Vectors: [][]float32{vec}, Usage: canon.Usage{}}
	for _, b64 := range []bool{false, true} {
		body := embedEncodeReply(nil, &r, &canon.EmbedRequest{Base64: b64})
		name := "float"
		if b64 {
			name = "base64"
		}
		b.Run(name, func(b *testing.B) {
			var out canon.EmbedReply
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := embedDecodeReply(body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"_encode", func(b *testing.B) {
			dst := make([]byte, 0, len(body))
			b.ReportAllocs()
			for b.Loop() {
				dst = embedEncodeReply(dst[:0], &r, &canon.EmbedRequest{Base64: b64})
			}
		})
	}
}

package provider

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// The bodies of the translated bench tier (bench/configs/l1-translated.yaml):
// the wrk request (shared tools' post-chat.lua) and the static upstream's
// Anthropic reply (bench/static-upstream/nginx.conf, location /v1/messages).
const (
	benchChatRequest      = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how are you?"}]}`
	benchAnthropicMessage = `{"id":"msg_static000000000000000001","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hello! I am doing well, thank you for asking. How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":14,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":18,"service_tier":"standard"}}`
)

// BenchmarkTranslateBenchTier runs, one step per sub-benchmark, what a
// request of the l1-translated bench tier costs beyond the same-format one:
// the OpenAI chat request decoded and encoded for Anthropic, the Anthropic
// reply decoded and encoded as a chat.completion, and the rate-limit headers
// mapped (docs/benchmarks.md, "Issue #16: translation and the same-format
// bar", counts its instructions per step under callgrind).
func BenchmarkTranslateBenchTier(b *testing.B) {
	chat, msgs := Codec(OpChat), Codec(OpMessages)
	body, reply := []byte(benchChatRequest), []byte(benchAnthropicMessage)
	var req canon.Request
	var rep canon.Reply
	if err := chat.DecodeRequest(body, &req); err != nil {
		b.Fatal(err)
	}
	req.Model = "claude-3-5-haiku-latest"
	up, err := msgs.EncodeRequest(nil, &req)
	if err != nil {
		b.Fatal(err)
	}
	if err := msgs.DecodeReply(reply, &rep); err != nil {
		b.Fatal(err)
	}
	out := chat.EncodeReply(nil, &rep, &req)

	b.Run("decode_request", func(b *testing.B) {
		var r canon.Request
		b.ReportAllocs()
		for b.Loop() {
			r.Reset()
			_ = chat.DecodeRequest(body, &r)
		}
	})
	b.Run("encode_request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			up, _ = msgs.EncodeRequest(up[:0], &req)
		}
	})
	b.Run("decode_reply", func(b *testing.B) {
		var r canon.Reply
		b.ReportAllocs()
		for b.Loop() {
			r.Reset()
			_ = msgs.DecodeReply(reply, &r)
		}
	})
	b.Run("encode_reply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out = chat.EncodeReply(out[:0], &rep, &req)
		}
	})
	b.Run("ratelimit_headers", func(b *testing.B) {
		// The static upstream's reply sends no rate-limit header: each of
		// the names is looked up and missed.
		var h fasthttp.ResponseHeader
		h.SetContentType("application/json")
		h.SetContentLength(len(reply))
		h.Set("Request-Id", "req_static_0003")
		now := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			MapRateLimitHeaders(&h, FormatAnthropic, FormatOpenAI, now)
		}
	})
}

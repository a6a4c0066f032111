package bedrock

import (
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// benchRequest is a typical ~2 KB request: a cached system prompt, a
// four-turn conversation with a tool call and its result, two tools.
func benchRequest() *canon.Request {
	sys := text(strings.Repeat("You are a concise assistant for a travel company. ", 8))
	sys.Cache = canon.Cache{Set: true}
	return &canon.Request{
		Model:  claude,
		System: []canon.Part{sys},
		Messages: []canon.Message{
			{Role: canon.RoleUser, Parts: []canon.Part{text(strings.Repeat("I am planning a trip to Paris next week and want to know what to pack. ", 4))}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{text("Let me check the forecast."),
				{Kind: canon.PartToolCall, ID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Name: "get_weather", Args: `{"city":"Paris","days":7}`}}},
			{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartToolResult, ID: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
				Content: []canon.Part{text(`{"forecast":[{"day":1,"high":24,"low":15,"sky":"sunny"},{"day":2,"high":22,"low":14,"sky":"cloudy"},{"day":3,"high":19,"low":12,"sky":"rain"}]}`)}}}},
			{Role: canon.RoleAssistant, Parts: []canon.Part{text(strings.Repeat("Expect mild weather with some rain midweek. ", 3))}},
			{Role: canon.RoleUser, Parts: []canon.Part{text("Great, and what about shoes?")}},
		},
		Tools: []canon.Tool{
			{Name: "get_weather", Description: "Get the weather forecast for a city for a number of days.", Schema: weatherSchema},
			{Name: "find_hotels", Description: "Find hotels in a city for given dates.", Schema: `{"type":"object","properties":{"city":{"type":"string"},"checkin":{"type":"string","format":"date"},"nights":{"type":"integer","minimum":1}},"required":["city","checkin","nights"]}`},
		},
		ToolChoice: canon.ToolChoice{Mode: canon.ToolAuto, Set: true},
		MaxTokens:  1024, Temperature: []byte("0.7"),
	}
}

// benchReply is a typical ~1 KB reply.
var benchReply = []byte(`{"metrics":{"latencyMs":1820},"output":{"message":{"content":[{"text":"` +
	strings.Repeat("Pack a light rain jacket, comfortable walking shoes and layers: days reach 24 C. ", 9) +
	`"},{"toolUse":{"input":{"city":"Paris","checkin":"2026-12-14","nights":5},"name":"find_hotels","toolUseId":"tooluse_2"}}],"role":"assistant"}},"stopReason":"tool_use","usage":{"inputTokens":612,"outputTokens":188,"totalTokens":2848,"cacheReadInputTokens":2048,"cacheWriteInputTokens":0}}`)

func BenchmarkEncodeRequest(b *testing.B) {
	r := benchRequest()
	dst, _ := EncodeRequest(nil, r)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = EncodeRequest(dst[:0], r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRequest measures the test helper (Bedrock is never a
// client format), for completeness.
func BenchmarkDecodeRequest(b *testing.B) {
	body, _ := EncodeRequest(nil, benchRequest())
	var r canon.Request
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := decodeRequest(body, claude, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReply(b *testing.B) {
	var r canon.Reply
	b.SetBytes(int64(len(benchReply)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeReply(benchReply, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeReply measures the test helper.
func BenchmarkEncodeReply(b *testing.B) {
	var r canon.Reply
	if err := DecodeReply(benchReply, &r); err != nil {
		b.Fatal(err)
	}
	dst := encodeReply(nil, &r)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = encodeReply(dst[:0], &r)
	}
}

// BenchmarkDecodeEvent is one token event (contentBlockDelta) through the
// stream decoder.
func BenchmarkDecodeEvent(b *testing.B) {
	dec := NewDecoder()
	out, _ := dec.Decode([]byte("messageStart"), []byte(`{"role":"assistant"}`), nil)
	name, data := []byte("contentBlockDelta"), []byte(`{"contentBlockIndex":0,"delta":{"text":" token"},"p":"abcdefghijklmnopq"}`)
	b.ReportAllocs()
	for b.Loop() {
		out, _ = dec.Decode(name, data, out[:0])
	}
}

// BenchmarkReadDecodeEvent is one token event from the wire: EventReader
// (the SDK's framing decoder) and the stream decoder.
func BenchmarkReadDecodeEvent(b *testing.B) {
	msg := esEvent(b, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" token"},"p":"abcdefghijklmnopq"}`)
	r := strings.NewReader(string(msg))
	er, dec := NewEventReader(r, 0), NewDecoder()
	out, _ := dec.Decode([]byte("messageStart"), []byte(`{}`), nil)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(string(msg))
		name, payload, err := er.Next()
		if err != nil {
			b.Fatal(err)
		}
		out, _ = dec.Decode(name, payload, out[:0])
	}
}

// BenchmarkEncodeEvent measures the test helper's token event.
func BenchmarkEncodeEvent(b *testing.B) {
	var (
		enc streamEncoder
		f   canon.Frames
	)
	enc.Encode(&f, &canon.Event{Kind: canon.EvPartStart, Part: canon.Part{Kind: canon.PartText}})
	ev := canon.Event{Kind: canon.EvDelta, Text: " token"}
	b.ReportAllocs()
	for b.Loop() {
		f.Reset()
		enc.Encode(&f, &ev)
	}
}

package gemini

import (
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// benchRequest is a typical ~2 KB request: a system instruction, a few
// turns with a function call and its response, one tool, settings.
var benchRequest = []byte(`{"systemInstruction":{"parts":[{"text":"You are a helpful assistant for a travel company. Answer briefly, cite prices in EUR, and call tools when you need live data."}]},
"contents":[{"role":"user","parts":[{"text":"` + strings.Repeat("I want to fly from Paris to Rome next week. ", 12) + `"}]},
{"role":"model","parts":[{"functionCall":{"name":"search_flights","args":{"from":"CDG","to":"FCO","date":"2026-12-14"}},"thoughtSignature":"c2lnbmF0dXJl"}]},
{"role":"user","parts":[{"functionResponse":{"name":"search_flights","response":{"flights":[{"id":"AF1204","price":129,"departs":"07:10"},{"id":"AZ317","price":98,"departs":"12:45"}]}}}]},
{"role":"model","parts":[{"text":"` + strings.Repeat("There are two flights; the cheapest leaves at 12:45. ", 6) + `"}]},
{"role":"user","parts":[{"text":"Book the cheapest one, window seat."}]}],
"tools":[{"functionDeclarations":[{"name":"search_flights","description":"Search flights between two airports on a date","parameters":{"type":"OBJECT","properties":{"from":{"type":"STRING","description":"IATA code"},"to":{"type":"STRING","description":"IATA code"},"date":{"type":"STRING","format":"date"}},"required":["from","to","date"]}},
{"name":"book_flight","description":"Book a flight by id","parametersJsonSchema":{"type":"object","properties":{"id":{"type":"string"},"seat":{"type":"string","enum":["window","aisle"]}},"required":["id"]}}]}],
"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}},
"generationConfig":{"maxOutputTokens":1024,"temperature":0.4,"topP":0.9,"thinkingConfig":{"thinkingBudget":2048,"includeThoughts":true}}}`)

// benchReply is a typical ~1 KB reply.
var benchReply = []byte(`{"candidates":[{"content":{"parts":[{"text":"The user wants the cheapest flight with a window seat.","thought":true},{"text":"` +
	strings.Repeat("I booked flight AZ317 for you, window seat 14A. ", 12) + `","thoughtSignature":"c2lnbmF0dXJl"},{"functionCall":{"name":"book_flight","args":{"id":"AZ317","seat":"window"}}}],"role":"model"},"finishReason":"STOP","index":0}],
"usageMetadata":{"promptTokenCount":412,"candidatesTokenCount":96,"totalTokenCount":620,"cachedContentTokenCount":256,"thoughtsTokenCount":112},"modelVersion":"gemini-2.5-flash","responseId":"bench-1"}`)

var benchChunk = []byte(`{"candidates": [{"content": {"parts": [{"text": " the cheapest flight leaves at 12:45"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 412,"totalTokenCount": 412},"modelVersion": "gemini-2.5-flash","responseId": "bench-1"}`)

func BenchmarkDecodeRequest(b *testing.B) {
	c := GenerateCodec()
	var r canon.Request
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for b.Loop() {
		if err := c.DecodeRequest(benchRequest, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	c := GenerateCodec()
	var r canon.Request
	if err := c.DecodeRequest(benchRequest, &r); err != nil {
		b.Fatal(err)
	}
	r.Model = "gemini-2.5-flash"
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = c.EncodeRequest(dst[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(dst)))
}

func BenchmarkDecodeReply(b *testing.B) {
	c := GenerateCodec()
	var r canon.Reply
	b.ReportAllocs()
	b.SetBytes(int64(len(benchReply)))
	for b.Loop() {
		if err := c.DecodeReply(benchReply, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeReply(b *testing.B) {
	c := GenerateCodec()
	var r canon.Reply
	if err := c.DecodeReply(benchReply, &r); err != nil {
		b.Fatal(err)
	}
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = c.EncodeReply(dst[:0], &r, nil)
	}
	b.SetBytes(int64(len(dst)))
}

// BenchmarkDecodeEvent decodes one text chunk of a stream that has
// started.
func BenchmarkDecodeEvent(b *testing.B) {
	d := GenerateCodec().NewDecoder()
	out, _ := d.Decode(nil, benchChunk, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchChunk)))
	for b.Loop() {
		var err error
		if out, err = d.Decode(nil, benchChunk, out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEvent encodes one text delta of a stream that has
// started.
func BenchmarkEncodeEvent(b *testing.B) {
	e := GenerateCodec().NewEncoder(&canon.Request{})
	var f canon.Frames
	for _, ev := range []canon.Event{{Kind: canon.EvStart, ID: "bench-1", Model: "gemini-2.5-flash"},
		{Kind: canon.EvUsage, Usage: canon.Usage{}}, {Kind: canon.EvPartStart, Part: canon.Part{Kind: canon.PartText}}} {
		e.Encode(&f, &ev)
	}
	ev := canon.Event{Kind: canon.EvDelta, Text: " the cheapest flight leaves at 12:45"}
	b.ReportAllocs()
	for b.Loop() {
		f.Reset()
		e.Encode(&f, &ev)
	}
}

package guard

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

const benchProse = "The quarterly report shows steady growth across all regions, with the " +
	"northern division leading on both revenue and retention. Please summarise the key " +
	"drivers, note any risks to the forecast, and suggest two follow-up questions for the " +
	"leadership meeting next Tuesday at 10:30. Keep it under 200 words, use plain language. "

// benchRequest is a typical chat request of about 2 KB: a system prompt
// and a few turns of prose (with a newline escape in each).
func benchRequest(extra string) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":512,"messages":[`)
	b.WriteString(`{"role":"system","content":"You are a careful analyst.\nAnswer concisely and cite figures when you have them."}`)
	for i, role := range []string{"user", "assistant", "user", "assistant", "user"} {
		b.WriteString(`,{"role":"` + role + `","content":"` + benchProse + `\n` + benchProse[:100*(i%2+1)])
		if i == 4 {
			b.WriteString(extra)
		}
		b.WriteString(`"}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// benchTools is a chat request's tools: two functions with a one-line
// description each, the shape agents send on every turn.
const benchTools = `"tools":[` +
	`{"type":"function","function":{"name":"get_revenue","description":"Return the revenue of a division for a quarter, in USD.",` +
	`"parameters":{"type":"object","properties":{"division":{"type":"string"},"quarter":{"type":"string"}},"required":["division","quarter"]}}},` +
	`{"type":"function","function":{"name":"search_notes","description":"Search the meeting notes for a phrase and return the matching paragraphs.",` +
	`"parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}}],`

// benchToolsRequest is benchRequest with tools and a named user message.
func benchToolsRequest() []byte {
	body := benchRequest("")
	body = bytes.Replace(body, []byte(`"messages":[`), []byte(benchTools+`"messages":[`), 1)
	return bytes.Replace(body, []byte(`{"role":"user",`), []byte(`{"role":"user","name":"analyst_7",`), 1)
}

func BenchmarkCheckRequest(b *testing.B) {
	p := mustPolicy(b, l2Rules()...)
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"clean", benchRequest("")},
		{"one_redaction", benchRequest(" Reply to ops@example.com please.")},
		{"tools", benchToolsRequest()},
	} {
		body := bc.body
		if !json.Valid(body) {
			b.Fatalf("%s: not JSON: %s", bc.name, body)
		}
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			v := make([]Verdict, 0, 4)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				_, _, err := p.CheckRequest(provider.FormatOpenAI, provider.OpChat, body, dst, v[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckRequestAllBuiltins: every builtin detector on the 2 KB
// request (the budget: under 20 µs).
func BenchmarkCheckRequestAllBuiltins(b *testing.B) {
	var rules []Rule
	for _, n := range detect.BuiltinNames() {
		rules = append(rules, Rule{Name: n, Kind: n, Action: Flag, Scope: Input})
	}
	p := mustPolicy(b, rules...)
	body := benchRequest("")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.CheckRequest(provider.FormatOpenAI, provider.OpChat, body, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckResponse checks a clean reply with the L2 rules: as served
// (the output rule, e-mail, lets the prefilter skip a reply without '@'),
// and walked (prefilter off: what a reply holding an '@' costs).
func BenchmarkCheckResponse(b *testing.B) {
	body := chatReply(strings.Repeat(benchProse, 3))
	for _, bc := range []struct {
		name string
		p    *Policy
	}{
		{"prefiltered", mustPolicy(b, l2Rules()...)},
		{"walked", noPrefilter(mustPolicy(b, l2Rules()...))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := bc.p.CheckResponse(provider.FormatOpenAI, provider.OpChat, body, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchEvents returns the token-sized delta events of a long reply.
func benchEvents(op provider.Operation) []sse.Event {
	words := strings.SplitAfter(strings.Repeat(benchProse, 40), " ")
	evs := make([]sse.Event, len(words))
	for i, w := range words {
		var data, name []byte
		switch op {
		case provider.OpMessages:
			name = []byte("content_block_delta")
			data = []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":` + jsonStr(w) + `}}`)
		case provider.OpResponses:
			name = []byte("response.output_text.delta")
			data = []byte(`{"type":"response.output_text.delta","sequence_number":` + strconv.Itoa(i+4) +
				`,"item_id":"msg_1","output_index":0,"content_index":0,"delta":` + jsonStr(w) + `,"logprobs":[]}`)
		default:
			data = []byte(openaiDelta(w))
		}
		evs[i] = sse.Event{Raw: sse.AppendEvent(nil, name, data), Name: name, Data: data}
	}
	return evs
}

// BenchmarkStreamEvent is the cost of one typical delta event (a word) in
// a long reply, per format, with the L2 rules (email on output: 256-byte
// holdback) and with every builtin (secrets: 8 KiB holdback).
func BenchmarkStreamEvent(b *testing.B) {
	var all []Rule
	for _, n := range detect.BuiltinNames() {
		all = append(all, Rule{Name: n, Kind: n, Action: Redact, Scope: Output})
	}
	for _, pc := range []struct {
		name  string
		rules []Rule
	}{{"l2", l2Rules()}, {"all_builtins", all}} {
		p := mustPolicy(b, pc.rules...)
		for _, f := range []struct {
			name   string
			format provider.Format
			op     provider.Operation
		}{{"openai", provider.FormatOpenAI, provider.OpChat}, {"anthropic", provider.FormatAnthropic, provider.OpMessages},
			{"responses", provider.FormatOpenAI, provider.OpResponses}} {
			evs := benchEvents(f.op)
			b.Run(pc.name+"/"+f.name, func(b *testing.B) {
				s := p.NewStream(f.format, f.op)
				out := make([]byte, 0, 64<<10)
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if out, err = s.Event(out[:0], &evs[i]); err != nil {
						b.Fatal(err)
					}
					if i++; i == len(evs) {
						i = 0
						out = s.Finish(out[:0])
						s.Release()
						s = p.NewStream(f.format, f.op)
					}
				}
			})
		}
	}
}

// BenchmarkStreamPathological is the cost of one 4-byte delta event in
// 64 KiB replies that keep candidates open or dense, with every builtin on
// output: an unterminated PEM block (held until its END line, 8 KiB of
// context), a long JWT, runs of digits, addresses and secret assignments
// one after another. The cost per event stays bounded (scan credit, see
// scanRate).
func BenchmarkStreamPathological(b *testing.B) {
	var all []Rule
	for _, n := range detect.BuiltinNames() {
		all = append(all, Rule{Name: n, Kind: n, Action: Redact, Scope: Output})
	}
	p := mustPolicy(b, all...)
	long := func(head, unit string) string { return head + strings.Repeat(unit, (64<<10)/len(unit)) }
	texts := []struct{ name, text string }{
		{"pem", long("-----BEGIN RSA PRIVATE KEY-----\n", "MIIBOgIBAAJBAKj34GkxFhD9\n")},
		{"jwt", long("eyJhbGciOiJIUzI1NiJ9.", "eyJzdWIiOiIx")},
		{"digits", long("", "1234567890")},
		{"emails", long("", "write to ann.lee@example.com or ")},
		{"assign", long("", "password=hunter2 api_key: \"abc\" ")},
	}
	for _, tc := range texts {
		var evs []sse.Event
		for i := 0; i < len(tc.text); i += 4 {
			d := []byte(openaiDelta(tc.text[i:min(i+4, len(tc.text))]))
			evs = append(evs, sse.Event{Raw: sse.AppendData(nil, d), Data: d})
		}
		b.Run(tc.name, func(b *testing.B) {
			s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
			out := make([]byte, 0, 64<<10)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				out, _ = s.Event(out[:0], &evs[i])
				if i++; i == len(evs) {
					i = 0
					out = s.Finish(out[:0])
					s.Release()
					s = p.NewStream(provider.FormatOpenAI, provider.OpChat)
				}
			}
			s.Release()
		})
	}
}

// BenchmarkStreamReply is the guard's whole cost for one streamed reply as
// the bench's static upstream sends it (bench/static-upstream/stream.sse:
// 18 content chunks between a role chunk, a finish chunk, a usage chunk and
// [DONE]), with the L2 rules: NewStream, every event, Finish, Release.
func BenchmarkStreamReply(b *testing.B) {
	raw, err := os.ReadFile("../../bench/static-upstream/stream.sse")
	if err != nil {
		b.Fatal(err)
	}
	rd := sse.NewReader(bytes.NewReader(raw), 1<<20)
	var evs []sse.Event
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		evs = append(evs, sse.Event{Raw: bytes.Clone(ev.Raw), Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data)})
	}
	if len(evs) < 10 {
		b.Fatalf("%d events in stream.sse", len(evs))
	}
	p := mustPolicy(b, l2Rules()...)
	out := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
		for i := range evs {
			if out, err = s.Event(out[:0], &evs[i]); err != nil {
				b.Fatal(err)
			}
		}
		out = s.Finish(out[:0])
		s.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// BenchmarkCheckBenchExchange is the guard's work on one non-streamed
// exchange of the whole-process bench: the request of post-chat.lua and the
// static upstream's reply (bench/static-upstream/nginx.conf), L2 rules;
// reply-walked with the prefilter off.
func BenchmarkCheckBenchExchange(b *testing.B) {
	conf, err := os.ReadFile("../../bench/static-upstream/nginx.conf")
	if err != nil {
		b.Fatal(err)
	}
	_, reply, found := bytes.Cut(conf, []byte("return 200 '"))
	reply, _, ended := bytes.Cut(reply, []byte("';"))
	if !found || !ended {
		b.Fatal("no static reply in nginx.conf")
	}
	req := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there, how are you?"}]}`)
	p := mustPolicy(b, l2Rules()...)
	dst := make([]byte, 0, 4096)
	v := make([]Verdict, 0, 4)
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := p.CheckRequest(provider.FormatOpenAI, provider.OpChat, req, dst, v[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	walked := noPrefilter(mustPolicy(b, l2Rules()...))
	for _, bc := range []struct {
		name string
		p    *Policy
	}{{"reply", p}, {"reply-walked", walked}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := bc.p.CheckResponse(provider.FormatOpenAI, provider.OpChat, reply, dst, v[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// fuzzRules has every kind of text rule and action.
func fuzzRules() []Rule {
	return []Rule{
		{Name: "ssn", Kind: "ssn", Action: Block, Scope: Input | Output},
		{Name: "card", Kind: "credit_card", Action: Redact, Scope: Input | Output},
		{Name: "email", Kind: "email", Action: Redact, Scope: Input | Output},
		{Name: "iban", Kind: "iban", Action: Redact, Scope: Input | Output},
		{Name: "phone", Kind: "phone", Action: Flag, Scope: Input | Output},
		{Name: "kw", Kind: KindKeywords, Words: []string{"secret", "top secret plan"}, WholeWords: true, Action: Redact, Scope: Input | Output},
		{Name: "tkt", Kind: KindRegex, Pattern: `\bTKT-\d{6}\b`, Action: Redact, Scope: Input | Output},
		{Name: "word3", Kind: KindRegex, Pattern: `(?i)x[a-z]{2}`, Action: Redact, Scope: Input | Output},
		{Name: "secrets", Kind: "secrets", Action: Redact, Scope: Input | Output},
		{Name: "ip", Kind: "ip", Action: Flag, Scope: Input | Output},
		{Name: "chars", Kind: KindMaxChars, Limit: 1 << 16, Action: Flag},
		{Name: "msgs", Kind: KindMaxMessages, Limit: 3, Action: Flag},
	}
}

var fuzzOps = []provider.Operation{provider.OpChat, provider.OpCompletions, provider.OpEmbeddings,
	provider.OpResponses, provider.OpMessages, provider.OpCountTokens}

func addBodySeeds(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"mail bob@example.com, TKT-123456 secret"}]}`), uint8(0))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x\u0040y.com xab"}]}]}`), uint8(0))
	f.Add([]byte(`{"model":"m","prompt":["a@b.co",[1,2]],"suffix":"4111 1111 1111 1111"}`), uint8(1))
	f.Add([]byte(`{"model":"m","input":[{"role":"user","content":"GB82WEST12345698765432"}]}`), uint8(3))
	f.Add([]byte(`{"model":"m","system":"a@b.co","messages":[{"role":"user","content":[{"type":"tool_use","input":{"a":["xyz"]}}]}]}`), uint8(4))
	f.Add([]byte(`{"choices":[{"message":{"content":"xab a@b.co","tool_calls":[{"function":{"arguments":"{\"a\":\"xyz\"}"}}]}}]}`), uint8(0))
	f.Add([]byte(`{"content":[{"type":"text","text":"secret"}]}`), uint8(4))
	f.Add([]byte(`{"output":[{"content":[{"text":"xab"}]}]}`), uint8(3))
	f.Add([]byte(`{"messages":[{"content":"xab"}],}`), uint8(0))
	f.Add([]byte(`{"messages":[{"content":"\ud800 xab \u"}]}`), uint8(0))
	f.Add([]byte(`{"tools":[{"type":"function","function":{"name":"f","description":"a\u0040b.co xab"}},{"type":"custom","custom":{"description":"secret"}}],`+
		`"functions":[{"description":"TKT-123456"}],"messages":[{"role":"user","name":"bob@example.com","content":"hi"}]}`), uint8(0))
	f.Add([]byte(`{"input":"hi","tools":[{"type":"function","name":"f","description":"x@y.co 4111 1111 1111 1111"}]}`), uint8(3))
	f.Add([]byte(`{"tools":[{"name":"f","description":"123-45-6789 xab","input_schema":{}}],"messages":[{"role":"user","content":"hi"}]}`), uint8(4))
}

// checkFuzzBody asserts CheckRequest/CheckResponse conventions on any body.
func checkFuzzBody(t *testing.T, body, out []byte, err error) {
	var ve *Violation
	var le *LimitError
	if err != nil && !errors.As(err, &ve) && !errors.As(err, &le) &&
		!errors.Is(err, ErrNotObject) && !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("unexpected error %v", err)
	}
	if len(out) == len(body) && (len(body) == 0 || &out[0] == &body[0]) {
		return // body itself
	}
	if err != nil {
		t.Fatalf("an error came with a rewritten body")
	}
	if !json.Valid(out) {
		t.Fatalf("rewritten body is not valid JSON:\n%s\nfrom\n%s", out, body)
	}
}

func FuzzCheckRequest(f *testing.F) {
	addBodySeeds(f)
	p := mustPolicy(f, fuzzRules()...)
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		orig := bytes.Clone(body)
		out, _, err := p.CheckRequest(provider.FormatOpenAI, fuzzOps[int(op)%len(fuzzOps)], body, nil, nil)
		if !bytes.Equal(body, orig) {
			t.Fatal("the body was modified")
		}
		checkFuzzBody(t, body, out, err)
	})
}

func FuzzCheckResponse(f *testing.F) {
	addBodySeeds(f)
	p := mustPolicy(f, fuzzRules()...)
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		out, _, err := p.CheckResponse(provider.FormatOpenAI, fuzzOps[int(op)%len(fuzzOps)], body, nil, nil)
		checkFuzzBody(t, body, out, err)
	})
}

// FuzzStreamEvent feeds arbitrary event data, after a few ordinary events:
// no panic, and what goes out parses as whole SSE events.
func FuzzStreamEvent(f *testing.F) {
	f.Add("", []byte(openaiDelta("a xab b")), uint8(0))
	f.Add("", []byte(openaiFinish), uint8(0))
	f.Add("", []byte(`{"choices":[{"index":3,"delta":{"tool_calls":[{"index":9,"function":{"arguments":"xab"}}]},"finish_reason":"x"}]}`), uint8(0))
	f.Add("content_block_delta", []byte(`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"xab"}}`), uint8(4))
	f.Add("content_block_stop", []byte(`{"type":"content_block_stop","index":0}`), uint8(4))
	f.Add("response.output_text.delta", []byte(`{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"xab"}`), uint8(3))
	f.Add("response.completed", []byte(`{"type":"response.completed","response":{"output":[{"content":[{"text":"xab"}]}]}}`), uint8(3))
	f.Add("", []byte(`{"choices":[{"text":"xa","index":0}]}`), uint8(1))
	f.Add("", []byte(`[DONE]`), uint8(0))
	p := mustPolicy(f, fuzzRules()...)
	f.Fuzz(func(t *testing.T, name string, data []byte, op uint8) {
		o := fuzzOps[int(op)%len(fuzzOps)]
		format := provider.FormatOpenAI
		if o == provider.OpMessages {
			format = provider.FormatAnthropic
		}
		s := p.NewStream(format, o)
		defer s.Release()
		var out []byte
		evs := []sse.Event{
			{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello x"}}`)},
			{Data: []byte(openaiDelta("hello x"))},
			{Name: []byte(name), Data: data},
			{Name: []byte(name), Data: data, Incomplete: true},
		}
		for i := range evs {
			evs[i].Raw = sse.AppendEvent(nil, evs[i].Name, evs[i].Data)
			var err error
			out, err = s.Event(out, &evs[i])
			if err != nil {
				break
			}
		}
		out = s.Finish(out)
		rd := sse.NewReader(bytes.NewReader(out), 0)
		for {
			ev, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if ev.Incomplete {
				t.Fatalf("output has a cut event: %q", ev.Raw)
			}
		}
	})
}

// FuzzStreamSplit is the streaming property on arbitrary text and
// chunking: the client gets what the buffered check gives.
func FuzzStreamSplit(f *testing.F) {
	f.Add("mail bob@example.com now, TKT-123456 and the top secret plan xab", []byte{3, 9, 27})
	f.Add("4111 1111 1111 1111 GB82WEST12345698765432 +1 555 123 4567", []byte{1, 1, 1, 1, 1})
	f.Add("é🙂 xéz xa\nb", []byte{1, 2, 3})
	f.Add("password=hunter2 -----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- sk-proj-abc123def456ghi789jkl", []byte{7, 1, 30, 2, 2})
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIi.sig 10.0.0.1 fe80::1", []byte{4, 4, 4, 4})
	p := mustPolicy(f, fuzzRules()[1:]...) // no block rule
	// starved relays the same rules with no scan credit saved, so that
	// releases wait on credit.
	starved := mustPolicy(f, fuzzRules()[1:]...)
	for _, r := range starved.out {
		r.scanCap = 0
	}
	f.Fuzz(func(t *testing.T, text string, cuts []byte) {
		if !utf8.ValidString(text) || len(text) > 4096 {
			return
		}
		want, err := redactedReply(t, p, text)
		if err != nil {
			t.Fatal(err)
		}
		var chunks []string
		rest := text
		for _, c := range cuts {
			n := min(int(c), len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		chunks = append(chunks, rest)
		for _, sf := range streamFormats {
			for _, sp := range []*Policy{p, starved} {
				s := sp.NewStream(sf.f, sf.op)
				out, err := relay(t, s, sf.body(chunks), false)
				s.Release()
				if err != nil {
					t.Fatal(err)
				}
				if got := streamText(t, sf.op, out); got != want {
					t.Fatalf("%s, chunks %q:\n got %q\nwant %q", sf.name, chunks, got, want)
				}
			}
		}
	})
}

// refTexts is a reference for inputText on decoded JSON: the texts the
// model reads, by the documented rules.
func refTexts(op provider.Operation, v any) []string {
	var out []string
	str := func(x any) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	obj := func(x any) map[string]any { m, _ := x.(map[string]any); return m }
	arr := func(x any) []any { a, _ := x.([]any); return a }
	parts := func(x any) {
		if _, ok := x.(string); ok {
			str(x)
			return
		}
		for _, p := range arr(x) {
			str(obj(p)["text"])
		}
	}
	var all func(x any)
	all = func(x any) {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				all(e)
			}
		case map[string]any:
			for _, e := range x {
				all(e)
			}
		}
	}
	tools := func(x any) {
		for _, t := range arr(x) {
			t := obj(t)
			str(t["description"])
			str(obj(t["function"])["description"])
			str(obj(t["custom"])["description"])
		}
	}
	root := obj(v)
	switch op {
	case provider.OpChat:
		tools(root["tools"])
		tools(root["functions"])
		for _, m := range arr(root["messages"]) {
			m := obj(m)
			str(m["name"])
			parts(m["content"])
			str(m["refusal"])
			for _, tc := range arr(m["tool_calls"]) {
				str(obj(obj(tc)["function"])["arguments"])
			}
			str(obj(m["function_call"])["arguments"])
		}
	case provider.OpMessages:
		tools(root["tools"])
		parts(root["system"])
		for _, m := range arr(root["messages"]) {
			c := obj(m)["content"]
			if _, ok := c.(string); ok {
				str(c)
				continue
			}
			for _, blk := range arr(c) {
				blk := obj(blk)
				str(blk["text"])
				all(obj(blk)["input"])
				parts(blk["content"])
			}
		}
	case provider.OpResponses:
		tools(root["tools"])
		str(root["instructions"])
		in := root["input"]
		if _, ok := in.(string); ok {
			str(in)
		}
		for _, it := range arr(in) {
			str(it)
			it := obj(it)
			parts(it["content"])
			parts(it["output"])
			str(it["arguments"])
		}
	}
	return out
}

// FuzzWalkerFindsAllText: on valid JSON the walker collects at least every
// text the reference finds (duplicate keys aside, it may find more); on any
// body its fields are ordered and disjoint (walk.Walker.Add), which the
// prefilter's scan-limit bound relies on.
func FuzzWalkerFindsAllText(f *testing.F) {
	addBodySeeds(f)
	f.Add([]byte(`{"messages":[{"content":[{"text":"a"},{"x":{"text":"no"}}],"tool_calls":[{"function":{"arguments":"b"}}]},{"refusal":"r"}]}`), uint8(0))
	f.Add([]byte(`{"input":["s",{"content":"c","output":[{"text":"o"}],"arguments":"a"}],"instructions":"i"}`), uint8(3))
	f.Add([]byte(`{"tools":[{"description":"d","function":{"description":"fd"},"custom":{"description":"cd"}}],"functions":[{"description":"ld"}],"messages":[{"name":"n","content":"c"}]}`), uint8(0))
	f.Add([]byte(`{"tools":[{"type":"function","name":"f","description":"d"}],"input":"i"}`), uint8(2))
	f.Add([]byte(`{"tools":[{"name":"f","description":"d"}],"system":"s","messages":[]}`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		o := []provider.Operation{provider.OpChat, provider.OpMessages, provider.OpResponses}[int(op)%3]
		root, err := walk.RootObject(body)
		if err != nil {
			return
		}
		w := walk.Walker{B: body}
		inputText(&w, o, root)
		for i, fl := range w.Fields {
			if fl.Start < 0 || fl.End > len(body) || fl.Start >= fl.End || (i > 0 && fl.Start < w.Fields[i-1].End) {
				t.Fatalf("field %d %v is out of order or out of the body in %q", i, fl.Span, body)
			}
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		got := map[string]int{}
		for _, fl := range w.Fields {
			var s string
			if err := json.Unmarshal(body[fl.Start:fl.End], &s); err != nil {
				t.Fatalf("field %q is not a string", body[fl.Start:fl.End])
			}
			got[s]++
		}
		for _, s := range refTexts(o, v) {
			if got[s] == 0 {
				t.Fatalf("the walker missed %q in %s", s, body)
			}
			got[s]--
		}
	})
}

package guard

import (
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// TestStreamFastPaths checks that skipping a chunk's captured head and
// reading a plain content chunk by its shape change nothing: the same
// chunks with a space after their opening brace (which defeats both)
// relay to the same bytes, that space aside.
func TestStreamFastPaths(t *testing.T) {
	const head = `"id":"c1","object":"chat.completion.chunk","created":7,"model":"m",`
	choice := func(idx, text string) string {
		return `"choices":[{"index":` + idx + `,"delta":{"content":` + jsonStr(text) + `},"logprobs":null,"finish_reason":null}]`
	}
	mixed := []string{
		openaiRole,
		openaiDelta("hello sk-abcd"),
		openaiDelta("efgh1 world "),
		`{` + strings.TrimSuffix(head, ",") + `}`,
		`{"id":"c1","object":"chat.completion.chunk","created":8,"model":"m",` + choice("0", "abcdefgh tail") + `}`,
		`{` + head + choice("0", "more ann@example.com") + `,"usage":{"total_tokens":3}}`,
		`{` + head + choice("1", "other sk-zzzzzzzz ") + `}`,
		`{` + head + `"ch\u006fices":[{"index":0,"delta":{"c\u006fntent":"esc key sk-"},"logprobs":null,"finish_reason":null}]}`,
		`{` + head + choice("0", "qqqqqqqq end") + `,"obfuscation":"x"}`,
		`{` + head + choice("0", "obf1 sk-") + `,"usage":null,"obfuscation":"xYz1"}`,
		`{` + head + choice("0", "abcdefgh2 ") + `,"usage":null,"obfuscation":"a\"b"}`,
		`{` + head + choice("0", "obf3 ") + `,"obfuscation":7}`,
		`{` + head + choice("0", "obf4 ") + `,"usage":null,"obfuscation":"x","note":"sk-abcdefgh"}`,
		`{` + head + choice("0", "obf5 ") + `,"obfuscation":"x","usage":null}`,
		`{` + head + `"usage":null,` + choice("0", " bob@example.org") + `}`,
		`{` + head + choice("2", "q\"uote\\ sk-") + `,"usage":null}`,
		`{` + head + choice("2", "abcdefgh") + `,"usage":null }`,
		`{` + head + choice("0", "tail ann@ex") + `,"usage":null}`,
		openaiFinish,
	}
	tests := []struct {
		name   string
		events []string
		want   []string
	}{
		{"mixed", mixed, []string{`"[REDACTED:TOK]1 world "`, `"content":"[REDACTED:EMAIL] key "`, `"index":1,"delta":{"content":" [REDACTED:TOK] "}`}},
		{"content first", []string{
			`{` + head + choice("0", "hi ann@exa") + `,"usage":null}`,
			`{` + head + choice("0", "mple.com and sk-") + `,"usage":null}`,
			`{` + head + choice("0", "12345678") + `,"usage":null}`,
		}, []string{`"content":"hi "`, `[REDACTED:EMAIL]`, `[REDACTED:TOK]`}},
		{"no head first", []string{
			`{` + choice("0", "hi ") + `}`,
			`{` + head + choice("0", "there sk-") + `}`,
		}, []string{`data: {"choices":[{"index":0,"delta":{"content":"hi there sk-"}`}},
		// Chunks that are not valid JSON end the relay (ErrInvalidJSON) in
		// both, after the same output.
		{"second comma", []string{openaiDelta("hi "), `{` + head + `,` + choice("0", "x sk-") + `}`}, []string{"error: " + ErrInvalidJSON.Error()}},
		{"leading zero", []string{openaiDelta("hi "), `{` + head + choice("02", "x") + `}`}, []string{"error: " + ErrInvalidJSON.Error()}},
		{"escapes", []string{openaiDelta("hi "), `{` + head + `"choices":[{"index":0,"delta":{"content":"x\u00e9\u0000\/\"\\\b"},"logprobs":null,"finish_reason":null}]}`}, []string{`xé\u0000/\"\\\u0008"`}},
		{"short unicode escape", []string{openaiDelta("hi "), `{` + head + `"choices":[{"index":0,"delta":{"content":"x\u00e"},"logprobs":null,"finish_reason":null}]}`}, []string{"error: " + ErrInvalidJSON.Error()}},
		{"raw control byte", []string{openaiDelta("hi "), `{` + head + `"choices":[{"index":0,"delta":{"content":"a` + "\t\n\r	" + `"},"logprobs":null,"finish_reason":null}]}`}, []string{"error: " + ErrInvalidJSON.Error()}},
		{"bad escape", []string{openaiDelta("hi "), `{` + head + `"choices":[{"index":0,"delta":{"content":"a\q"},"logprobs":null,"finish_reason":null}]}`}, []string{"error: " + ErrInvalidJSON.Error()}},
		{"bad obfuscation", []string{openaiDelta("hi "), `{` + head + choice("0", "x") + `,"obfuscation":"a\x"}`}, []string{"error: " + ErrInvalidJSON.Error()}},
	}
	p := mustPolicy(t, tokRule(), Rule{Name: "email", Kind: "email", Action: Redact, Scope: Output})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(spaced bool) string {
				var body []byte
				for _, e := range tt.events {
					if spaced {
						e = "{ " + e[1:]
					}
					body = sse.AppendData(body, []byte(e))
				}
				s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
				defer s.Release()
				out, err := relay(t, s, body, true)
				if err != nil {
					out = append(out, "error: "+err.Error()...)
				}
				return string(out)
			}
			fast, full := run(false), strings.ReplaceAll(run(true), `{ "`, `{"`)
			if fast != full {
				t.Errorf("by the fast paths:\n%s\nwalked in full:\n%s", fast, full)
			}
			for _, want := range tt.want {
				if !strings.Contains(fast, want) {
					t.Errorf("relayed stream lacks %s:\n%s", want, fast)
				}
			}
		})
	}
}

// fastPathsAgree relays first, a and b (event data, named name) through
// a stream of the format, and again with a space after the opening brace
// of each that opens with a key (which the fast paths do not take), and
// fails when the two relay differently, that space aside, or end with
// different errors.
func fastPathsAgree(t *testing.T, p *Policy, f provider.Format, op provider.Operation, name []byte, first, a, b []byte) {
	norm := func(out []byte) string { return strings.ReplaceAll(string(out), `{ "`, `{"`) }
	run := func(spaced bool) string {
		s := p.NewStream(f, op)
		defer s.Release()
		var out []byte
		for _, d := range [][]byte{first, a, b} {
			if spaced && len(d) > 1 && d[0] == '{' && d[1] == '"' {
				d = append([]byte("{ "), d[1:]...)
			}
			ev := sse.Event{Raw: sse.AppendEvent(nil, name, d), Name: name, Data: d}
			var err error
			if out, err = s.Event(out, &ev); err != nil {
				return norm(out) + "error: " + err.Error() // a violation, or not valid JSON
			}
		}
		return norm(s.Finish(out))
	}
	if fast, full := run(false), run(true); fast != full {
		t.Fatalf("by the fast paths:\n%s\nwalked in full:\n%s", fast, full)
	}
}

// FuzzStreamFastPaths is TestStreamFastPaths on arbitrary chunks, after a
// plain chunk (which captures the head).
func FuzzStreamFastPaths(f *testing.F) {
	f.Add([]byte(openaiDelta("a xab b")), []byte(openaiDelta("ann@example.com")))
	f.Add([]byte(openaiFinish), []byte(`{"choices":[{"index":1,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}],"usage":null}`))
	f.Add([]byte(`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":12,"delta":{"content":"q\"x\\"},"logprobs":null,"finish_reason":null}]}`), []byte(openaiRole))
	p := mustPolicy(f, fuzzRules()[1:]...) // no block rule
	f.Fuzz(func(t *testing.T, a, b []byte) {
		fastPathsAgree(t, p, provider.FormatOpenAI, provider.OpChat, nil, []byte(openaiDelta("hello x")), a, b)
	})
}

// FuzzStreamTextDelta is the same for Messages content_block_delta events.
func FuzzStreamTextDelta(f *testing.F) {
	delta := func(idx, text string) []byte {
		return []byte(`{"type":"content_block_delta","index":` + idx + `,"delta":{"type":"text_delta","text":` + jsonStr(text) + `}}`)
	}
	f.Add(delta("0", "a xab b"), delta("0", "ann@example.com"))
	f.Add(delta("1", "q\"x"), []byte(`{"type":"content_block_stop","index":1}`))
	f.Add(delta("0000000001", "x"), delta("2", "ann@ex"))
	p := mustPolicy(f, fuzzRules()[1:]...) // no block rule
	f.Fuzz(func(t *testing.T, a, b []byte) {
		fastPathsAgree(t, p, provider.FormatAnthropic, provider.OpMessages, []byte("content_block_delta"), delta("0", "hello x"), a, b)
	})
}

func TestFraming(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string // "" = not the one-line shape
	}{
		{"data: {\"a\":1}\n\n", "data: "},
		{"event: content_block_delta\ndata: {\"a\":1}\n\n", "event: content_block_delta\ndata: "},
		{"data:{\"a\":1}\n\n", ""},
		{"data: {\"a\":\ndata: 1}\n\n", ""},
		{"data: {\"a\":1}\r\n\r\n", ""},
		{": keep-alive\ndata: {\"a\":1}\n\n", ""},
		{"data: {\"a\":1}\nid: 7\n\n", ""},
		{"id: 7\ndata: {\"a\":1}\n\n", ""},
		{"data: event: x\nevent: x\n\n", ""},
		{"event:x\ndata: 1\n\n", ""},
	} {
		rd := sse.NewReader(strings.NewReader(tc.raw), 1<<20)
		ev, err := rd.Next()
		if err != nil {
			t.Fatalf("%q: %v", tc.raw, err)
		}
		pre, ok := framing(&ev)
		if got := string(pre); ok != (tc.want != "") || got != tc.want {
			t.Errorf("framing(%q) = %q, %v; want %q", tc.raw, got, ok, tc.want)
		}
		if ok && string(pre)+string(ev.Data)+"\n\n" != tc.raw {
			t.Errorf("framing(%q): prefix + data + blank line is not the event", tc.raw)
		}
	}
}

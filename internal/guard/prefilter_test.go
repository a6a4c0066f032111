package guard

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// noPrefilter turns p's prefilter off: its checks always walk the body.
func noPrefilter(p *Policy) *Policy {
	p.inAnchors, p.outAnchors = "", ""
	return p
}

// anchoredRules have anchors whose union fits the prefilter: '@', 'z', 'Z'
// and 0xa9, the last byte of "é" in UTF-8; none is in the keys of the
// bodies the checks read.
func anchoredRules() []Rule {
	return []Rule{
		{Name: "email", Kind: "email", Action: Redact, Scope: Input | Output},
		{Name: "kw", Kind: KindKeywords, Words: []string{"jazz", "café"}, Action: Block, Scope: Output},
		{Name: "kw_in", Kind: KindKeywords, Words: []string{"pop quiz"}, Action: Flag, Scope: Input},
	}
}

func TestAnchorsOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []Rule
		in    string
		out   string
	}{
		{"email", []Rule{{Name: "e", Kind: "email", Action: Redact, Scope: Input | Output}}, "@", "@"},
		{"anchored", anchoredRules(), "@zZ", "@zZ\xa9"},
		{"digits are too many", l2Rules(), "", "@"},
		{"regex names none", []Rule{{Name: "e", Kind: "email", Action: Redact, Scope: Input | Output},
			reRule("r", `x@y`, Block, Output)}, "@", ""},
		{"secrets name none", []Rule{{Name: "s", Kind: "secrets", Action: Redact, Scope: Output}}, "", ""},
		{"size rules need the walk", []Rule{{Name: "e", Kind: "email", Action: Redact, Scope: Input | Output},
			{Name: "c", Kind: KindMaxChars, Limit: 10, Action: Block}}, "", "@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, tc.rules...)
			if p.inAnchors != tc.in || p.outAnchors != tc.out {
				t.Errorf("anchors in %q, out %q; want %q, %q", p.inAnchors, p.outAnchors, tc.in, tc.out)
			}
		})
	}
}

func TestMayHold(t *testing.T) {
	for _, tc := range []struct {
		body    string
		anchors string
		want    bool
	}{
		{`{"a":"plain text"}`, "@", false},
		{`{"a":"a@b.co"}`, "@", true},
		{`{"a@":1}`, "@", true}, // anywhere in the body: false positives are allowed
		{`{"a":"x\u0040y.co"}`, "@", true},
		{`{"a":"x\\u0040y"}`, "@", true}, // an escaped backslash: a false positive
		{`{"a":"x\u0041\n\t\"\/"}`, "@", false},
		{`{"a":"line\nbreak"}`, "\n", true},
		{`{"a":"\b\f\r\t"}`, "\t", true},
		{`{"a":"\u00e9"}`, "\xa9", true}, // decodes to C3 A9
		{`{"a":"\ud83d\ude00"}`, "\x80", true},
		{`{"a":"\ud800"}`, "\xbd", true}, // a lone surrogate: U+FFFD, EF BF BD
		{`{"a":"\u00e9"}`, "@", false},
		{`{"a":"\u12"}`, "@", false},   // an invalid escape stays as written
		{`{"a":"\uzzzz@"}`, "@", true}, // searched raw
		{`{"a":"x\`, "@", false},
		{`\`, "\\", true},
	} {
		if got := mayHold([]byte(tc.body), tc.anchors); got != tc.want {
			t.Errorf("mayHold(%s, %q) = %v, want %v", tc.body, tc.anchors, got, tc.want)
		}
	}
}

// samePrefiltered fails unless check answers alike with p (prefilter on)
// and q (off).
func samePrefiltered(t *testing.T, body []byte, p, q *Policy, check func(*Policy) ([]byte, []Verdict, error)) {
	t.Helper()
	out, v, err := check(p)
	wout, wv, werr := check(q)
	if string(out) != string(wout) || !reflect.DeepEqual(v, wv) || !reflect.DeepEqual(err, werr) {
		t.Fatalf("%s: prefiltered (%q, %v, %v), walked (%q, %v, %v)", body, out, v, err, wout, wv, werr)
	}
}

// TestPrefilterScanLimitOverlap: on this malformed body the lenient walk
// met the "AAA…" string twice (the content iterator resumed inside text
// allStrings had collected), so the walk counted more text than the body
// holds and refused it while the prefilter, trusting len(body), let it
// pass. Fields are now disjoint: both agree, and the string counts once.
func TestPrefilterScanLimitOverlap(t *testing.T) {
	body := []byte(`{"messages":[{"content":[{"x":a", "input":{"k":"} x" ,{"text":"` +
		strings.Repeat("A", 100) + `"}}x}]}]}`)
	rules := []Rule{{Name: "email", Kind: "email", Action: Redact, Scope: Input}}
	p := limitPolicy(t, len(body), rules...)
	q := noPrefilter(limitPolicy(t, len(body), rules...))
	samePrefiltered(t, body, p, q, func(p *Policy) ([]byte, []Verdict, error) {
		return p.CheckRequest(provider.FormatAnthropic, provider.OpMessages, body, nil, nil)
	})
	w := walk.Walker{B: body}
	root, _ := walk.RootObject(body)
	inputText(&w, provider.OpMessages, root)
	total := 0
	for i, f := range w.Fields {
		if i > 0 && f.Start < w.Fields[i-1].End {
			t.Errorf("field %d %v overlaps field %d %v", i, f.Span, i-1, w.Fields[i-1].Span)
		}
		total += f.End - f.Start
	}
	if total > len(body) {
		t.Errorf("fields hold %d bytes, the body %d", total, len(body))
	}
}

// FuzzPrefilter checks that the prefilter never changes an outcome: every
// check answers exactly as the walk alone does, on any body and operation.
func FuzzPrefilter(f *testing.F) {
	addBodySeeds(f)
	f.Add([]byte(`{"choices":[{"message":{"content":"my caf\u00e9 is \u004aAZ\u005a"}}]}`), uint8(0))
	f.Add([]byte(`{"messages":[{"role":"user","content":"POP QUI\u005a: x\u0040example.org"}]}`), uint8(0))
	f.Add([]byte(`{"content":[{"type":"text","text":"caf\u00e9 jazz"}]}`), uint8(4))
	f.Add([]byte(`{"messages":[{"content":[{"x":a", "input":{"k":"} x" ,{"text":"AAAAAAAAAAAAAAAAAAAA"}}x}]}]}`), uint8(4))
	// Tool descriptions and message names (issue #15), anchors escaped.
	f.Add([]byte(`{"tools":[{"type":"function","function":{"description":"pop qui\u007a"}}],"messages":[{"name":"a\u0040b","content":"x"}]}`), uint8(0))
	f.Add([]byte(`{"tools":[{"type":"function","name":"f","description":"x@example.org"}],"input":"hi"}`), uint8(3))
	f.Add([]byte(`{"tools":[{"name":"f","description":"POP QUIZ","input_schema":{}}],"messages":[]}`), uint8(4))
	// The second pair has a scan limit small enough for fuzzed bodies to
	// reach: the prefilter lets a body pass only when it cannot be over it.
	pairs := [][2]*Policy{
		{mustPolicy(f, anchoredRules()...), noPrefilter(mustPolicy(f, anchoredRules()...))},
		{limitPolicy(f, 48, anchoredRules()...), noPrefilter(limitPolicy(f, 48, anchoredRules()...))},
	}
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		o := fuzzOps[int(op)%len(fuzzOps)]
		for _, pq := range pairs {
			samePrefiltered(t, body, pq[0], pq[1], func(p *Policy) ([]byte, []Verdict, error) {
				return p.CheckRequest(provider.FormatOpenAI, o, body, nil, nil)
			})
			samePrefiltered(t, body, pq[0], pq[1], func(p *Policy) ([]byte, []Verdict, error) {
				return p.CheckResponse(provider.FormatOpenAI, o, body, nil, nil)
			})
		}
	})
}

package guard

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
)

func TestUnescape(t *testing.T) {
	tests := []string{
		`plain`, `a\nb\tc\rd\be\ff`, `\"quoted\" \\ \/`, `\u00e9\u65e5`, `\ud83d\ude00`,
		`lone \ud800 high`, `lone \udc00 low`, `\ud800\u0041`, `\u0000`, "raw é 日",
	}
	for _, raw := range tests {
		t.Run(raw, func(t *testing.T) {
			var want string
			if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
				t.Fatal(err)
			}
			if got := appendUnescaped(nil, []byte(raw)); string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	// Invalid escapes are kept as written (the body was validated before a
	// rewrite; scanning must only not fail).
	if got := appendUnescaped(nil, []byte(`\x \u12 \`)); string(got) != `\x \u12 \` {
		t.Errorf("invalid escapes: %q", got)
	}
}

func TestStrEnd(t *testing.T) {
	tests := []struct {
		s   string
		end int
		esc bool
	}{
		{`"abc"x`, 5, false},
		{`"a\"b"`, 6, true},
		{`"a\\"b"`, 5, true},
		{`"a\\\"b"`, 8, true},
		{`"` + string(make([]byte, 40)) + `\\\"x"`, 47, true},
		{`"unterminated`, -1, false},
		{`"ends in escape\"`, -1, true},
	}
	for _, tt := range tests {
		end, esc := strEnd([]byte(tt.s), 0)
		if end != tt.end || esc != tt.esc {
			t.Errorf("strEnd(%q) = %d, %v; want %d, %v", tt.s, end, esc, tt.end, tt.esc)
		}
	}
}

func TestWalkerMalformed(t *testing.T) {
	// Lenient walking of broken bodies stops without panicking or looping,
	// and finds what it can.
	bodies := []string{
		`{"messages":[{"content":"a"},{"content":`,
		`{"messages":[{"content":"a"} {"content":"b"}]}`,
		`{"messages":[:,]}`,
		`{"messages":[{"content"}]}`,
		`{"messages":{"content":"x"}}`,
		`{"messages":[{"content":[{"text":1},{"text":"ok"}]}]}`,
		`{"messages":[{"content":"\"}]}`,
		`{"messages":[{]]}`,
	}
	for _, b := range bodies {
		w := walker{b: []byte(b)}
		w.input(provider.OpChat, span{0, len(b)})
		for _, f := range w.fields {
			if !isString(w.b, f.span) {
				t.Errorf("%s: field %q is not a string", b, b[f.start:f.end])
			}
		}
	}
}

func TestAllStrings(t *testing.T) {
	b := []byte(`{"to":"a","n":[{"x":"b","k:":"c"}, "d", 1, true],"e\"":{"":"f"}}`)
	w := walker{b: b}
	w.allStrings(span{0, len(b)})
	var got []string
	for _, f := range w.fields {
		got = append(got, string(decoded(b, f.span, f.esc, new([]byte))))
	}
	if want := []string{"a", "b", "c", "d", "f"}; !reflect.DeepEqual(got, want) {
		t.Errorf("string values = %q, want %q", got, want)
	}
}

func TestKeyIs(t *testing.T) {
	b := []byte(`"content" "con\u0074ent" "con\"tent" "conten"`)
	tests := []struct {
		k    span
		want bool
	}{{span{0, 9}, true}, {span{10, 24}, true}, {span{25, 36}, false}, {span{37, 45}, false}}
	w := walker{b: b}
	for _, tt := range tests {
		if got := keyIs(b, tt.k, "content"); got != tt.want {
			t.Errorf("keyIs(%s) = %v", b[tt.k.start:tt.k.end], got)
		}
		if got := string(w.name(tt.k)) == "content"; got != tt.want {
			t.Errorf("name(%s) = %q", b[tt.k.start:tt.k.end], w.name(tt.k))
		}
	}
}

// FuzzKeyName: walker.name agrees with keyIs on every key and name the
// walker looks for.
func FuzzKeyName(f *testing.F) {
	f.Add(`content`)
	f.Add(`name`)
	f.Add(`tools"`)
	names := []string{"messages", "tools", "functions", "instructions", "input", "system", "description",
		"function", "custom", "name", "content", "refusal", "tool_calls", "function_call", "output",
		"arguments", "text", "source"}
	f.Fuzz(func(t *testing.T, raw string) {
		b := []byte(`"` + raw + `"`)
		if e, _ := strEnd(b, 0); e != len(b) {
			return
		}
		w := walker{b: b}
		k := span{0, len(b)}
		for _, n := range names {
			if got, want := string(w.name(k)) == n, keyIs(b, k, n); got != want {
				t.Fatalf("name(%s) == %q is %v, keyIs says %v", b, n, got, want)
			}
		}
	})
}

func TestNextStructuralMatchesReference(t *testing.T) {
	ref := func(b []byte, j int) int {
		for ; j < len(b); j++ {
			switch b[j] {
			case '"', '{', '}', '[', ']':
				return j
			}
		}
		return j
	}
	rng := rand.New(rand.NewPCG(3, 5))
	alphabet := []byte("ab;{}[]\"\\ :,{|}~[\\]^_`z\x00\xff\x7b\x5b\xdb\xfb\x7d\x5d")
	for n := 0; n < 5000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte(rng.IntN(256))
			}
		}
		j := 0
		if len(b) > 0 {
			j = rng.IntN(len(b) + 1)
		}
		if got, want := nextStructural(b, j), ref(b, j); got != want {
			t.Fatalf("nextStructural(%q, %d) = %d, want %d", b, j, got, want)
		}
	}
}

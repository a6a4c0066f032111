package walk

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"unicode/utf8"
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
			if got := AppendUnescaped(nil, []byte(raw)); string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	// Invalid escapes are kept as written (the body was validated before a
	// rewrite; scanning must only not fail).
	if got := AppendUnescaped(nil, []byte(`\x \u12 \`)); string(got) != `\x \u12 \` {
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
		end, esc := StrEnd([]byte(tt.s), 0)
		if end != tt.end || esc != tt.esc {
			t.Errorf("StrEnd(%q) = %d, %v; want %d, %v", tt.s, end, esc, tt.end, tt.esc)
		}
	}
}

func TestAllStrings(t *testing.T) {
	b := []byte(`{"to":"a","n":[{"x":"b","k:":"c"}, "d", 1, true],"e\"":{"":"f"}}`)
	w := Walker{B: b}
	w.AllStrings(Span{0, len(b)})
	var got []string
	for _, f := range w.Fields {
		got = append(got, string(Decoded(b, f.Span, f.Esc, new([]byte))))
	}
	if want := []string{"a", "b", "c", "d", "f"}; !reflect.DeepEqual(got, want) {
		t.Errorf("string values = %q, want %q", got, want)
	}
}

func TestKeyIs(t *testing.T) {
	b := []byte(`"content" "con\u0074ent" "con\"tent" "conten"`)
	tests := []struct {
		k    Span
		want bool
	}{{Span{0, 9}, true}, {Span{10, 24}, true}, {Span{25, 36}, false}, {Span{37, 45}, false}}
	w := Walker{B: b}
	for _, tt := range tests {
		if got := KeyIs(b, tt.k, "content"); got != tt.want {
			t.Errorf("KeyIs(%s) = %v", b[tt.k.Start:tt.k.End], got)
		}
		if got := string(w.Name(tt.k)) == "content"; got != tt.want {
			t.Errorf("name(%s) = %q", b[tt.k.Start:tt.k.End], w.Name(tt.k))
		}
	}
}

// FuzzKeyName: Walker.Name agrees with KeyIs on every key and name the
// walkers look for.
func FuzzKeyName(f *testing.F) {
	f.Add(`content`)
	f.Add(`name`)
	f.Add(`tools"`)
	names := []string{"messages", "tools", "functions", "instructions", "input", "system", "description",
		"function", "custom", "name", "content", "refusal", "tool_calls", "function_call", "output",
		"arguments", "text", "source"}
	f.Fuzz(func(t *testing.T, raw string) {
		b := []byte(`"` + raw + `"`)
		if e, _ := StrEnd(b, 0); e != len(b) {
			return
		}
		w := Walker{B: b}
		k := Span{0, len(b)}
		for _, n := range names {
			if got, want := string(w.Name(k)) == n, KeyIs(b, k, n); got != want {
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

// refStrEnd is StrEnd written the plain way: a byte at a time.
func refStrEnd(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, esc
		case '\\':
			esc = true
			j++
		}
	}
	return -1, esc
}

// TestStrEndMatchesReference checks the word-at-a-time scan against the
// byte loop on strings dense in quotes and backslashes, of every length
// around the 8-byte words and the 32-byte switch to IndexByte.
func TestStrEndMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := []byte(`ab"\\`)
	for range 20000 {
		n := rng.IntN(100)
		b := make([]byte, n+1)
		b[0] = '"'
		for i := 1; i <= n; i++ {
			b[i] = 'x'
			if rng.IntN(8) == 0 {
				b[i] = alpha[rng.IntN(len(alpha))]
			}
		}
		end, esc := StrEnd(b, 0)
		wantEnd, wantEsc := refStrEnd(b, 0)
		if end != wantEnd || (end >= 0 && esc != wantEsc) {
			t.Fatalf("StrEnd(%q) = %d, %v; want %d, %v", b, end, esc, wantEnd, wantEsc)
		}
	}
}

func FuzzUnescape(f *testing.F) {
	f.Add(`a\n\"b\u00e9\ud83d\ude00\ud800x\/`)
	f.Add(`\u12`)
	f.Fuzz(func(t *testing.T, raw string) {
		lit := []byte(`"` + raw + `"`)
		end, _ := StrEnd(lit, 0)
		if end != len(lit) {
			return // the raw text closes the string early or escapes the quote
		}
		got := AppendUnescaped(nil, lit[1:len(lit)-1])
		var want string
		if json.Unmarshal(lit, &want) != nil {
			return
		}
		if utf8.ValidString(raw) && string(got) != want {
			t.Fatalf("%q decodes to %q, encoding/json says %q", raw, got, want)
		}
	})
}

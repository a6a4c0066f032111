package guard

import (
	"encoding/json"
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
	for _, tt := range tests {
		if got := keyIs(b, tt.k, "content"); got != tt.want {
			t.Errorf("keyIs(%s) = %v", b[tt.k.start:tt.k.end], got)
		}
	}
}

package guard

import (
	"math/rand/v2"
	"reflect"
	"regexp/syntax"
	"testing"
)

func TestRegexLengths(t *testing.T) {
	tests := []struct {
		pattern string
		lo, hi  int
	}{
		{`abc`, 3, 3},
		{`é`, 2, 2},
		{`(?i)k`, 1, 3}, // folds to U+212A KELVIN SIGN
		{`[a-z]{2,5}`, 2, 5},
		{`\d{3}-\d{2}-\d{4}`, 11, 11},
		{`a+`, 1, unbounded},
		{`x.*y`, 2, unbounded},
		{`(?:ab|c)?d`, 1, 3},
		{`\bfoo\b`, 3, 3},
		{`[\x{100}-\x{10FFFF}]`, 2, 4},
		{`.`, 1, 4},
		{`a*`, 0, unbounded},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			re, err := syntax.Parse(tt.pattern, syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := lengths(re.Simplify())
			if lo != tt.lo || hi != tt.hi {
				t.Errorf("lengths = %d, %d; want %d, %d", lo, hi, tt.lo, tt.hi)
			}
		})
	}
}

func TestRegexMaxLen(t *testing.T) {
	tests := []struct {
		pattern  string
		declared int
		want     int
		resume   bool
	}{
		{`sk-[a-z]{8}`, 0, 11, false},
		{`sk-[a-z]+`, 0, DefaultRegexMaxLen, false},
		{`sk-[a-z]+`, 40, 40, false},
		{`sk-[a-z]{8}`, 5, 5, false},
		{`(?m)^secret`, 0, 6, true},
		{`\bx\b`, 0, 1, true},
	}
	for _, tt := range tests {
		r, err := compileRegex(tt.pattern, tt.declared)
		if err != nil {
			t.Fatal(err)
		}
		if r.maxLen != tt.want || (r.resume != nil) != tt.resume {
			t.Errorf("%s (max_len %d): maxLen %d resume %v; want %d %v", tt.pattern, tt.declared, r.maxLen, r.resume != nil, tt.want, tt.resume)
		}
	}
}

// TestRegexResume checks that resuming a search mid-text, with only the
// byte before the resume point as context, finds what one search over the
// whole text finds after that point.
func TestRegexResume(t *testing.T) {
	patterns := []string{`\w{3}`, `\bab\b`, `(?m)^a+b`, `\Bb+`, `^ab`, `a.b`, `(?i)AB|b\b`, `\d{3}-\d{2}`, `[é]b`, `b$`,
		`\b(?:ab)?`, `\bb*?`, `a|\b`, `é?b`}
	alphabet := []string{"a", "b", " ", "\n", "é", "1", "-", "_"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pat := range patterns {
		r, err := compileRegex(pat, 0)
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			var text []byte
			for range rng.IntN(30) {
				text = append(text, alphabet[rng.IntN(len(alphabet))]...)
			}
			all := r.find(nil, 0, text, 0, 0, len(text)+1)
			// Resume after each match end and at each point no match spans.
			for cursor := 1; cursor <= len(text); cursor++ {
				var want []hit
				ok := true
				for _, h := range all {
					if h.start < cursor && h.end > cursor {
						ok = false // cursor inside a match: not a resume point
					}
					if h.start >= cursor {
						want = append(want, h)
					}
				}
				if !ok || (len(text) > cursor && text[cursor]&0xC0 == 0x80) {
					continue
				}
				// The text before cursor-1 is dropped, as a stream does.
				got := r.find(nil, 0, text[cursor-1:], cursor-1, cursor, len(text)+1)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s on %q from %d: got %v, want %v", pat, text, cursor, got, want)
				}
			}
		}
	}
}

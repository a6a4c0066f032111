package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveKeywords is the reference semantics: at each start the longest
// keyword (ASCII case folded; whole-word if asked); one that starts inside
// an earlier candidate is cut to its part past every earlier one.
func naiveKeywords(words []string, whole bool, text []byte) []Match {
	var r resolver
	var out []Match
	for s := range text {
		best := 0
		for _, w := range words {
			e := s + len(w)
			if e > len(text) || !equalFold(text[s:e], w) {
				continue
			}
			if whole && (isWord(at(text, s-1)) || isWord(at(text, e))) {
				continue
			}
			best = max(best, len(w))
		}
		if best > 0 {
			out = r.addTail(out, s, s+best)
		}
	}
	return out
}

func equalFold(b []byte, w string) bool {
	for i := range b {
		if lower(b[i]) != lower(w[i]) {
			return false
		}
	}
	return true
}

func TestKeywords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		words []string
		whole bool
		in    string
		want  []string
	}{
		{"case folding", []string{"Secret", "bomb"}, false, "SECRET and bOmB", []string{"SECRET", "bOmB"}},
		{"non-ASCII exact", []string{"café"}, false, "CAFÉ café CAFé", []string{"café", "CAFé"}},
		{"substring", []string{"cat"}, false, "concatenate", []string{"cat"}},
		{"whole word miss", []string{"cat"}, true, "concatenate cat_ _cat cats", nil},
		{"whole word hit", []string{"cat"}, true, "cat. (cat) cat", []string{"cat", "cat", "cat"}},
		{"overlap", []string{"foo bar", "bar baz"}, false, "foo bar baz", []string{"foo bar", " baz"}},
		{"leftmost longest", []string{"ab", "abc", "bcd"}, false, "abcd", []string{"abc", "d"}},
		{"chain", []string{"x y", "y z", "z w"}, false, "x y z w", []string{"x y", " z", " w"}},
		{"periodic", []string{"haha"}, false, "hahahaha", []string{"haha", "ha", "ha"}},
		{"whole shorter", []string{"foo", "foo b"}, true, "foo bar", []string{"foo"}},
		{"adjacent", []string{"ab"}, false, "ababab", []string{"ab", "ab", "ab"}},
		{"suffix words", []string{"he", "she", "hers", "his"}, false, "ushers", []string{"she", "rs"}},
		{"invalid utf-8", []string{"\xff\xfe"}, false, "a\xff\xfeb", []string{"\xff\xfe"}},
		{"punctuation keyword whole", []string{"c++"}, true, "use c++ now, c++11", []string{"c++"}},
	} {
		for _, dense := range []bool{true, false} {
			name := tc.name + "/sparse"
			if dense {
				name = tc.name + "/dense"
			}
			t.Run(name, func(t *testing.T) {
				k := keywordsFor(t, tc.words, tc.whole, dense)
				got := found(k, tc.in)
				if !slices.Equal(got, tc.want) {
					t.Errorf("Find(%q) = %q, want %q", tc.in, got, tc.want)
				}
			})
		}
	}
}

func keywordsFor(t testing.TB, words []string, whole, dense bool) *keywords {
	t.Helper()
	cells := denseLimit
	if !dense {
		cells = 0
	}
	if _, err := NewKeywords(words, KeywordOptions{WholeWords: whole}); err != nil {
		t.Fatal(err)
	}
	k := newAutomaton(words, KeywordOptions{WholeWords: whole}, cells)
	if dense != (k.delta != nil) {
		t.Fatalf("dense = %v, want %v", k.delta != nil, dense)
	}
	return k
}

// TestKeywordsMatchNaive compares both automaton forms with the reference
// on random word sets over a small alphabet, where overlaps abound.
func TestKeywordsMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abAB _-\xc3\xa9"
	randStr := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for iter := range 500 {
		var words []string
		for range 1 + rng.IntN(8) {
			w := randStr(1 + rng.IntN(5))
			if strings.TrimSpace(w) == "" {
				w = "a" + w
			}
			words = append(words, w)
		}
		text := []byte(randStr(rng.IntN(200)))
		for _, whole := range []bool{false, true} {
			want := naiveKeywords(words, whole, text)
			for _, dense := range []bool{true, false} {
				k := keywordsFor(t, words, whole, dense)
				got := k.Find(text, nil)
				if !slices.Equal(got, want) {
					t.Fatalf("iter %d words %q whole %v dense %v text %q:\n got %v\nwant %v", iter, words, whole, dense, text, got, want)
				}
			}
		}
	}
}

func TestKeywordsLongWords(t *testing.T) {
	w := strings.Repeat("ab", MaxKeywordLen/2)
	k, err := NewKeywords([]string{w, "b"}, KeywordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	text := "x" + strings.ToUpper(w) + " " + strings.ToUpper(w) + "b"
	got := found(k, text)
	want := []string{strings.ToUpper(w), strings.ToUpper(w), "b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %d matches %q, want %d", len(got), got, len(want))
	}
}

package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// before keeps the matches that start before p.
func before(ms []Match, p int) []Match {
	var out []Match
	for _, m := range ms {
		if m.Start < p {
			out = append(out, m)
		}
	}
	return out
}

// checkPending checks Pending's contract for text and one continuation:
// the bounds, and that the matches starting before Pending(text) are the
// same with or without the suffix.
func checkPending(f Finder, text, suffix []byte) error {
	p := f.Pending(text)
	if p < max(0, len(text)-f.MaxLen()) || p > len(text) {
		return fmt.Errorf("Pending = %d out of [%d, %d]", p, max(0, len(text)-f.MaxLen()), len(text))
	}
	alone := before(f.Find(text, nil), p)
	longer := before(f.Find(append(slices.Clip(text), suffix...), nil), p)
	if !slices.Equal(alone, longer) {
		return fmt.Errorf("Pending = %d of %d: before it, Find(text) = %v but Find(text+suffix) = %v", p, len(text), alone, longer)
	}
	return nil
}

// checkQuiet checks the quiet-window property: when Find(text[a:b]) is
// empty, Find(text[:b]+suffix) has no match in [a+LeftContext(),
// a+Pending(text[a:b])) ([0, Pending) when a is 0).
func checkQuiet(f Finder, text []byte, a, b int, suffix []byte) error {
	w := text[a:b]
	if len(f.Find(w, nil)) > 0 {
		return nil
	}
	lo, hi := a+f.LeftContext(), a+f.Pending(w)
	if a == 0 {
		lo = 0
	}
	for _, m := range f.Find(append(slices.Clip(text[:b]), suffix...), nil) {
		if m.Start >= lo && m.Start < hi {
			return fmt.Errorf("window [%d,%d) is clean with Pending %d, but the text has %v", a, b, hi-a, m)
		}
	}
	return nil
}

// continuations returns suffixes for text[:cut] of a random text: its own
// continuation, random text, seeds and their tails, and a few single bytes.
func continuations(rng *rand.Rand, text []byte, cut int, seeds []string) [][]byte {
	out := [][]byte{text[cut:], randomText(rng, 1+rng.IntN(80), seeds), nil}
	s := seeds[rng.IntN(len(seeds))]
	out = append(out, []byte(s), []byte(s[rng.IntN(len(s)):]+" "), []byte(s[rng.IntN(len(s)):]))
	for _, c := range []string{" ", "a", "1", ".", "-", "@", ":", "=", "_", "\n"} {
		out = append(out, []byte(c))
	}
	return out
}

// TestPendingSound is the property streams rely on: for random texts
// (seeded values, their fragments and noise) cut anywhere and continued in
// many ways, the matches before Pending never change.
func TestPendingSound(t *testing.T) {
	seeds := append(seedValues(), pendingSeeds()...)
	for name, f := range localityFinders(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(len(name))))
			iters := 400
			if f.MaxLen() > 1000 {
				iters = 100
			}
			for range iters {
				text := randomText(rng, 20+rng.IntN(200), seeds)
				for range 8 {
					cut := rng.IntN(len(text) + 1)
					for _, suf := range continuations(rng, text, cut, seeds) {
						if err := checkPending(f, text[:cut], suf); err != nil {
							t.Fatalf("%v\ntext %q\nsuffix %q", err, text[:cut], suf)
						}
					}
				}
			}
		})
	}
}

// TestPendingEveryCut checks every cut of texts holding each seed, so
// that every prefix of every value is seen at the end of a text.
func TestPendingEveryCut(t *testing.T) {
	fs := localityFinders(t)
	seeds := append(seedValues(), pendingSeeds()...)
	for _, s := range seeds {
		for _, text := range []string{"x " + s + " y", "(" + s + ").", s + s, "a:" + s + "\n"} {
			b := []byte(text)
			for name, f := range fs {
				for cut := 0; cut <= len(b); cut++ {
					if err := checkPending(f, b[:cut], b[cut:]); err != nil {
						t.Fatalf("%s: %v\ntext %q\nsuffix %q", name, err, b[:cut], b[cut:])
					}
				}
			}
		}
	}
}

// TestQuietWindow checks the quiet-window property on random windows.
func TestQuietWindow(t *testing.T) {
	seeds := append(seedValues(), pendingSeeds()...)
	for name, f := range localityFinders(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, uint64(len(name))))
			for range 600 {
				text := randomText(rng, 20+rng.IntN(300), seeds)
				for range 8 {
					b := rng.IntN(len(text) + 1)
					a := max(0, b-rng.IntN(f.LeftContext()+60))
					if rng.IntN(4) == 0 {
						a = 0
					}
					for _, suf := range continuations(rng, text, b, seeds) {
						if err := checkQuiet(f, text, a, b, suf); err != nil {
							t.Fatalf("%v\ntext %q\nsuffix %q", err, text[:b], suf)
						}
					}
				}
			}
		})
	}
}

// pendingSeeds are values whose prefixes exercise every open case: long
// tokens, unterminated blocks, assignments, grouped numbers.
func pendingSeeds() []string {
	c19 := luhnComplete("400000000000000000")
	return []string{
		c19[:4] + " " + c19[4:8] + " " + c19[8:12] + " " + c19[12:16] + " " + c19[16:],
		"-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----",
		"-----BEGIN PRIVATE KEY-----\nQUJD", "-----BEGIN EC PRIVATE KEY----- x -----END", "-----ENDX",
		"password=\"s3cr3t value\"", "api_key: 'abcdef'", "secret: practice.", "DB_PASSWORD = hunter2;",
		"client_secret => 'x", "passwd:=abc", "token_secret==x", "pwd: `a\nb`",
		"ghp_" + strings.Repeat("a1", 20), "github_pat_" + strings.Repeat("B2_", 9), "AKIA" + strings.Repeat("Z9", 8),
		"sk-ant-" + strings.Repeat("x7", 15), "eyJhbGciOiJI.eyJzdWIi.sig-_x", "eyJ.a.b",
		"5555 5555 5555 4444 123", "3782-822463-10005", "6011 1111 1111 1117", "2221000000000009", "2204 1234",
		"+1 (555) 123-4567", "1-555-123-4567", "+44 20 7946 0958 12", "(800)555-0199",
		"DE89370400440532013000", "de89 3704 0044 0532 0130 00", "NO93 8601 1117 947",
		"fe80::1%eth0", "2001:db8:0:0:0:0:2:1", "255.255.255.255.1", "::ffff:1.2.3.4",
		"a.b-c@sub-domain.example.com.", "x@y.co.uk..", "ann@x.io@", "test.user+tag@mail.example",
		"secret bomb", "hahaha", "Project Nightingale", "4111", "1 1 1",
	}
}

// FuzzPending checks Pending's contract and the quiet-window property of
// every finder on arbitrary texts, cuts and continuations.
func FuzzPending(f *testing.F) {
	for _, s := range append(seedValues(), pendingSeeds()...) {
		f.Add("x "+s+" y", uint16(len(s)/2+2), "z", uint8(8))
	}
	fs := localityFinders(f)
	f.Fuzz(func(t *testing.T, text string, cut uint16, suffix string, back uint8) {
		b := []byte(text)
		c := min(int(cut), len(b))
		a := max(0, c-int(back))
		for name, fd := range fs {
			for _, suf := range [][]byte{b[c:], []byte(suffix)} {
				if err := checkPending(fd, b[:c], suf); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := checkQuiet(fd, b, a, c, suf); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
	})
}

// TestPendingCases pins what each detector holds back at the end of
// typical texts: nothing after a finished word, the trailing partial word
// where it could start a value, the whole undecided value otherwise.
func TestPendingCases(t *testing.T) {
	kw, err := NewKeywords([]string{"top secret", "secret plan", "bomb"}, KeywordOptions{WholeWords: true})
	if err != nil {
		t.Fatal(err)
	}
	kwAny, err := NewKeywords([]string{"bomb", "bombast"}, KeywordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		finder string
		f      Finder
		text   string
		held   string // the tail held back
	}{
		{"email", nil, "Thanks, and how are you", "you"},
		{"email", nil, "Thanks, and how are you?", ""},
		{"email", nil, "write to ann.lee", "ann.lee"},
		{"email", nil, "write to ann.lee@exam", "ann.lee@exam"},
		{"email", nil, "write to ann.lee@example.com", "ann.lee@example.com"},
		{"email", nil, "write to ann.lee@example.com.", "ann.lee@example.com."},
		{"email", nil, "write to ann.lee@example.com. Then", "Then"},
		{"email", nil, "write to ann.lee@example.com, then ", ""},
		{"email", nil, "a .lead", ""},
		{"email", nil, "a..b", ""},
		{"ssn", nil, "my ssn is 123-45", "123-45"},
		{"ssn", nil, "my ssn is 123-45-6789", "123-45-6789"},
		{"ssn", nil, "my ssn is 123-45-6789.", ""},
		{"ssn", nil, "in 1999", ""},
		{"ssn", nil, "area 666-1", ""},
		{"ssn", nil, "up 12%", ""},
		{"credit_card", nil, "card 4111 1111", "4111 1111"},
		{"credit_card", nil, "card 4111 1111 1111 1111", "4111 1111 1111 1111"},
		{"credit_card", nil, "card 4111 1111 1111 1111 ", "4111 1111 1111 1111 "},
		{"credit_card", nil, "card 4111 1111 1111 1111 x", ""},
		{"credit_card", nil, "in 2024", ""},
		{"credit_card", nil, "in 2023, 1. and 7", ""},
		{"credit_card", nil, "costs 3", "3"},
		{"phone", nil, "call +44 20", "+44 20"},
		{"phone", nil, "call (555) 123-", "(555) 123-"},
		{"phone", nil, "in 2024", ""},
		{"phone", nil, "item 12", ""}, // an area code never starts with 1
		{"phone", nil, "item 5", "5"},
		{"phone", nil, "see above.", ""},
		{"iban", nil, "pay to DE89 3704", "DE89 3704"},
		{"iban", nil, "how are you", ""},
		{"iban", nil, "and it", "it"},
		{"iban", nil, "XX12", ""},
		{"ip", nil, "host 10.0.0", "10.0.0"},
		{"ip", nil, "host 10.0.0.1", "10.0.0.1"},
		{"ip", nil, "host 10.0.0.1:", ""}, // a port may follow; the address is decided
		{"ip", nil, "host 10.0.0.1 up", ""},
		{"ip", nil, "how are you", ""},
		{"ip", nil, "we feed", "feed"},
		{"ip", nil, "at fe80:", "fe80:"},
		{"secrets", nil, "how are you", ""},
		{"secrets", nil, "the key is sk", "sk"},
		{"secrets", nil, "the key is sk-proj-abc", "sk-proj-abc"},
		{"secrets", nil, "the key is sk-proj-abc1234567890123456789 and", ""},
		{"secrets", nil, "id AKIAIOSF", "AKIAIOSF"},
		{"secrets", nil, "Also", ""},
		{"secrets", nil, "A", "A"},
		{"secrets", nil, "token ghp_abc", "ghp_abc"},
		{"secrets", nil, "github_p", "github_p"},
		{"secrets", nil, "jwt eyJhbGciOiJIUzI1NiJ9.eyJz", "eyJhbGciOiJIUzI1NiJ9.eyJz"},
		{"secrets", nil, "jwt eyJhbG.x", ""},
		{"secrets", nil, "a ---", "---"},
		{"secrets", nil, "-----BEGIN RSA PRIVATE KEY-----\nMIIB", "-----BEGIN RSA PRIVATE KEY-----\nMIIB"},
		{"secrets", nil, "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\nok", ""},
		{"secrets", nil, "-----BEGIN CERTIFICATE-----\nMIIB", ""},
		{"secrets", nil, "set password", ""},
		{"secrets", nil, "set password=", ""},
		{"secrets", nil, "set password=hun", "hun"},
		{"secrets", nil, "set password=hunter2 now", ""},
		{"secrets", nil, `"api_key": "abc def`, "abc def"},
		{"secrets", nil, `"api_key": "abc def"`, ""},
		{"keywords", kw, "the top secret", "top secret"}, // its right boundary is still to come
		{"keywords", kw, "the top", "top"},
		{"keywords", kw, "a bomb", "bomb"},
		{"keywords", kw, "a bomb.", ""},
		{"keywords", kw, "how are you", ""},
		{"keywords_any", kwAny, "a bomb", "bomb"},
		{"keywords_any", kwAny, "a bombast", ""},
		{"keywords_any", kwAny, "a bo", "bo"},
	}
	for _, tc := range cases {
		f := tc.f
		if f == nil {
			f = mustBuiltin(t, tc.finder)
		}
		t.Run(tc.finder+"/"+tc.text, func(t *testing.T) {
			p := f.Pending([]byte(tc.text))
			if got := tc.text[p:]; got != tc.held {
				t.Errorf("Pending(%q) holds %q, want %q", tc.text, got, tc.held)
			}
		})
	}
}

// TestQuietWindowChains checks the quiet-window property and Pending at
// every cut of texts whose candidates overlap in chains (keywords report
// the uncovered tail of an occurrence, so a match may start well inside
// one), for windows starting at every distance up to LeftContext+40 back.
func TestQuietWindowChains(t *testing.T) {
	texts := map[string]string{
		"credit_card":    strings.Repeat("4002 ", 20) + "5555 5555 5555 4444 12",
		"phone":          strings.Repeat("1 555 123 4567 ", 4) + "+1 555 123 4567 890",
		"iban":           strings.Repeat("DE89 3704 0044 0532 0130 00 ", 3),
		"email":          strings.Repeat("a@b.com+", 10) + strings.Repeat("a.b@c.de.", 6),
		"ip":             strings.Repeat("1:2:3:4:5:6:7:8:", 5) + strings.Repeat("1.2.3.4.", 5),
		"ssn":            strings.Repeat("123-45-6789-", 8),
		"keywords":       strings.Repeat("haha", 20) + strings.Repeat("secret bomb ", 4) + "bbb4111@",
		"keywords_whole": strings.Repeat("haha ", 10) + "secret bomb secret 1 1 1",
		"secrets":        strings.Repeat("password=password=", 6) + "ghp_" + strings.Repeat("x", 40) + " sk-a1b2c3d4e5f6g7h8i9j0k",
	}
	fs := localityFinders(t)
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			f, b := fs[name], []byte(text)
			for cut := 0; cut <= len(b); cut++ {
				if err := checkPending(f, b[:cut], b[cut:]); err != nil {
					t.Fatalf("%v\ntext %q", err, b[:cut])
				}
				for back := 0; back <= min(cut, f.LeftContext()+40); back++ {
					if err := checkQuiet(f, b, cut-back, cut, b[cut:]); err != nil {
						t.Fatalf("%v\ntext %q", err, b[:cut])
					}
				}
			}
		})
	}
}

// TestIBANFirstLetters: ibanFirstLetters holds exactly the letters some
// country code of ibanLength starts with.
func TestIBANFirstLetters(t *testing.T) {
	var want []byte
	for c1 := byte('A'); c1 <= 'Z'; c1++ {
		for c2 := byte('A'); c2 <= 'Z'; c2++ {
			if ibanLength(c1, c2) > 0 {
				want = append(want, c1)
				break
			}
		}
	}
	if string(want) != ibanFirstLetters {
		t.Errorf("ibanFirstLetters = %q, want %q", ibanFirstLetters, want)
	}
}

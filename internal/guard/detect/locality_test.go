package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// seedValues are valid values of every detector and near misses, mixed
// into random texts.
func seedValues() []string {
	visa := "4111111111111111"
	return []string{
		visa, "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "3782 822463 10005",
		luhnComplete("400000000000000000"), "4111 1111 1111 1111 4111 1111 1111 1111",
		"123-45-6789", "123 45 6789", "078-05-1120", "666-12-3456",
		"DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "NO9386011117947",
		"john@example.com", "a.b+c@mail.example.co.uk", "x@y.zz", "@", "a@b.c",
		"192.168.1.1", "10.0.0.1:8080", "::1", "fe80::1", "2001:db8::ff00:42:8329", "::ffff:10.0.0.1",
		"1:2:3:4:5:6:7:8", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		"(555) 123-4567", "555-123-4567", "+1 555 123 4567", "+44 (0)20 7946 0958", "1 555 123 4567",
		"+1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7",
		fakeOpenAI, fakeProject, fakeAWS, fakeGHP, fakeGHPat, fakeJWT, fakePEM,
		"-----BEGIN PRIVATE KEY-----\nQUJD\n", "-----END RSA PRIVATE KEY-----",
		"password=hunter2", `"api_key": "abc"`, "secret: x", "token=",
		"secret", "bomb", "haha", "Secret Bomb",
	}
}

const noiseBytes = "0123456789012345678901234567890123456789      ---...:::@@++()abcdefABCDEFsk_=\"'\n/\xc3\xa9\xffPyJ"

func randomText(rng *rand.Rand, n int, seeds []string) []byte {
	var b []byte
	for len(b) < n {
		switch r := rng.IntN(10); {
		case r < 3:
			b = append(b, seeds[rng.IntN(len(seeds))]...)
		case r < 4:
			s := seeds[rng.IntN(len(seeds))]
			i, j := rng.IntN(len(s)+1), rng.IntN(len(s)+1)
			b = append(b, s[min(i, j):max(i, j)]...)
		default:
			for range 1 + rng.IntN(6) {
				b = append(b, noiseBytes[rng.IntN(len(noiseBytes))])
			}
		}
	}
	return b
}

// inner keeps the matches within [lo, hi], shifted by -off.
func inner(ms []Match, lo, hi, off int) []Match {
	var out []Match
	for _, m := range ms {
		if m.Start >= lo && m.End <= hi {
			out = append(out, Match{m.Start - off, m.End - off})
		}
	}
	return out
}

// checkWindow compares Find on text and on text[a:b] away from the
// window's edges.
func checkWindow(f Finder, text []byte, a, b int) error {
	m := f.MaxLen()
	lo, hi := a+m, b-m
	if lo > hi {
		return nil
	}
	whole := inner(f.Find(text, nil), lo, hi, 0)
	win := f.Find(text[a:b], nil)
	for i := range win {
		win[i].Start += a
		win[i].End += a
	}
	part := inner(win, lo, hi, 0)
	if !slices.Equal(whole, part) {
		return fmt.Errorf("window [%d,%d): whole text gives %v, window gives %v", a, b, whole, part)
	}
	return nil
}

func localityFinders(t testing.TB) map[string]Finder {
	fs := map[string]Finder{}
	for _, name := range BuiltinNames() {
		fs[name] = mustBuiltin(t, name)
	}
	kw, err := NewKeywords([]string{"secret", "bomb", "haha", "secret bomb", "b", "4111", "@"}, KeywordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs["keywords"] = kw
	kww, err := NewKeywords([]string{"secret", "bomb", "haha", "secret bomb", "1 1"}, KeywordOptions{WholeWords: true})
	if err != nil {
		t.Fatal(err)
	}
	fs["keywords_whole"] = kww
	return fs
}

// TestLocality checks the window property that the streaming scanner
// relies on: for a window [a,b) of a text, the matches of Find(text[a:b])
// within [a+MaxLen, b-MaxLen] are those of Find(text) there.
func TestLocality(t *testing.T) {
	seeds := seedValues()
	for name, f := range localityFinders(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(name))))
			iters, size := 300, 6*f.MaxLen()
			if f.MaxLen() > 1000 {
				iters = 20
			}
			for range iters {
				text := randomText(rng, size+rng.IntN(size), seeds)
				for range 10 {
					a := rng.IntN(len(text))
					b := a + rng.IntN(len(text)-a+1)
					if err := checkWindow(f, text, a, b); err != nil {
						t.Fatalf("%v\ntext %q", err, text)
					}
				}
			}
		})
	}
}

// TestLocalityChains checks windows over texts built to make candidates
// overlap in long chains: grouped digits, repeated keys, periodic words.
func TestLocalityChains(t *testing.T) {
	texts := map[string]string{
		// 4002400240024002 passes Luhn, so every group starts a valid card.
		"credit_card": strings.Repeat("4002 ", 200) + strings.Repeat("5555 5555 5555 4444 ", 50),
		"phone":       strings.Repeat("1 555 123 4567 ", 100) + strings.Repeat("+1 555 123 4567 890 ", 50),
		"iban":        strings.Repeat("DE89 3704 0044 0532 0130 00 ", 50),
		"email":       strings.Repeat("a@b.com+", 200) + strings.Repeat("a.b@c.de.", 100),
		"ip":          strings.Repeat("1:2:3:4:5:6:7:8:", 100) + strings.Repeat("1.2.3.4.", 100),
		"ssn":         strings.Repeat("123-45-6789-", 100),
		"keywords":    strings.Repeat("haha", 300) + strings.Repeat("secret bomb ", 50),
		"secrets":     strings.Repeat("password=password=", 1000) + strings.Repeat("x", 1000),
	}
	fs := localityFinders(t)
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			f := fs[name]
			b := []byte(text)
			for a := 0; a < 64; a++ {
				for _, end := range []int{len(b), len(b) - 1, len(b) - 7, len(b) / 2} {
					if err := checkWindow(f, b, a, end); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

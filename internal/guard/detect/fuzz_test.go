package detect

import (
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fuzzFinder runs a builtin on the input and checks the Find contract and,
// with valid, each match.
func fuzzFinder(f *testing.F, name string, valid func(m string) error) {
	for _, s := range seedValues() {
		f.Add("x " + s + " y")
	}
	fd := mustBuiltin(f, name)
	f.Fuzz(func(t *testing.T, text string) {
		b := []byte(text)
		dst := make([]Match, 0, 4)
		ms := fd.Find(b, dst)
		if err := checkInvariants(fd, b, ms); err != nil {
			t.Fatal(err)
		}
		again := fd.Find(b, nil)
		if !slices.Equal(ms, again) {
			t.Fatalf("Find not deterministic: %v then %v", ms, again)
		}
		for _, m := range ms {
			if err := valid(text[m.Start:m.End]); err != nil {
				t.Fatalf("match %q: %v", text[m.Start:m.End], err)
			}
		}
	})
}

var ssnShape = regexp.MustCompile(`^(\d{3})([- ])(\d{2})([- ])(\d{4})$`)

func FuzzSSN(f *testing.F) {
	fuzzFinder(f, "ssn", func(m string) error {
		g := ssnShape.FindStringSubmatch(m)
		if g == nil || g[2] != g[4] {
			return fmt.Errorf("not AAA-GG-SSSS")
		}
		if g[1] == "000" || g[1] == "666" || g[1][0] == '9' || g[3] == "00" || g[5] == "0000" {
			return fmt.Errorf("invalid range")
		}
		return nil
	})
}

func FuzzCreditCard(f *testing.F) {
	fuzzFinder(f, "credit_card", func(m string) error {
		var digits, seps []byte
		for _, c := range []byte(m) {
			if isDigit(c) {
				digits = append(digits, c)
			} else {
				seps = append(seps, c)
			}
		}
		if len(digits) < 13 || len(digits) > 19 || !luhnRef(string(digits)) {
			return fmt.Errorf("%d digits, Luhn %v", len(digits), luhnRef(string(digits)))
		}
		if s := string(seps); strings.Trim(s, " ") != "" && strings.Trim(s, "-") != "" {
			return fmt.Errorf("separators %q", s)
		}
		return nil
	})
}

func FuzzIBAN(f *testing.F) {
	fuzzFinder(f, "iban", func(m string) error {
		compact := strings.ReplaceAll(m, " ", "")
		if n := ibanLength(upper(compact[0]), upper(compact[1])); n != len(compact) {
			return fmt.Errorf("length %d, country wants %d", len(compact), n)
		}
		if !ibanMod97(m) {
			return fmt.Errorf("mod-97 check fails")
		}
		return nil
	})
}

func FuzzIP(f *testing.F) {
	fuzzFinder(f, "ip", func(m string) error {
		_, err := netip.ParseAddr(m)
		return err
	})
}

func FuzzEmail(f *testing.F) {
	fuzzFinder(f, "email", func(m string) error {
		a, err := mail.ParseAddress(m)
		if err != nil {
			return err
		}
		if a.Address != m || strings.Count(m, "@") != 1 {
			return fmt.Errorf("parsed as %q", a.Address)
		}
		return nil
	})
}

func FuzzPhone(f *testing.F) {
	fuzzFinder(f, "phone", func(m string) error {
		n := 0
		for _, c := range []byte(m) {
			switch {
			case isDigit(c):
				n++
			case strings.IndexByte("+() -.", c) < 0:
				return fmt.Errorf("byte %q", c)
			}
		}
		if n < 7 || n > 15 {
			return fmt.Errorf("%d digits", n)
		}
		return nil
	})
}

func FuzzSecrets(f *testing.F) {
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----")
	f.Add("password = 'x' api_key: y secret=\"z")
	fuzzFinder(f, "secrets", func(m string) error {
		if strings.TrimSpace(m) == "" {
			return fmt.Errorf("blank match")
		}
		return nil
	})
}

// FuzzKeywords compares both automaton forms with the reference
// implementation. words holds the keywords one per line.
func FuzzKeywords(f *testing.F) {
	f.Add("secret\nbomb\nhaha", "The SECRET bomb: hahaha.", false)
	f.Add("ab\nabc\nbcd", "abcd", true)
	f.Add("\xff\xfe\nx y", "a\xff\xfeb x y z", false)
	f.Fuzz(func(t *testing.T, wordList, text string, whole bool) {
		words := strings.Split(wordList, "\n")
		if len(words) > 50 {
			words = words[:50]
		}
		opts := KeywordOptions{WholeWords: whole}
		kf, err := NewKeywords(words, opts)
		if err != nil {
			return
		}
		b := []byte(text)
		want := naiveKeywords(words, whole, b)
		for _, cells := range []int{denseLimit, 0} {
			got := newAutomaton(words, opts, cells).Find(b, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("cells %d: got %v, want %v", cells, got, want)
			}
		}
		if err := checkInvariants(kf, b, kf.Find(b, nil)); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzLocality checks the window property of every finder on arbitrary
// texts and windows.
func FuzzLocality(f *testing.F) {
	for _, s := range seedValues() {
		f.Add(strings.Repeat(s+" ", 4), uint16(3), uint16(40))
	}
	fs := localityFinders(f)
	f.Fuzz(func(t *testing.T, text string, a, b uint16) {
		lo, hi := min(int(a), int(b), len(text)), min(max(int(a), int(b)), len(text))
		for name, fd := range fs {
			if err := checkWindow(fd, []byte(text), lo, hi); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
}

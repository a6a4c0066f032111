package detect

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
)

// found returns the matched substrings of text.
func found(f Finder, text string) []string {
	var out []string
	for _, m := range f.Find([]byte(text), nil) {
		out = append(out, text[m.Start:m.End])
	}
	return out
}

func mustBuiltin(t testing.TB, name string) Finder {
	t.Helper()
	f, ok := Builtin(name)
	if !ok {
		t.Fatalf("Builtin(%q) not found", name)
	}
	return f
}

// checkInvariants returns an error when ms is not a valid Find result for
// text: in bounds, non-empty, ordered, non-overlapping, at most
// MaxLen()-2 long.
func checkInvariants(f Finder, text []byte, ms []Match) error {
	prev := 0
	for i, m := range ms {
		if m.Start < prev || m.End <= m.Start || m.End > len(text) {
			return fmt.Errorf("match %d %v out of order or bounds (prev end %d, len %d)", i, m, prev, len(text))
		}
		if m.End-m.Start > f.MaxLen()-2 {
			return fmt.Errorf("match %d %v longer than MaxLen()-2 = %d", i, m, f.MaxLen()-2)
		}
		if a := f.Anchors(); a != "" && !holdsByte(text[m.Start:m.End], a) {
			return fmt.Errorf("match %d %q holds none of the anchors %q", i, text[m.Start:m.End], a)
		}
		prev = m.End
	}
	return nil
}

// holdsByte reports whether b holds one of the bytes of set (byte by byte:
// set need not be UTF-8).
func holdsByte(b []byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if slices.Contains(b, set[i]) {
			return true
		}
	}
	return false
}

// runCases checks a table of texts and the substrings each must yield.
func runCases(t *testing.T, f Finder, cases []struct {
	in   string
	want []string
}) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := found(f, tc.in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Find(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if err := checkInvariants(f, []byte(tc.in), f.Find([]byte(tc.in), nil)); err != nil {
				t.Error(err)
			}
		})
	}
}

// luhnComplete appends the Luhn check digit to a digit string.
func luhnComplete(prefix string) string {
	for d := byte('0'); d <= '9'; d++ {
		if s := prefix + string(d); luhnRef(s) {
			return s
		}
	}
	panic("unreachable")
}

// luhnRef is an independent Luhn check over the digits of s.
func luhnRef(s string) bool {
	var ds []int
	for _, c := range s {
		if c >= '0' && c <= '9' {
			ds = append(ds, int(c-'0'))
		}
	}
	sum := 0
	for i := range ds {
		d := ds[len(ds)-1-i]
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return len(ds) > 0 && sum%10 == 0
}

// ibanMod97 is an independent mod-97 check (big integers) of an IBAN with
// or without spaces.
func ibanMod97(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) < 5 {
		return false
	}
	s = s[4:] + s[:4]
	var digits strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			fmt.Fprintf(&digits, "%d", c-'A'+10)
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// ibanWithCheck returns country + check digits + bban with correct check
// digits.
func ibanWithCheck(country, bban string) string {
	for c := 2; c <= 98; c++ {
		s := fmt.Sprintf("%s%02d%s", country, c, bban)
		if ibanMod97(s) {
			return s
		}
	}
	panic("no check digits for " + country + bban)
}

func TestBuiltinNames(t *testing.T) {
	names := BuiltinNames()
	if !slices.IsSorted(names) {
		t.Errorf("BuiltinNames() = %q, not sorted", names)
	}
	want := []string{"credit_card", "email", "iban", "ip", "phone", "secrets", "ssn"}
	if !slices.Equal(names, want) {
		t.Errorf("BuiltinNames() = %q, want %q", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f := mustBuiltin(t, name)
			if f.MaxLen() < 3 {
				t.Errorf("MaxLen() = %d", f.MaxLen())
			}
			if got := f.Find(nil, nil); len(got) != 0 {
				t.Errorf("Find(nil) = %v", got)
			}
		})
	}
	if f, ok := Builtin("nope"); ok || f != nil {
		t.Errorf("Builtin(nope) = %v, %v", f, ok)
	}
}

func TestBuiltinMaxLens(t *testing.T) {
	want := map[string]int{
		"email": 256, "phone": 34, "ssn": 13, "credit_card": 25,
		"iban": 44, "ip": 47, "secrets": 8194,
	}
	for name, n := range want {
		if got := mustBuiltin(t, name).MaxLen(); got != n {
			t.Errorf("%s MaxLen() = %d, want %d", name, got, n)
		}
	}
}

func TestFindAppends(t *testing.T) {
	f := mustBuiltin(t, "ssn")
	dst := []Match{{1, 2}}
	got := f.Find([]byte("a 123-45-6789 b"), dst)
	want := []Match{{1, 2}, {2, 13}}
	if !slices.Equal(got, want) {
		t.Errorf("Find = %v, want %v", got, want)
	}
}

func TestNewKeywordsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		words []string
	}{
		{"nil", nil},
		{"empty list", []string{}},
		{"empty word", []string{"a", ""}},
		{"blank word", []string{"a", " \t\n"}},
		{"too long", []string{strings.Repeat("x", MaxKeywordLen+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewKeywords(tc.words, KeywordOptions{})
			if !errors.Is(err, ErrBadKeywords) || f != nil {
				t.Errorf("NewKeywords = %v, %v; want ErrBadKeywords", f, err)
			}
		})
	}
	f, err := NewKeywords([]string{strings.Repeat("x", MaxKeywordLen)}, KeywordOptions{})
	if err != nil || f.MaxLen() != MaxKeywordLen+2 {
		t.Errorf("NewKeywords(256 bytes) = %v, %v", f, err)
	}
}

// TestFindDoesNotAllocate checks that Find allocates nothing when dst has
// room, for every finder, on text with matches of every kind.
func TestFindDoesNotAllocate(t *testing.T) {
	text := []byte(strings.Join(seedValues(), " . "))
	for name, f := range localityFinders(t) {
		t.Run(name, func(t *testing.T) {
			dst := make([]Match, 0, len(text))
			if n := testing.AllocsPerRun(20, func() { dst = f.Find(text, dst[:0]) }); n != 0 {
				t.Errorf("Find allocates %v times per run", n)
			}
		})
	}
}

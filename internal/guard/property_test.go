package guard

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
)

// The secrets the property tests seed, each caught by one rule of
// propertyRules.
var seeds = []string{
	"alice.smith@example.com",                  // email
	"123-45-6789",                              // ssn
	"4111 1111 1111 1111",                      // credit_card (Luhn)
	"GB82WEST12345698765432",                   // iban (mod 97)
	"AKIAIOSFODNN7EXAMPLE",                     // secrets: AWS access key id
	"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", // secrets: GitHub token
	"Project Nightingale",                      // keywords
	"TKT-482913",                               // regex
}

func propertyRules(ssn Action) []Rule {
	return []Rule{
		{Name: "email", Kind: "email", Action: Redact, Scope: Output},
		{Name: "ssn", Kind: "ssn", Action: ssn, Scope: Output},
		{Name: "card", Kind: "credit_card", Action: Redact, Scope: Output},
		{Name: "iban", Kind: "iban", Action: Redact, Scope: Output},
		{Name: "secrets", Kind: "secrets", Action: Redact, Scope: Output},
		{Name: "codename", Kind: KindKeywords, Words: []string{"project nightingale", "blue falcon"}, WholeWords: true, Action: Redact, Scope: Output},
		{Name: "ticket", Kind: KindRegex, Pattern: `\bTKT-\d{6}\b`, Action: Redact, Scope: Output},
		{Name: "ip", Kind: "ip", Action: Flag, Scope: Output},
	}
}

var prose = []string{
	"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "then",
	"café", "naïve", "日本語", "🙂", "—", "\"quoted\"", "back\\slash", "tab\there", "new\nline",
	"at", "dot.", "mail", "call", "5", "12", "ok,", "(see)", "x@y", "sk-", "TKT-", "4111",
}

// proseWith returns random prose with the given secrets embedded, each
// between spaces.
func proseWith(rng *rand.Rand, secrets ...string) string {
	var words []string
	for range 20 + rng.IntN(40) {
		words = append(words, prose[rng.IntN(len(prose))])
	}
	for _, s := range secrets {
		i := rng.IntN(len(words) + 1)
		words = slices.Insert(words, i, s)
	}
	return strings.Join(words, " ")
}

// splits returns the chunkings a text is streamed in: at every byte offset
// in two, one byte per event, and random multi-splits.
func splits(rng *rand.Rand, text string) [][]string {
	var out [][]string
	for i := 0; i <= len(text); i++ {
		out = append(out, []string{text[:i], text[i:]})
	}
	var bytewise []string
	for i := range len(text) {
		bytewise = append(bytewise, text[i:i+1])
	}
	out = append(out, bytewise)
	for range 40 {
		cuts := []int{0, len(text)}
		for range 1 + rng.IntN(20) {
			cuts = append(cuts, rng.IntN(len(text)+1))
		}
		slices.Sort(cuts)
		var chunks []string
		for j := 1; j < len(cuts); j++ {
			chunks = append(chunks, text[cuts[j-1]:cuts[j]])
		}
		out = append(out, chunks)
	}
	return out
}

type streamFormat struct {
	name string
	f    provider.Format
	op   provider.Operation
	body func([]string) []byte
}

var streamFormats = []streamFormat{
	{"openai", provider.FormatOpenAI, provider.OpChat, openaiStream},
	{"anthropic", provider.FormatAnthropic, provider.OpMessages, anthropicStream},
}

// propertyPolicies are rule sets of different holdbacks: with secrets
// (8 KiB: a reply of a few hundred bytes is flushed whole at its end),
// without (email's 256 bytes), and tight (44 bytes, IBAN's), so that text is
// released mid-stream around the secrets at every offset. Each lists the
// seeds it catches.
func propertyPolicies(t *testing.T, ssn Action) []struct {
	name  string
	p     *Policy
	seeds []string
} {
	all := propertyRules(ssn)
	without := func(kinds ...string) []Rule {
		var out []Rule
		for _, r := range all {
			if !slices.Contains(kinds, r.Kind) {
				out = append(out, r)
			}
		}
		return out
	}
	return []struct {
		name  string
		p     *Policy
		seeds []string
	}{
		{"all", mustPolicy(t, all...), seeds},
		{"no secrets", mustPolicy(t, without("secrets")...), slices.Delete(slices.Clone(seeds), 4, 6)},
		{"tight", mustPolicy(t, without("secrets", "email", "ip")...), slices.Delete(slices.Clone(seeds), 4, 6)[1:]},
	}
}

// TestStreamMatchesBuffered is the property: seeded secrets in
// random prose, streamed in every chunking, reach the client exactly as the
// buffered check redacts them, and never in clear.
func TestStreamMatchesBuffered(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, pp := range propertyPolicies(t, Redact) {
		t.Run(pp.name, func(t *testing.T) {
			p, seeds := pp.p, pp.seeds
			if pp.name == "tight" && p.hold != 44 {
				t.Fatalf("tight hold = %d", p.hold)
			}
			for n := range 8 {
				secrets := []string{seeds[n%len(seeds)], seeds[(n*3+1)%len(seeds)]}
				if n%4 == 3 {
					secrets = seeds
				}
				text := proseWith(rng, secrets...)
				want, err := redactedReply(t, p, text)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range secrets {
					if strings.Contains(want, s) {
						t.Fatalf("the buffered check missed %q in %q", s, text)
					}
				}
				for _, sf := range streamFormats {
					for _, chunks := range splits(rng, text) {
						s := p.NewStream(sf.f, sf.op)
						out, err := relay(t, s, sf.body(chunks), false)
						s.Release()
						if err != nil {
							t.Fatalf("%s: %v", sf.name, err)
						}
						got := streamText(t, sf.op, out)
						if got != want {
							t.Fatalf("%s, chunks %q:\n got %q\nwant %q", sf.name, chunks, got, want)
						}
					}
				}
			}
		})
	}
}

// TestStreamBlockNeverLeaks: with ssn as a block rule the stream ends with
// a violation before any byte of the SSN is released.
func TestStreamBlockNeverLeaks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const ssn = "123-45-6789"
	flagged := propertyPolicies(t, Flag)
	for i, pp := range propertyPolicies(t, Block) {
		t.Run(pp.name, func(t *testing.T) {
			p := pp.p
			for n := range 4 {
				// Words around the SSN keep its digits from joining a neighbour's.
				text := proseWith(rng, "ssn "+ssn+" ok", pp.seeds[n%len(pp.seeds)])
				full, err := redactedReply(t, flagged[i].p, text)
				if err != nil {
					t.Fatal(err)
				}
				at := strings.Index(full, ssn)
				if at < 0 {
					t.Fatalf("ssn not in the flagged reply %q", full)
				}
				if _, err := redactedReply(t, p, text); !isViolation(err, "ssn") {
					t.Fatalf("buffered check: %v", err)
				}
				for _, sf := range streamFormats {
					for _, chunks := range splits(rng, text) {
						s := p.NewStream(sf.f, sf.op)
						out, err := relay(t, s, sf.body(chunks), true)
						s.Release()
						if !isViolation(err, "ssn") {
							t.Fatalf("%s, chunks %q: err %v", sf.name, chunks, err)
						}
						got := streamText(t, sf.op, out)
						if !strings.HasPrefix(full, got) || len(got) > at {
							t.Fatalf("%s, chunks %q: released %q, past the SSN at %d of %q", sf.name, chunks, got, at, full)
						}
					}
				}
			}
		})
	}
}

func isViolation(err error, rule string) bool {
	var v *Violation
	return errors.As(err, &v) && v.Rule == rule
}

// TestStreamRegexEquivalence covers regex rules whose matches depend on
// where the previous one ended, or on the byte before them.
func TestStreamRegexEquivalence(t *testing.T) {
	patterns := []string{`\w{3}`, `\bab\b`, `(?m)^a+b`, `\Bb{2}`, `(?i)AB|b\b`, `[é]b+`, `a\nb`, `\b(?:ab)?`, `a|\b`}
	alphabet := []string{"a", "b", " ", "\n", "é", "1", "_", "B"}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, pat := range patterns {
		p := mustPolicy(t, Rule{Name: "r", Kind: KindRegex, Pattern: pat, MaxLen: 8, Action: Redact, Scope: Output})
		for range 30 {
			var sb strings.Builder
			for range 10 + rng.IntN(50) {
				sb.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			text := sb.String()
			want, err := redactedReply(t, p, text)
			if err != nil {
				t.Fatal(err)
			}
			for _, chunks := range splits(rng, text)[:len(text)+2] {
				s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
				out, err := relay(t, s, openaiStream(chunks), false)
				s.Release()
				if err != nil {
					t.Fatal(err)
				}
				if got := streamText(t, provider.OpChat, out); got != want {
					t.Fatalf("%s, chunks %q:\n got %q\nwant %q", pat, chunks, got, want)
				}
			}
		}
	}
}

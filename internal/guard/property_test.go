package guard

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
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

// propertyPolicies are rule sets of different contexts: with secrets
// (8 KiB of context where a scan is near a match), without (email's 256
// bytes), and tight (IBAN's 44), so that text is released mid-stream around
// the secrets at every offset. Each lists the seeds it catches.
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
			if pp.name == "tight" && p.hold != 12 {
				t.Fatalf("tight hold = %d, want the ticket regex's 12", p.hold)
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

// cleanWords make prose without candidates for any detector: no digits,
// no '@', no key prefixes, no words a keyword starts with.
var cleanWords = []string{
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "then",
	"café", "naïve", "日本語", "🙂", "—", "\"quoted\"", "(see)", "ok,", "dot.", "well-known",
	"tab\there", "new\nline", "why?", "yes!", "it's", "e.g.", "a", "of", "to", "is",
}

// eventChunks splits text into token-sized events at random: a word with
// its leading space, or pieces of one.
func eventChunks(rng *rand.Rand, text string) []string {
	var out []string
	for i := 0; i < len(text); {
		j := min(len(text), i+1+rng.IntN(6))
		if k := strings.IndexByte(text[i+1:j], ' '); k >= 0 {
			j = i + 1 + k
		}
		out = append(out, text[i:j])
		i = j
	}
	return out
}

// relayEach sends chunks as chat deltas one event at a time and calls
// check after each with the text received and the text released so far.
func relayEach(t *testing.T, p *Policy, chunks []string, check func(recv, rel string)) {
	t.Helper()
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	var recv, rel strings.Builder
	for _, c := range chunks {
		d := []byte(openaiDelta(c))
		out, err := s.Event(nil, &sse.Event{Raw: sse.AppendData(nil, d), Data: d})
		if err != nil {
			t.Fatal(err)
		}
		recv.WriteString(c)
		rel.WriteString(streamText(t, provider.OpChat, out))
		check(recv.String(), rel.String())
	}
}

// TestStreamProseLag: in prose without candidates, what a stream has
// released after each event lags what it received by no more than the
// trailing word (which could still become an address, a key, a number),
// whatever the output rules (regex rules aside: they hold a fixed tail).
func TestStreamProseLag(t *testing.T) {
	var finders []Rule
	for _, r := range propertyRules(Redact) {
		if r.Kind != KindRegex {
			finders = append(finders, r)
		}
	}
	policies := map[string]*Policy{
		"l2":        mustPolicy(t, l2Rules()...),
		"finders":   mustPolicy(t, finders...),
		"keywords":  mustPolicy(t, Rule{Name: "kw", Kind: KindKeywords, Words: []string{"nightingale"}, Action: Block, Scope: Output}),
		"secrets":   mustPolicy(t, Rule{Name: "secrets", Kind: "secrets", Action: Redact, Scope: Output}),
		"all_flags": mustPolicy(t, flagAll()...),
	}
	rng := rand.New(rand.NewPCG(5, 8))
	for name, p := range policies {
		t.Run(name, func(t *testing.T) {
			for range 40 {
				var words []string
				for range 10 + rng.IntN(40) {
					words = append(words, cleanWords[rng.IntN(len(cleanWords))])
				}
				text := strings.Join(words, " ")
				relayEach(t, p, eventChunks(rng, text), func(recv, rel string) {
					if !strings.HasPrefix(recv, rel) {
						t.Fatalf("released %q is not a prefix of %q", rel, recv)
					}
					word := len(recv) - max(strings.LastIndexAny(recv, " \n\t"), -1) - 1
					if lag := len(recv) - len(rel); lag > word {
						t.Fatalf("after %q the stream released %q: %d bytes behind, the trailing word is %d", recv, rel, lag, word)
					}
				})
			}
		})
	}
}

// flagAll flags every builtin on output.
func flagAll() []Rule {
	var rules []Rule
	for _, n := range detect.BuiltinNames() {
		rules = append(rules, Rule{Name: n, Kind: n, Action: Flag, Scope: Output})
	}
	return rules
}

// TestStreamPathological: texts that keep candidates open for long (an
// unterminated PEM block, long JWTs and keys, assignments, digit runs,
// chains of addresses) reach the client exactly as the buffered check
// gives them, in random chunkings, with redaction and with flags.
func TestStreamPathological(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat("MIIBOgIBAAJBAKj34GkxFhD9\n", 40)
	texts := map[string]string{
		"pem_open":   "key:\n" + pem + "and more",
		"pem_closed": "key:\n" + pem + "-----END RSA PRIVATE KEY-----\nthen mail a@b.co",
		"pem_two":    pem + "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----",
		"jwt":        "t=eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("eyJzdWIiOiIx", 30) + ".sig_x and",
		"assign":     strings.Repeat("password=hunter2 api_key: \"abc def\" ", 20),
		"digits":     strings.Repeat("1234567890", 30) + " 4111 1111 1111 1111 then 123-45-6789 end",
		"emails":     strings.Repeat("a.b@c.de.", 30) + strings.Repeat("x@y.com+", 20),
		"keys":       strings.Repeat("sk-proj-abc123def456ghi789jkl ", 10) + "ghp_" + strings.Repeat("a1", 30),
		"ips":        strings.Repeat("10.0.0.1:", 30) + strings.Repeat("fe80::1 ", 10),
		"phones":     strings.Repeat("+1 555 123 4567 ", 20),
	}
	// starved has no scan credit saved: its rules scan only as text pays
	// for it, so releases wait (the throttled path).
	starved := mustPolicy(t, propertyRules(Redact)...)
	for _, r := range starved.out {
		r.scanCap = 0
	}
	policies := map[string]*Policy{
		"redact":  mustPolicy(t, propertyRules(Redact)...),
		"flags":   mustPolicy(t, flagAll()...),
		"starved": starved,
	}
	rng := rand.New(rand.NewPCG(17, 19))
	for pname, p := range policies {
		for name, text := range texts {
			t.Run(pname+"/"+name, func(t *testing.T) {
				want, err := redactedReply(t, p, text)
				if err != nil {
					t.Fatal(err)
				}
				for range 20 {
					chunks := eventChunks(rng, text)
					if rng.IntN(3) == 0 {
						chunks = splits(rng, text)[len(text)+1+rng.IntN(40)]
					}
					s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
					out, err := relay(t, s, openaiStream(chunks), false)
					v := s.Verdicts(nil)
					s.Release()
					if err != nil {
						t.Fatal(err)
					}
					if got := streamText(t, provider.OpChat, out); got != want {
						t.Fatalf("chunks %q:\n got %q\nwant %q", chunks, got, want)
					}
					_, bv, _ := p.CheckResponse(provider.FormatOpenAI, provider.OpChat, chatReply(text), nil, nil)
					if !slices.Equal(v, bv) {
						t.Fatalf("chunks %q: verdicts %v, buffered %v", chunks, v, bv)
					}
				}
			})
		}
	}
}

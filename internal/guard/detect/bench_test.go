package detect

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchPrompt is a typical ~2 KB English prompt with a few PII values.
func benchPrompt() []byte {
	p := `Hi! I'm writing to follow up on the support ticket I opened last week about my account.
My name is Jane Doe and you can reach me at jane.doe@example.com or on my mobile, (555) 123-4567.
I was charged twice for the annual plan on March 3rd, once for $129.00 and again for $129.00 a few
minutes later. The second charge went to my card ending in 4242, although the receipt lists the
full number 4111 1111 1111 1111, which I find worrying: should receipts ever show the whole number?
Could you please refund the duplicate payment and confirm once it is done? I have attached the two
receipts and a screenshot of the billing page. Our office network is 10.20.30.40 if that helps the
fraud team correlate the sign-ins, and the second attempt came from a hotel in Lisbon.

Also, a broader question for your product team. We are evaluating the enterprise tier for about
forty people across three teams, and we would like to understand how the usage limits work when
several people share one workspace. Is the limit per seat or per workspace? What happens when we
exceed it in the middle of the month: are requests rejected, queued, or billed as overage? We
also need single sign-on with our identity provider and an audit log that we can export weekly.
Finally, please summarise the following meeting notes into five bullet points for the leadership
update, keeping the tone neutral and avoiding jargon where possible:

The quarterly review covered revenue, hiring, and the roadmap. Revenue grew eight percent over the
previous quarter, driven mostly by the new self-serve plan. Hiring is behind plan in engineering,
with three open roles still unfilled; recruiting will try a referral bonus. The roadmap discussion
focused on reliability work before new features, and the team agreed to freeze the public API for
two releases while the migration completes. Marketing asked for earlier notice of launch dates.
Thanks so much for your help, and have a great weekend!
`
	return []byte(p)
}

// adversarial returns 1 MiB inputs built to stress each scanner.
func adversarial() map[string][]byte {
	const size = 1 << 20
	fill := func(unit string) []byte { return bytes.Repeat([]byte(unit), size/len(unit)+1)[:size] }
	rng := rand.New(rand.NewPCG(3, 4))
	digits := make([]byte, size)
	for i := range digits {
		digits[i] = "0123456789 -."[rng.IntN(13)]
	}
	return map[string][]byte{
		"digits":     fill("1"),
		"digitnoise": digits,
		"cardchain":  fill("4002 "),
		"at":         fill("aaaa@"),
		"dotted":     fill("a.a@a.a"),
		"sk":         fill("sk-"),
		"skbody":     fill("sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1 "),
		"dashes":     fill("-"),
		"begin":      fill("-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n"),
		"colons":     fill("1:"),
		"dots":       fill("1."),
		"assign":     fill("password=password="),
		"jwt":        fill("eyJaaaaaaaaaaaa.eyJ"),
		"iban":       fill("DE89 3704 "),
		"phone":      fill("+1 555 "),
	}
}

// benchKeywords returns 1,000 pseudo-words (with shared prefixes and
// suffixes, so the automaton has real failure links).
func benchKeywords() []string {
	rng := rand.New(rand.NewPCG(5, 6))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	words := make([]string, 0, 1000)
	for len(words) < 990 {
		var b strings.Builder
		for range 4 + rng.IntN(9) {
			b.WriteByte(letters[rng.IntN(len(letters))])
		}
		words = append(words, b.String())
	}
	for k := 1; len(words) < 1000; k++ {
		words = append(words, strings.Repeat("a", k)+"b") // a-runs fail deep
	}
	return words
}

func BenchmarkBuiltinsPrompt(b *testing.B) {
	prompt := benchPrompt()
	var finders []Finder
	for _, name := range BuiltinNames() {
		finders = append(finders, mustBuiltin(b, name))
	}
	dst := make([]Match, 0, 64)
	b.Run("all", func(b *testing.B) {
		b.SetBytes(int64(len(prompt)))
		b.ReportAllocs()
		for b.Loop() {
			for _, f := range finders {
				dst = f.Find(prompt, dst[:0])
			}
		}
	})
	for i, name := range BuiltinNames() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(prompt)))
			b.ReportAllocs()
			for b.Loop() {
				dst = finders[i].Find(prompt, dst[:0])
			}
		})
	}
}

func BenchmarkAdversarial(b *testing.B) {
	inputs := adversarial()
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	kw, err := NewKeywords(benchKeywords(), KeywordOptions{})
	if err != nil {
		b.Fatal(err)
	}
	kwWhole, err := NewKeywords(benchKeywords(), KeywordOptions{WholeWords: true})
	if err != nil {
		b.Fatal(err)
	}
	finders := map[string]Finder{"keywords": kw, "keywords_whole": kwWhole}
	for _, name := range BuiltinNames() {
		finders[name] = mustBuiltin(b, name)
	}
	dst := make([]Match, 0, 1<<18)
	for fname, f := range finders {
		for _, in := range names {
			text := inputs[in]
			b.Run(fmt.Sprintf("%s/%s", fname, in), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				for b.Loop() {
					dst = f.Find(text, dst[:0])
				}
			})
		}
	}
}

func BenchmarkKeywordsPrompt(b *testing.B) {
	prompt := benchPrompt()
	for _, dense := range []bool{true, false} {
		k := keywordsFor(b, benchKeywords(), false, dense)
		b.Run(fmt.Sprintf("dense=%v", dense), func(b *testing.B) {
			dst := make([]Match, 0, 16)
			b.SetBytes(int64(len(prompt)))
			b.ReportAllocs()
			for b.Loop() {
				dst = k.Find(prompt, dst[:0])
			}
		})
	}
}

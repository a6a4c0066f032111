package guard

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
)

// BenchmarkRegexRules reports the speed (MB/s) of user regex rules over
// 1 MiB of input text, ordinary and adversarial: RE2 keeps every one linear
// in the text, whatever the pattern.
func BenchmarkRegexRules(b *testing.B) {
	prose := strings.Repeat("The quarterly report covers tickets, releases and the budget for each team. ", 14000)
	texts := map[string]string{
		"prose":       prose[:1<<20-64],
		"adversarial": strings.Repeat("a", 1<<20-64), // worst case for backtracking engines
	}
	patterns := map[string]string{
		"ticket":      `TICK-[0-9]{6}`,
		"alternation": `(?i)project\s+(bluebird|falcon|heron|osprey)`,
		"backtrack":   `(a|aa)+b`,
		"classes":     `\b[A-Z]{2}[0-9]{6}\b`,
	}
	for pname, pat := range patterns {
		for tname, text := range texts {
			b.Run(pname+"/"+tname, func(b *testing.B) {
				e, err := New([]Set{{Name: "s", Rules: []Rule{{Name: "r", Kind: KindRegex, Pattern: pat, Action: Flag, Scope: Input}}}}, Options{})
				if err != nil {
					b.Fatal(err)
				}
				p, err := e.Policy("s")
				if err != nil {
					b.Fatal(err)
				}
				body := []byte(`{"model":"m","messages":[{"role":"user","content":` + strconv.Quote(text) + `}]}`)
				var v []Verdict
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				for b.Loop() {
					_, v, err = p.CheckRequest(provider.FormatOpenAI, provider.OpChat, body, nil, v[:0])
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

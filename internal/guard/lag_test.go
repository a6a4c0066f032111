package guard

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// replyTexts are the typical replies of package detect's testdata (prose,
// code, markdown, a list with numbers), none with a sensitive value.
func replyTexts(t testing.TB) map[string]string {
	out := map[string]string{}
	for _, n := range []string{"prose", "code", "markdown", "list"} {
		b, err := os.ReadFile(filepath.Join("detect", "testdata", "replies", n+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("reply %s is empty", n)
		}
		out[n] = string(b)
	}
	return out
}

// tokenChunks splits text into token-sized pieces, roughly as a BPE
// tokenizer does: a word with its leading space (long words in pieces of
// up to 6 bytes), up to three digits, one other byte, a newline run.
func tokenChunks(text string) []string {
	isLetter := func(c byte) bool { return (c|0x20)-'a' < 26 }
	isDigit := func(c byte) bool { return c-'0' < 10 }
	var out []string
	for i := 0; i < len(text); {
		j := i
		if text[j] == ' ' && j+1 < len(text) && (isLetter(text[j+1]) || isDigit(text[j+1])) {
			j++
		}
		switch c := text[j]; {
		case isLetter(c):
			for j < len(text) && isLetter(text[j]) && j-i < 6 {
				j++
			}
		case isDigit(c):
			for j < len(text) && isDigit(text[j]) && j-i < 3 {
				j++
			}
		case c == '\n':
			for j < len(text) && text[j] == '\n' {
				j++
			}
		default:
			j++
		}
		out = append(out, text[i:j])
		i = j
	}
	return out
}

// streamLag relays text as token-sized chat deltas and returns how many
// bytes of the received text the client had not yet been sent after each
// event, on average and at most.
func streamLag(t testing.TB, p *Policy, text string) (avg float64, most int) {
	s := p.NewStream(provider.FormatOpenAI, provider.OpChat)
	defer s.Release()
	chunks := tokenChunks(text)
	recv, rel, total := 0, 0, 0
	var out []byte
	for _, c := range chunks {
		d := []byte(openaiDelta(c))
		var err error
		out, err = s.Event(out[:0], &sse.Event{Raw: sse.AppendData(nil, d), Data: d})
		if err != nil {
			t.Fatal(err)
		}
		recv += len(c)
		rel += len(streamText(t, provider.OpChat, out))
		total += recv - rel
		most = max(most, recv-rel)
	}
	return float64(total) / float64(len(chunks)), most
}

// lagPolicies are the output rule sets lag is measured for: the L2 tier
// (email on output) and every builtin.
func lagPolicies(t testing.TB) []struct {
	name string
	p    *Policy
} {
	var all []Rule
	for _, n := range detect.BuiltinNames() {
		all = append(all, Rule{Name: n, Kind: n, Action: Redact, Scope: Output})
	}
	return []struct {
		name string
		p    *Policy
	}{{"l2", mustPolicy(t, l2Rules()...)}, {"all_builtins", mustPolicy(t, all...)}}
}

// TestStreamRepliesLag measures, for typical replies streamed a token at a
// time, how far the client is behind the upstream after each event, and
// bounds it: the trailing word or number, a few bytes on average.
func TestStreamRepliesLag(t *testing.T) {
	texts := replyTexts(t)
	for _, pp := range lagPolicies(t) {
		for _, name := range []string{"prose", "code", "markdown", "list"} {
			avg, most := streamLag(t, pp.p, texts[name])
			t.Logf("%-12s %-8s %5.2f bytes behind per event on average, at most %d", pp.name, name, avg, most)
			if avg > 6 || most > 40 {
				t.Errorf("%s/%s: %.2f bytes behind on average, at most %d", pp.name, name, avg, most)
			}
		}
	}
}

// BenchmarkStreamReplies relays each typical reply a token at a time: the
// cost per event, and the lag (bytes behind per event) as a metric.
func BenchmarkStreamReplies(b *testing.B) {
	texts := replyTexts(b)
	for _, pp := range lagPolicies(b) {
		for _, name := range []string{"prose", "code", "markdown", "list"} {
			chunks := tokenChunks(texts[name])
			evs := make([]sse.Event, len(chunks))
			for i, c := range chunks {
				d := []byte(openaiDelta(c))
				evs[i] = sse.Event{Raw: sse.AppendData(nil, d), Data: d}
			}
			b.Run(pp.name+"/"+name, func(b *testing.B) {
				out := make([]byte, 0, 4096)
				b.ReportAllocs()
				for b.Loop() {
					s := pp.p.NewStream(provider.FormatOpenAI, provider.OpChat)
					for i := range evs {
						out, _ = s.Event(out[:0], &evs[i])
					}
					out = s.Finish(out[:0])
					s.Release()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
				avg, _ := streamLag(b, pp.p, texts[name])
				b.ReportMetric(avg, "lag-B/event")
			})
		}
	}
}

package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// replyNames are the typical LLM replies in testdata/replies, of the
// kinds a stream carries: prose, code, markdown and a list with numbers.
// None holds a sensitive value. Package guard streams the same files.
var replyNames = []string{"prose", "code", "markdown", "list"}

func replies(t testing.TB) []struct{ name, text string } {
	var out []struct{ name, text string }
	for _, n := range replyNames {
		b, err := os.ReadFile(filepath.Join("testdata", "replies", n+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, struct{ name, text string }{n, string(b)})
	}
	return out
}

// tokenChunks splits text into token-sized pieces, roughly as a BPE
// tokenizer does: a word with its leading space (long words in pieces of
// up to 6 bytes), up to three digits, one punctuation byte, a newline run.
func tokenChunks(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		j := i
		if text[j] == ' ' && j+1 < len(text) && isAlnum(text[j+1]) {
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

// heldPerChunk streams text in token-sized chunks and returns the bytes the
// finders hold back after each chunk on average (the received length minus
// the least Pending), and the largest hold.
func heldPerChunk(fs []Finder, text string) (avg float64, most int) {
	chunks := tokenChunks(text)
	total, n := 0, 0
	for _, c := range chunks {
		n += len(c)
		p := n
		for _, f := range fs {
			p = min(p, f.Pending([]byte(text[:n])))
		}
		total += n - p
		most = max(most, n-p)
	}
	return float64(total) / float64(len(chunks)), most
}

// ruleSets are the finder sets the hold is measured for: the L2 tier's
// detectors (ssn, credit_card, email) and every builtin.
func ruleSets(t testing.TB) []struct {
	name string
	fs   []Finder
} {
	var all []Finder
	for _, n := range BuiltinNames() {
		all = append(all, mustBuiltin(t, n))
	}
	return []struct {
		name string
		fs   []Finder
	}{
		{"l2", []Finder{mustBuiltin(t, "ssn"), mustBuiltin(t, "credit_card"), mustBuiltin(t, "email")}},
		{"all_builtins", all},
	}
}

// TestPendingHeldBack measures what a stream of each typical reply holds
// back per token-sized chunk, and bounds it: a few bytes on average (the
// trailing word that could still become an address or a key, a number that
// could still become a card), never more than the longest such word or
// number in the replies.
func TestPendingHeldBack(t *testing.T) {
	for _, rs := range ruleSets(t) {
		for _, r := range replies(t) {
			avg, most := heldPerChunk(rs.fs, r.text)
			t.Logf("%-12s %-8s %3d chunks, %5.2f bytes held per chunk on average, at most %d",
				rs.name, r.name, len(tokenChunks(r.text)), avg, most)
			if avg > 6 || most > 40 {
				t.Errorf("%s/%s: %.2f bytes held per chunk on average, at most %d", rs.name, r.name, avg, most)
			}
		}
	}
}

// BenchmarkPending is the cost of one Pending call per detector on the
// window a stream scans per event in clean text (LeftContext bytes and a
// few new ones), and on a 2 KB prompt.
func BenchmarkPending(b *testing.B) {
	prompt := benchPrompt()
	for _, name := range BuiltinNames() {
		f := mustBuiltin(b, name)
		for _, size := range []int{f.LeftContext() + 8, len(prompt)} {
			text := prompt[:size]
			b.Run(fmt.Sprintf("%s/%d", name, size), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					f.Pending(text)
				}
			})
		}
	}
}

// BenchmarkPendingHeld reports the hold of TestPendingHeldBack as a metric
// (held-B/chunk) beside the cost of computing it per chunk.
func BenchmarkPendingHeld(b *testing.B) {
	for _, rs := range ruleSets(b) {
		for _, r := range replies(b) {
			b.Run(rs.name+"/"+r.name, func(b *testing.B) {
				var avg float64
				b.ReportAllocs()
				for b.Loop() {
					avg, _ = heldPerChunk(rs.fs, r.text)
				}
				b.ReportMetric(avg, "held-B/chunk")
			})
		}
	}
}

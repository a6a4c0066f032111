package guard

import (
	"cmp"
	"slices"

	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// hit is one match of one rule: absolute text positions [start, end) and
// the rule's index in the rule list being scanned.
type hit struct {
	start, end int
	rule       int32
}

// collect appends the matches of every rule in text to hits. ms is reused
// for the finders' results.
func collect(rules []*crule, text []byte, hits []hit, ms *[]detect.Match) []hit {
	for i, r := range rules {
		switch r.kind {
		case kindFinder:
			*ms = r.finder.Find(text, (*ms)[:0])
			for _, x := range *ms {
				hits = append(hits, hit{start: x.Start, end: x.End, rule: int32(i)})
			}
		case kindRegex:
			hits = r.regex.find(hits, i, text, 0, 0, len(text))
		}
	}
	return hits
}

func compareHits(a, b hit) int {
	if a.start != b.start {
		return cmp.Compare(a.start, b.start)
	}
	if a.end != b.end {
		return cmp.Compare(b.end, a.end) // longest first
	}
	return cmp.Compare(a.rule, b.rule) // then configuration order
}

// resolve decides the hits of one scan of the text [from, to) and counts
// them in counts (by rule index).
//
// Overlaps: a block hit anywhere blocks (block returns the index of the
// earliest, else -1), whatever else matched. Flag hits only count. Redact
// hits are taken greedily in text order, the longest first among those
// starting together, then the earlier rule; a hit overlapping one already
// taken is dropped (it still counts).
//
// With final false the text may go on past to: hits that start before to
// are final (the caller ensures they end well before the text does), but a
// taken redaction that ends after to is not released yet: cut moves back to
// its start, and only hits starting before cut are counted. With final set,
// to is the end of the text and cut is to.
func resolve(rules []*crule, hits []hit, from, to int, final bool, picks []hit, counts []int) (cut int, _ []hit, block int) {
	if len(hits) > 1 {
		slices.SortFunc(hits, compareHits)
	}
	block = -1
	for i, h := range hits {
		if rules[h.rule].action == Block {
			block = i
			break
		}
	}
	if block >= 0 {
		for _, h := range hits {
			counts[h.rule]++
		}
		return to, picks, block
	}
	cut = to
	last := from
	for _, h := range hits {
		if rules[h.rule].action != Redact || h.start < last {
			continue
		}
		if h.end > to && !final {
			cut = h.start
			break
		}
		picks = append(picks, h)
		last = h.end
	}
	for _, h := range hits {
		if h.start < cut {
			counts[h.rule]++
		}
	}
	return cut, picks, block
}

// appendRedacted appends the text [from, cut) of t (which holds positions
// [base, ...)) to dst with each pick replaced by its rule's label.
func appendRedacted(dst, t []byte, base, from, cut int, picks []hit, rules []*crule) []byte {
	pos := from
	for _, p := range picks {
		dst = append(dst, t[pos-base:p.start-base]...)
		dst = append(dst, rules[p.rule].label...)
		pos = p.end
	}
	return append(dst, t[pos-base:cut-base]...)
}

// bytesView returns b as a string without copying (wire.StringView); the
// string must not outlive b or see it modified.
// See docs/decisions/0006-unsafe-string-views.md.
func bytesView(b []byte) string { return wire.StringView(b) }

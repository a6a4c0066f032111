package detect

import (
	"slices"
	"strings"
)

// denseLimit is the largest transition table (states × byte classes) built
// as a full DFA (4 bytes a cell, so 16 MiB). Larger keyword sets keep the
// trie with failure links, which is slower per byte but as small as the
// words.
const denseLimit = 1 << 22

// ringSize holds the pending candidates by start; it exceeds MaxKeywordLen.
const ringSize = 512

// outBit flags a dense-table entry whose state ends a keyword (rows stay
// below denseLimit, far from this bit).
const outBit = 1 << 30

// keywords is an Aho–Corasick automaton over ASCII-case-folded bytes.
type keywords struct {
	class  [256]uint8 // byte → class; 0 for bytes in no keyword
	nclass int
	maxLen int
	whole  bool
	// anchors holds the last byte of every keyword in both cases: a match
	// is an occurrence or the uncovered tail of one (resolver.addTail),
	// so it always holds the occurrence's last byte.
	anchors string

	// Dense mode: delta[row+class] is the next state's row (state*nclass),
	// with outBit set when a keyword ends in that state.
	delta []int32

	// Sparse mode: the trie edges of state u are edges[first[u]:first[u+1]]
	// (sorted by class); root holds the root's full row.
	first []int32
	edges []kwEdge
	fail  []int32
	root  []int32

	term    []int16 // length of the keyword spelled by the state, or 0
	longest []int16 // longest keyword ending at the state (itself or a suffix)
	dict    []int32 // nearest proper suffix state that is a keyword, or 0
	// open is the depth of the longest suffix state (the state itself or one
	// down its failure links) that more text could still turn into an
	// occurrence or a longer one: a proper prefix of a keyword, or, with
	// WholeWords, a keyword whose right boundary is still to come.
	open []int16
}

type kwEdge struct {
	class uint8
	next  int32
}

var _ Finder = (*keywords)(nil)

// newAutomaton builds the automaton; words are already validated. A DFA is
// built when it has at most denseCells cells.
func newAutomaton(words []string, opts KeywordOptions, denseCells int) *keywords {
	k := &keywords{whole: opts.WholeWords}
	// Byte classes: one per distinct folded byte.
	for _, w := range words {
		for i := 0; i < len(w); i++ {
			c := lower(w[i])
			if k.class[c] == 0 {
				k.nclass++
				k.class[c] = uint8(k.nclass)
			}
		}
		k.maxLen = max(k.maxLen, len(w))
		if len(w) > 0 {
			for _, c := range []byte{lower(w[len(w)-1]), upper(w[len(w)-1])} {
				if strings.IndexByte(k.anchors, c) < 0 {
					k.anchors += string([]byte{c})
				}
			}
		}
	}
	k.nclass++ // class 0
	for c := 'A'; c <= 'Z'; c++ {
		k.class[c] = k.class[c+'a'-'A']
	}

	// The trie.
	children := [][]kwEdge{nil}
	term := []int16{0}
	depth := []int16{0}
	for _, w := range words {
		u := int32(0)
		for i := 0; i < len(w); i++ {
			c := k.class[w[i]]
			v := int32(-1)
			for _, e := range children[u] {
				if e.class == c {
					v = e.next
					break
				}
			}
			if v < 0 {
				v = int32(len(children))
				children = append(children, nil)
				term = append(term, 0)
				depth = append(depth, depth[u]+1)
				children[u] = append(children[u], kwEdge{c, v})
			}
			u = v
		}
		term[u] = int16(len(w))
	}
	n := len(children)
	k.term = term

	// Failure links, outputs and dictionary links in breadth-first order.
	k.fail = make([]int32, n)
	k.longest = make([]int16, n)
	k.dict = make([]int32, n)
	k.open = make([]int16, n)
	goTo := func(u int32, c uint8) int32 {
		for _, e := range children[u] {
			if e.class == c {
				return e.next
			}
		}
		return -1
	}
	order := make([]int32, 0, n)
	order = append(order, 0)
	for q := 0; q < len(order); q++ {
		u := order[q]
		for _, e := range children[u] {
			v := e.next
			if u != 0 {
				f := k.fail[u]
				for f != 0 && goTo(f, e.class) < 0 {
					f = k.fail[f]
				}
				if t := goTo(f, e.class); t >= 0 {
					k.fail[v] = t
				}
			}
			f := k.fail[v]
			k.longest[v] = max(k.term[v], k.longest[f])
			k.open[v] = k.open[f]
			if len(children[v]) > 0 || (k.whole && k.term[v] > 0) {
				k.open[v] = depth[v]
			}
			if k.term[f] > 0 {
				k.dict[v] = f
			} else {
				k.dict[v] = k.dict[f]
			}
			order = append(order, v)
		}
	}

	if n*k.nclass <= denseCells {
		nc := k.nclass
		k.delta = make([]int32, n*nc)
		for _, u := range order {
			row := k.delta[int(u)*nc : int(u+1)*nc]
			if u != 0 {
				copy(row, k.delta[int(k.fail[u])*nc:int(k.fail[u]+1)*nc])
			}
			for _, e := range children[u] {
				row[e.class] = e.next*int32(nc) | outFlag(k.longest[e.next])
			}
		}
		return k
	}
	k.first = make([]int32, n+1)
	for u := range n {
		slices.SortFunc(children[u], func(a, b kwEdge) int { return int(a.class) - int(b.class) })
		k.first[u] = int32(len(k.edges))
		k.edges = append(k.edges, children[u]...)
	}
	k.first[n] = int32(len(k.edges))
	k.root = make([]int32, k.nclass)
	for _, e := range children[0] {
		k.root[e.class] = e.next
	}
	return k
}

func outFlag(longest int16) int32 {
	if longest > 0 {
		return outBit
	}
	return 0
}

// MaxLen returns the longest keyword plus one byte of context each side.
func (k *keywords) MaxLen() int { return k.maxLen + 2 }

// Anchors returns the last byte of each keyword, in both cases.
func (k *keywords) Anchors() string { return k.anchors }

// LeftContext is the longest keyword: besides the byte before an
// occurrence (WholeWords), a match may be the uncovered part of an
// occurrence that started up to that far before it (resolver.addTail).
func (k *keywords) LeftContext() int { return k.maxLen }

// Pending returns where the longest suffix of text that more text could
// still make an occurrence begins: a proper prefix of some keyword, or with
// WholeWords a whole keyword, whose right boundary is not there yet. Every
// start before it is decided. The automaton runs over the last maxLen bytes,
// which fix the state at the end.
func (k *keywords) Pending(text []byte) int {
	n := len(text)
	u, row := int32(0), int32(0)
	nc := int32(k.nclass)
	for _, b := range text[max(0, n-k.maxLen):] {
		c := k.class[b]
		if k.delta != nil {
			row = k.delta[row+int32(c)] &^ outBit
		} else {
			u = k.step(u, c)
		}
	}
	if k.delta != nil {
		u = row / nc
	}
	return n - int(k.open[u])
}

// step is the sparse-mode transition.
func (k *keywords) step(u int32, c uint8) int32 {
	for u != 0 {
		lo, hi := k.first[u], k.first[u+1]
		for lo < hi {
			mid := int32(uint32(lo+hi) >> 1)
			switch e := k.edges[mid]; {
			case e.class == c:
				return e.next
			case e.class < c:
				lo = mid + 1
			default:
				hi = mid
			}
		}
		u = k.fail[u]
	}
	return k.root[c]
}

// Find reports, for each start, the longest keyword occurrence there
// (whole-word only with WholeWords); an occurrence that starts inside an
// earlier one is reported only for its part past the earlier ones (see
// resolver.addTail). Occurrences are found by end; a start is settled once
// no longer keyword could still begin there, maxLen bytes later.
func (k *keywords) Find(text []byte, dst []Match) []Match {
	var ring [ringSize]int32 // best end for each pending start, 0 = none
	var r resolver
	pending, lo := 0, 0          // pending entries; lowest start not yet settled
	u, row := int32(0), int32(0) // state; its dense row
	nc := int32(k.nclass)
	for j := 0; j < len(text); j++ {
		c := k.class[text[j]]
		if k.delta != nil {
			row = k.delta[row+int32(c)]
			if row&outBit == 0 {
				u = -1 // not needed: no keyword ends here
			} else {
				row &^= outBit
				u = row / nc
			}
		} else {
			u = k.step(u, c)
		}
		if u < 0 {
			// Dense mode, no output.
		} else if l := int(k.longest[u]); l > 0 {
			s := -1
			if !k.whole {
				s = j + 1 - l
			} else if !isWord(at(text, j+1)) {
				for x := u; x != 0; x = k.dict[x] {
					if l := int(k.term[x]); l > 0 && !isWord(at(text, j-l)) {
						s = j + 1 - l
						break
					}
				}
			}
			if s >= 0 {
				slot := &ring[s%ringSize]
				if *slot == 0 {
					pending++
				}
				*slot = max(*slot, int32(j+1))
			}
		}
		// Starts up to j+1-maxLen can get no further occurrence.
		settle := j + 1 - k.maxLen
		if pending == 0 {
			lo = max(lo, settle+1)
			continue
		}
		for ; lo <= settle; lo++ {
			if e := ring[lo%ringSize]; e != 0 {
				ring[lo%ringSize] = 0
				pending--
				dst = r.addTail(dst, lo, int(e))
			}
		}
	}
	for ; pending > 0; lo++ {
		if e := ring[lo%ringSize]; e != 0 {
			ring[lo%ringSize] = 0
			pending--
			dst = r.addTail(dst, lo, int(e))
		}
	}
	return dst
}

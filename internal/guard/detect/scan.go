package detect

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Byte classes shared by the scanners. Everything is ASCII: a byte >= 0x80
// (part of a UTF-8 sequence, or invalid) is never a letter, digit or word
// byte, so it always counts as a boundary.

func isDigit(c byte) bool  { return c-'0' < 10 }
func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isWord(c byte) bool   { return isAlnum(c) || c == '_' }
func isHex(c byte) bool    { return isDigit(c) || (c|0x20)-'a' < 6 }
func isUpper(c byte) bool  { return c-'A' < 26 }

// lower folds an ASCII upper-case letter to lower case; other bytes are
// returned unchanged.
func lower(c byte) byte {
	if isUpper(c) {
		return c + ('a' - 'A')
	}
	return c
}

// at returns text[i], or 0 (a boundary byte) outside the text.
func at(text []byte, i int) byte {
	if i < 0 || i >= len(text) {
		return 0
	}
	return text[i]
}

// digitRun returns how many digits start at text[i], counting at most limit.
func digitRun(text []byte, i, limit int) int {
	n := 0
	for i+n < len(text) && n < limit && isDigit(text[i+n]) {
		n++
	}
	return n
}

// hasPrefix reports whether text[i:] starts with s, exactly.
func hasPrefix(text []byte, i int, s string) bool {
	return i >= 0 && len(text)-i >= len(s) && string(text[i:i+len(s)]) == s
}

// resolver turns the candidates of a detector, fed in increasing order of
// start, into the reported matches. A candidate is reported unless it
// starts inside an earlier candidate (reported or not). Because the rule
// looks only at candidates that overlap this one, it keeps Find local: the
// outcome for a start s depends on text within MaxLen of s, whatever came
// before (a greedy "skip past the last reported match" would let a chain of
// overlapping candidates carry a decision arbitrarily far).
type resolver struct {
	cover int // largest end of any candidate so far
}

func (r *resolver) add(dst []Match, s, e int) []Match {
	if s >= r.cover {
		dst = append(dst, Match{Start: s, End: e})
	}
	r.cover = max(r.cover, e)
	return dst
}

// addTail is add for detectors without a validity rule (keywords): a
// candidate that starts inside an earlier one is reported for the part not
// yet covered, so that every candidate byte is covered (a redacted text
// shows no occurrence) while matches stay disjoint. The rule is as local
// as add's.
func (r *resolver) addTail(dst []Match, s, e int) []Match {
	if e > r.cover {
		dst = append(dst, Match{Start: max(s, r.cover), End: e})
		r.cover = e
	}
	return dst
}

// nextDigit returns the index of the first ASCII digit in text[i:], or
// len(text). It tests eight bytes at a time: prose has few digits, and the
// digit-driven scanners spend most of their time here.
func nextDigit(text []byte, i int) int {
	// Sixteen bytes per round: one branch for two words.
	for ; i+16 <= len(text); i += 16 {
		w := text[i : i+16 : i+16]
		m0 := digitMask(binary.LittleEndian.Uint64(w))
		m1 := digitMask(binary.LittleEndian.Uint64(w[8:]))
		if m0|m1 != 0 {
			if m0 != 0 {
				return i + bits.TrailingZeros64(m0)/8
			}
			return i + 8 + bits.TrailingZeros64(m1)/8
		}
	}
	for ; i+8 <= len(text); i += 8 {
		if m := digitMask(binary.LittleEndian.Uint64(text[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(text); i++ {
		if isDigit(text[i]) {
			return i
		}
	}
	return len(text)
}

// digitMask sets the top bit of each byte of x that is '0'..'9', and no
// other bit. Per byte, with y = b&0x7f: 185-y >= 128 iff y < ':', y+80 >=
// 128 iff y > '/', and ^b keeps bytes below 0x80; no byte carries into the
// next.
func digitMask(x uint64) uint64 {
	const ones, low7, high = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	y := x & low7
	return (ones*(127+':') - y) & ^x & (y + ones*(127-'/')) & high
}

// indexFrom returns the index of the first c in text[from:], or -1. It
// looks at a few bytes itself first: when c is dense (adversarial input),
// a vector search per occurrence costs more than it saves.
func indexFrom(text []byte, from int, c byte) int {
	end := min(len(text), from+16)
	for i := from; i < end; i++ {
		if text[i] == c {
			return i
		}
	}
	if end == len(text) {
		return -1
	}
	k := bytes.IndexByte(text[end:], c)
	if k < 0 {
		return -1
	}
	return end + k
}

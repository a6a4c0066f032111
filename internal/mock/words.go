package mock

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// vocab is the word list replies are drawn from. Every word is lower-case ASCII with no
// character that needs escaping in JSON, so tokens are appended to the wire verbatim.
// Each entry carries its leading space; the first token of a reply drops it.
var vocab = [...]string{
	" the", " of", " and", " to", " in", " is", " that", " for", " it", " as",
	" with", " was", " on", " be", " at", " by", " this", " had", " not", " are",
	" but", " from", " or", " have", " an", " they", " which", " one", " you", " were",
	" all", " we", " her", " she", " there", " would", " their", " will", " when", " who",
	" him", " been", " has", " more", " if", " no", " out", " so", " said", " what",
	" up", " its", " about", " into", " than", " them", " can", " only", " other", " new",
	" some", " could", " time", " these", " two", " may", " then", " do", " first", " any",
	" my", " now", " such", " like", " our", " over", " man", " me", " even", " most",
	" made", " after", " also", " did", " many", " before", " must", " through", " back", " years",
	" where", " much", " your", " way", " well", " down", " should", " because", " each", " just",
	" those", " people", " how", " too", " little", " state", " good", " very", " make", " world",
	" still", " own", " see", " men", " work", " long", " get", " here", " between", " both",
	" life", " being", " under", " never", " day", " same", " another", " know", " while", " last",
	" might", " us", " great", " old", " year", " off", " come", " since", " against", " go",
	" came", " right", " used", " take", " three", " river", " signal", " gateway", " token", " stream",
	" mock", " latency", " request", " model", " reply", " server", " cloud", " light", " water", " stone",
}

// mix64 is the splitmix64 finalizer: a cheap bijective scrambler of 64-bit values.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashBytes hashes b eight bytes at a time, seeded. It only needs to spread similar
// requests apart; it is not meant to resist adversaries.
func hashBytes(seed uint64, b []byte) uint64 {
	h := seed ^ 0x9e3779b97f4a7c15 ^ uint64(len(b))*0xff51afd7ed558ccd
	for len(b) >= 8 {
		h = bits.RotateLeft64(h^mix64(binary.LittleEndian.Uint64(b)), 29) * 0x9e3779b97f4a7c15
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	return mix64(h ^ mix64(tail+uint64(len(b))))
}

// rng is a splitmix64 generator. Its zero value is usable.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// tokenSource produces the tokens of one reply, either words drawn from vocab or slices
// of an echoed text. It can be rewound to produce the same tokens again.
type tokenSource struct {
	seed uint64
	r    rng
	echo []byte // echoed text; nil when the reply is drawn from vocab
	pos  int    // read position in echo
	k    int    // tokens produced since the last reset
}

func (t *tokenSource) reset() {
	t.r.s = t.seed
	t.pos = 0
	t.k = 0
}

// next returns the raw text of the next token. The slice is valid until t is reused.
func (t *tokenSource) next() []byte {
	k := t.k
	t.k++
	if t.echo != nil {
		start := t.pos
		t.pos = nextWordEnd(t.echo, start)
		return t.echo[start:t.pos]
	}
	w := vocab[t.r.next()%uint64(len(vocab))]
	if k == 0 {
		w = w[1:]
	}
	return stringBytes(w)
}

// nextWordEnd returns the end of the token starting at i: leading whitespace, then a
// run of non-whitespace.
func nextWordEnd(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	for i < len(b) && !isSpace(b[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// countWords returns how many tokens nextWordEnd splits b into. Trailing whitespace
// belongs to no token.
func countWords(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		j := nextWordEnd(b, i)
		if j == i {
			break
		}
		// A run of pure whitespace at the end is not a token.
		allSpace := true
		for _, c := range b[i:j] {
			if !isSpace(c) {
				allSpace = false
				break
			}
		}
		if allSpace {
			break
		}
		n++
		i = j
	}
	return n
}

// tokensForSize returns how many vocab tokens, drawn from seed, make at least size bytes.
func tokensForSize(seed uint64, size int) int {
	if size <= 0 {
		return 0
	}
	t := tokenSource{seed: seed}
	t.reset()
	n, total := 0, 0
	for total < size {
		total += len(t.next())
		n++
	}
	return n
}

// estimateTokens turns a byte count of prompt text into a token count: one token per
// four bytes, rounded up, at least one.
func estimateTokens(textBytes int) int {
	if textBytes <= 0 {
		return 1
	}
	return (textBytes + 3) / 4
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as the body of a JSON string (without the quotes).
func appendJSONString(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendQuoted appends s as a quoted JSON string.
func appendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = appendJSONString(dst, s)
	return append(dst, '"')
}

// stringBytes views s as a byte slice without copying. The result must not be modified.
// See docs/decisions/0006-unsafe-string-views.md.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// bytesString views b as a string without copying. b must not change while the string
// is in use.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

package walk

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON walker over raw bytes: it finds values and their exact
// offsets without decoding or allocating. It is lenient: on malformed input
// it stops early (ok false), never panics and never loops forever. Callers
// that rewrite a body validate it first.
// See docs/decisions/0007-json-walker.md.

// SkipWS returns the index of the first non-space byte at or after i.
func SkipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// StrEnd returns the index just past the string starting at b[i] (a '"'),
// and whether it holds escapes; end -1 when it is not terminated.
func StrEnd(b []byte, i int) (end int, esc bool) {
	// Most strings in events and bodies are short: eight bytes at a time
	// (a word with no quote or backslash is skipped whole) beats IndexByte's
	// setup there.
	j := i + 1
	for lim := min(len(b), j+32); j < lim; {
		if j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			m := zeroByte(w^quotes) | zeroByte(w^backslashes)
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3 // the first '"' or '\\'
		}
		switch b[j] {
		case '"':
			return j + 1, esc
		case '\\':
			esc = true
			j += 2
		default:
			j++
		}
	}
	if j > len(b) {
		return -1, esc
	}
	for j <= len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1, esc
		}
		q := j + k
		if bytes.IndexByte(b[j:q], '\\') < 0 {
			return q + 1, esc
		}
		esc = true
		// The quote is escaped when an odd run of backslashes precedes it
		// (the run starts after b[j-1], which is not a backslash).
		n := 0
		for p := q - 1; p >= j && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, esc
		}
		j = q + 1
	}
	return -1, esc
}

const (
	lows        = 0x0101010101010101
	highs       = 0x8080808080808080
	quotes      = '"' * lows
	backslashes = '\\' * lows
	braceOpens  = '{' * lows
	braceCloses = '}' * lows
)

// nextStructural returns the index of the first '"', '{', '}', '[' or ']'
// at or after j (len(b) when there is none), eight bytes at a time: OR-ing
// 0x20 into a byte maps '[' to '{' and ']' to '}', and no other byte to
// either, so three comparisons cover the five.
func nextStructural(b []byte, j int) int {
	for ; j+8 <= len(b); j += 8 {
		w := binary.LittleEndian.Uint64(b[j:])
		f := w | 0x20*lows
		if m := zeroByte(w^quotes) | zeroByte(f^braceOpens) | zeroByte(f^braceCloses); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	for ; j < len(b); j++ {
		switch b[j] {
		case '"', '{', '}', '[', ']':
			return j
		}
	}
	return j
}

// zeroByte returns w with the high bit set in its lowest zero byte (and
// maybe in higher bytes: only the lowest set bit is exact).
func zeroByte(w uint64) uint64 { return (w - lows) &^ w & highs }

// ValueEnd returns the index just past the value starting at b[i] (a
// non-space byte), or -1 when it is cut short.
func ValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e, _ := StrEnd(b, i)
		return e
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			j = nextStructural(b, j)
			if j >= len(b) {
				break
			}
			switch b[j] {
			case '"':
				e, _ := StrEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
			return j
		}
		j++
	}
	return j
}

// Span is a value's bytes [Start, End) in the walked buffer. An object or
// array returned by Iter.Next has End -1 (not known yet: found when it is
// walked, or by EndOf); a zero Span is no value.
type Span struct{ Start, End int }

// Closed remembers the last object or array whose walk reached its closing
// bracket, so that its parent resumes there instead of scanning it again.
// It describes one buffer: reset it (zero value) before walking another.
type Closed struct{ start, end int }

// Iter walks the members of an object or the elements of an array.
type Iter struct {
	b     []byte
	start int // the opening bracket
	i     int // next byte to look at
	lazy  int // start of the last value returned when it is an object or array; -1 none
	obj   bool
	index int     // number of values returned so far
	kesc  bool    // the last key returned holds an escape
	reg   *Closed // nil: none
}

// Open starts walking the object or array v; ok false when v is neither.
// reg, when not nil, is shared by the iterators of one buffer.
func Open(b []byte, v Span, reg *Closed) (it Iter, ok bool) {
	if v.Start < 0 || v.Start >= len(b) || (v.End >= 0 && v.End-v.Start < 2) {
		return it, false
	}
	switch b[v.Start] {
	case '{':
		return Iter{b: b, start: v.Start, i: v.Start + 1, lazy: -1, obj: true, reg: reg}, true
	case '[':
		return Iter{b: b, start: v.Start, i: v.Start + 1, lazy: -1, reg: reg}, true
	}
	return it, false
}

// Obj reports whether the iterator walks an object (else an array).
func (it *Iter) Obj() bool { return it.obj }

// Pos is the index of the next byte the iterator looks at.
func (it *Iter) Pos() int { return it.i }

// Skip moves the walk n bytes on, past members the caller has read itself
// (whole members, each with its comma): the count of values returned
// stays, so a second comma after them is malformed, as in a walk that read
// them.
func (it *Iter) Skip(n int) { it.i += n }

// Next returns the next member (key is the raw key, quotes included; empty
// for arrays) and its value.
func (it *Iter) Next() (key Span, val Span, ok bool) {
	b := it.b
	if it.lazy >= 0 {
		if it.reg != nil && it.reg.start == it.lazy && it.reg.end > it.lazy {
			it.i = it.reg.end
		} else if it.i = ValueEnd(b, it.lazy); it.i < 0 {
			it.i = len(b)
			return key, val, false
		}
		it.lazy = -1
	}
	i := SkipWS(b, it.i)
	if i < len(b) && b[i] == ',' && it.index > 0 {
		i = SkipWS(b, i+1)
	}
	if i >= len(b) {
		return key, val, false
	}
	if c := b[i]; c == '}' || c == ']' {
		if it.reg != nil {
			*it.reg = Closed{it.start, i + 1}
		}
		it.i = i
		return key, val, false
	}
	if it.obj {
		if b[i] != '"' {
			return key, val, false
		}
		e, esc := StrEnd(b, i)
		if e < 0 {
			return key, val, false
		}
		key, it.kesc = Span{i, e}, esc
		i = SkipWS(b, e)
		if i >= len(b) || b[i] != ':' {
			return key, val, false
		}
		i = SkipWS(b, i+1)
		if i >= len(b) {
			return key, val, false
		}
	}
	it.index++
	if c := b[i]; c == '{' || c == '[' {
		it.lazy = i
		return key, Span{i, -1}, true
	}
	e := ValueEnd(b, i)
	if e <= i {
		return key, val, false
	}
	it.i = e
	return key, Span{i, e}, true
}

// EndOf returns v with its end found when it is not known yet; end -1 when
// v is cut short.
func EndOf(b []byte, v Span) Span {
	if v.End < 0 && v.Start >= 0 && v.Start < len(b) {
		v.End = ValueEnd(b, v.Start)
	}
	return v
}

// Get returns the value of the first member of object v named name.
func Get(b []byte, v Span, name string) (Span, bool) {
	it, ok := Open(b, v, nil)
	if !ok || !it.obj {
		return Span{}, false
	}
	for {
		k, val, ok := it.Next()
		if !ok {
			return Span{}, false
		}
		if it.kesc {
			if KeyIs(b, k, name) {
				return val, true
			}
		} else if string(b[k.Start+1:k.End-1]) == name {
			return val, true
		}
	}
}

// KeyIs reports whether the raw key k decodes to name.
func KeyIs(b []byte, k Span, name string) bool {
	raw := b[k.Start+1 : k.End-1]
	if len(raw) == len(name) && string(raw) == name {
		return true
	}
	if len(raw) <= len(name) || !HasBackslash(raw) {
		return false
	}
	var buf [64]byte
	if len(raw) > len(buf)*6 {
		return false
	}
	d := AppendUnescaped(buf[:0], raw)
	return string(d) == name
}

// KeyText returns the name that k, the key Next last returned, decodes
// to, for comparing with the short escape-free names the walkers look for:
// its raw bytes when it holds no escape (no copy), else its decoding into
// buf; nil when it is too long to decode to such a name. It agrees with
// KeyIs: KeyIs(b, k, n) is string(it.KeyText(k, buf)) == n for every such n.
func (it *Iter) KeyText(k Span, buf *[64]byte) []byte {
	return KeyName(it.b[k.Start+1:k.End-1], it.kesc, buf)
}

// KeyName is the text of a key's raw bytes (between the quotes): raw itself
// when esc is false (it holds no escape), else its decoding into buf; nil
// when it is too long to decode to a name of at most 64 bytes.
func KeyName(raw []byte, esc bool, buf *[64]byte) []byte {
	if !esc {
		return raw
	}
	if len(raw) > len(buf)*6 {
		return nil
	}
	return AppendUnescaped(buf[:0], raw)
}

// HasBackslash reports whether s holds a backslash (an escape).
func HasBackslash(s []byte) bool {
	for _, c := range s {
		if c == '\\' {
			return true
		}
	}
	return false
}

// IsString and IsNull classify a value by its first bytes.
func IsString(b []byte, v Span) bool { return v.End-v.Start >= 2 && b[v.Start] == '"' }
func IsNull(b []byte, v Span) bool   { return v.End-v.Start == 4 && string(b[v.Start:v.End]) == "null" }

// IntValue parses a small non-negative integer value; ok false otherwise.
func IntValue(b []byte, v Span) (int, bool) {
	if v.End <= v.Start || v.End-v.Start > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b[v.Start:v.End] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// AppendUnescaped appends the decoded form of raw (a JSON string's bytes
// between the quotes) to dst. Invalid escapes are kept as written; lone
// surrogates become U+FFFD, as encoding/json does.
func AppendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		k := bytes.IndexByte(raw[i:], '\\')
		if k < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+k]...)
		i += k
		if i+1 >= len(raw) {
			return append(dst, '\\')
		}
		i++
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := Hex4(raw, i+1)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2, ok = Hex4(raw, i+3)
					if !ok {
						r2 = -1
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					dst = utf8.AppendRune(dst, d)
					i += 6
					continue
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, '\\', raw[i])
		}
	}
	return dst
}

// Hex4 reads the four hex digits of a \uXXXX escape at s[i:].
func Hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Decoded returns the text of string value v: the raw bytes when it holds
// no escapes (no copy), else its decoding appended to buf[:0].
func Decoded(b []byte, v Span, esc bool, buf *[]byte) []byte {
	raw := b[v.Start+1 : v.End-1]
	if !esc {
		return raw
	}
	*buf = AppendUnescaped((*buf)[:0], raw)
	return *buf
}

package guard

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

// skipWS returns the index of the first non-space byte at or after i.
func skipWS(b []byte, i int) int {
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

// strEnd returns the index just past the string starting at b[i] (a '"'),
// and whether it holds escapes; end -1 when it is not terminated.
func strEnd(b []byte, i int) (end int, esc bool) {
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

// valueEnd returns the index just past the value starting at b[i] (a
// non-space byte), or -1 when it is cut short.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e, _ := strEnd(b, i)
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
				e, _ := strEnd(b, j)
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

// span is a value's bytes [start, end) in the walked buffer. An object or
// array returned by iter.next has end -1 (not known yet: found when it is
// walked, or by endOf); a zero span is no value.
type span struct{ start, end int }

// closed remembers the last object or array whose walk reached its closing
// bracket, so that its parent resumes there instead of scanning it again.
// It describes one buffer: reset it (zero value) before walking another.
type closed struct{ start, end int }

// iter walks the members of an object or the elements of an array.
type iter struct {
	b     []byte
	start int // the opening bracket
	i     int // next byte to look at
	lazy  int // start of the last value returned when it is an object or array; -1 none
	obj   bool
	index int     // number of values returned so far
	kesc  bool    // the last key returned holds an escape
	reg   *closed // nil: none
}

// open starts walking the object or array v; ok false when v is neither.
// reg, when not nil, is shared by the iterators of one buffer.
func open(b []byte, v span, reg *closed) (it iter, ok bool) {
	if v.start < 0 || v.start >= len(b) || (v.end >= 0 && v.end-v.start < 2) {
		return it, false
	}
	switch b[v.start] {
	case '{':
		return iter{b: b, start: v.start, i: v.start + 1, lazy: -1, obj: true, reg: reg}, true
	case '[':
		return iter{b: b, start: v.start, i: v.start + 1, lazy: -1, reg: reg}, true
	}
	return it, false
}

// next returns the next member (key is the raw key, quotes included; empty
// for arrays) and its value.
func (it *iter) next() (key span, val span, ok bool) {
	b := it.b
	if it.lazy >= 0 {
		if it.reg != nil && it.reg.start == it.lazy && it.reg.end > it.lazy {
			it.i = it.reg.end
		} else if it.i = valueEnd(b, it.lazy); it.i < 0 {
			it.i = len(b)
			return key, val, false
		}
		it.lazy = -1
	}
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ',' && it.index > 0 {
		i = skipWS(b, i+1)
	}
	if i >= len(b) {
		return key, val, false
	}
	if c := b[i]; c == '}' || c == ']' {
		if it.reg != nil {
			*it.reg = closed{it.start, i + 1}
		}
		it.i = i
		return key, val, false
	}
	if it.obj {
		if b[i] != '"' {
			return key, val, false
		}
		e, esc := strEnd(b, i)
		if e < 0 {
			return key, val, false
		}
		key, it.kesc = span{i, e}, esc
		i = skipWS(b, e)
		if i >= len(b) || b[i] != ':' {
			return key, val, false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return key, val, false
		}
	}
	it.index++
	if c := b[i]; c == '{' || c == '[' {
		it.lazy = i
		return key, span{i, -1}, true
	}
	e := valueEnd(b, i)
	if e <= i {
		return key, val, false
	}
	it.i = e
	return key, span{i, e}, true
}

// endOf returns v with its end found when it is not known yet; end -1 when
// v is cut short.
func endOf(b []byte, v span) span {
	if v.end < 0 && v.start >= 0 && v.start < len(b) {
		v.end = valueEnd(b, v.start)
	}
	return v
}

// get returns the value of the first member of object v named name.
func get(b []byte, v span, name string) (span, bool) {
	it, ok := open(b, v, nil)
	if !ok || !it.obj {
		return span{}, false
	}
	for {
		k, val, ok := it.next()
		if !ok {
			return span{}, false
		}
		if it.kesc {
			if keyIs(b, k, name) {
				return val, true
			}
		} else if string(b[k.start+1:k.end-1]) == name {
			return val, true
		}
	}
}

// keyIs reports whether the raw key k decodes to name.
func keyIs(b []byte, k span, name string) bool {
	raw := b[k.start+1 : k.end-1]
	if len(raw) == len(name) && string(raw) == name {
		return true
	}
	if len(raw) <= len(name) || !hasBackslash(raw) {
		return false
	}
	var buf [64]byte
	if len(raw) > len(buf)*6 {
		return false
	}
	d := appendUnescaped(buf[:0], raw)
	return string(d) == name
}

// keyText returns the name that k, the key next last returned, decodes
// to, for comparing with the short escape-free names the walkers look for:
// its raw bytes when it holds no escape (no copy), else its decoding into
// buf; nil when it is too long to decode to such a name. It agrees with
// keyIs: keyIs(b, k, n) is string(it.keyText(k, buf)) == n for every such n.
func (it *iter) keyText(k span, buf *[64]byte) []byte {
	return keyName(it.b[k.start+1:k.end-1], it.kesc, buf)
}

// keyName is the text of a key's raw bytes (between the quotes): raw itself
// when esc is false (it holds no escape), else its decoding into buf; nil
// when it is too long to decode to a name of at most 64 bytes.
func keyName(raw []byte, esc bool, buf *[64]byte) []byte {
	if !esc {
		return raw
	}
	if len(raw) > len(buf)*6 {
		return nil
	}
	return appendUnescaped(buf[:0], raw)
}

func hasBackslash(s []byte) bool {
	for _, c := range s {
		if c == '\\' {
			return true
		}
	}
	return false
}

// isString, isNull, isNumber classify a value by its first byte.
func isString(b []byte, v span) bool { return v.end-v.start >= 2 && b[v.start] == '"' }
func isNull(b []byte, v span) bool   { return v.end-v.start == 4 && string(b[v.start:v.end]) == "null" }

// intValue parses a small non-negative integer value; ok false otherwise.
func intValue(b []byte, v span) (int, bool) {
	if v.end <= v.start || v.end-v.start > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b[v.start:v.end] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// appendUnescaped appends the decoded form of raw (a JSON string's bytes
// between the quotes) to dst. Invalid escapes are kept as written; lone
// surrogates become U+FFFD, as encoding/json does.
func appendUnescaped(dst, raw []byte) []byte {
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
			r, ok := hex4(raw, i+1)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2, ok = hex4(raw, i+3)
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

func hex4(s []byte, i int) (rune, bool) {
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

// decoded returns the text of string value v: the raw bytes when it holds
// no escapes (no copy), else its decoding appended to buf[:0].
func decoded(b []byte, v span, esc bool, buf *[]byte) []byte {
	raw := b[v.start+1 : v.end-1]
	if !esc {
		return raw
	}
	*buf = appendUnescaped((*buf)[:0], raw)
	return *buf
}

package walk

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/tidwall/gjson"
)

// Streamed events are checked for valid JSON before the lenient walker
// reads them: an event whose text the walk could miss (truncated, a string
// that never ends, a stray byte) must not reach the client unscanned. The
// commonest events (a chat chunk or an Anthropic text_delta of the exact
// shapes the fast paths match) are valid by construction once their
// strings are (ValidString) and their head came from an event that was
// validated whole; every other event is validated whole (ValidEvent).

// ValidEvent reports whether d, an event's data whose top level is an
// object (RootObject), is valid JSON.
func ValidEvent(d []byte) bool { return gjson.ValidBytes(d) }

// ValidString reports whether the string value v (its quotes included,
// found by StrEnd) is a valid JSON string: no control byte and only valid
// escapes (UTF-8 is not checked, as neither encoding/json.Valid nor gjson
// does). Eight bytes at a time: it runs on every fast-path event.
func ValidString(b []byte, v Span) bool {
	j, end := v.Start+1, v.End-1
	for j < end {
		if j+8 <= end {
			w := binary.LittleEndian.Uint64(b[j:])
			// Bytes below 0x20 or a backslash; the lowest set bit of each
			// test is exact, so of their union too.
			m := (w-0x20*lows)&^w&highs | zeroByte(w^backslashes)
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		}
		switch c := b[j]; {
		case c < 0x20:
			return false
		case c == '\\':
			if j+1 >= end {
				return false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if _, ok := Hex4(b[:end], j+2); !ok {
					return false
				}
				j += 6
			default:
				return false
			}
		default:
			j++
		}
	}
	return true
}

// ValidIndex reports whether the digits d[i:n] are a JSON number (no
// leading zero).
func ValidIndex(d []byte, i, n int) bool {
	return n > i && (d[i] != '0' || n == i+1)
}

// Errors for bodies and events that cannot be read. The guardrails report
// them (package guard re-exports them), hence their text.
var (
	ErrNotObject   = errors.New("guard: body is not a JSON object")
	ErrInvalidJSON = errors.New("guard: body is not valid JSON")
)

// RootObject returns the span of the top-level object of body: from its
// first to its last non-space byte, which must be braces. The inside is
// walked leniently; a body that will be rewritten is validated first.
func RootObject(body []byte) (Span, error) {
	i := SkipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return Span{}, ErrNotObject
	}
	e := len(body)
	for e > i+1 {
		switch body[e-1] {
		case ' ', '\t', '\n', '\r':
			e--
			continue
		}
		break
	}
	if e < i+2 || body[e-1] != '}' {
		return Span{}, ErrInvalidJSON
	}
	return Span{i, e}, nil
}

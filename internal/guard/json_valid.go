package guard

import (
	"encoding/binary"
	"math/bits"

	"github.com/tidwall/gjson"
)

// Streamed events are checked for valid JSON before the lenient walker
// reads them: an event whose text the walk could miss (truncated, a string
// that never ends, a stray byte) must not reach the client unscanned. The
// commonest events (a chat chunk or an Anthropic text_delta of the exact
// shapes the fast paths match) are valid by construction once their
// strings are (validString) and their head came from an event that was
// validated whole; every other event is validated whole (validEvent).

// validEvent reports whether d, an event's data whose top level is an
// object (rootObject), is valid JSON.
func validEvent(d []byte) bool { return gjson.ValidBytes(d) }

// validString reports whether the string value v (its quotes included,
// found by strEnd) is a valid JSON string: no control byte and only valid
// escapes (UTF-8 is not checked, as neither encoding/json.Valid nor gjson
// does). Eight bytes at a time: it runs on every fast-path event.
func validString(b []byte, v span) bool {
	j, end := v.start+1, v.end-1
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
				if _, ok := hex4(b[:end], j+2); !ok {
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

// validIndex reports whether the digits d[i:n] are a JSON number (no
// leading zero).
func validIndex(d []byte, i, n int) bool {
	return n > i && (d[i] != '0' || n == i+1)
}

package guard

import (
	"bytes"
	"strings"

	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// The prefilter. Finding the text of a body (the walk) costs more than
// scanning it: about 0.5 µs for a 650-byte chat reply, most of the output
// check. When every rule of a direction names anchor bytes
// (detect.Finder.Anchors: '@' for e-mail, the last byte of each keyword in
// both ASCII cases), a body whose strings cannot decode to any of them has
// no match, and a vectorised search of the raw body for each anchor says
// so without the walk. A union larger than maxAnchors (the ten digits of
// the SSN, card, phone, IBAN and IP detectors) or a rule without anchors
// (regex, secrets) turns it off.

// maxAnchors is the most anchor bytes the prefilter searches for, one
// bytes.IndexByte pass each.
const maxAnchors = 4

// anchorsOf returns the union of the anchors of rules, or "" when a rule
// names none or the union is larger than maxAnchors.
func anchorsOf(rules []*crule) string {
	var set string
	for _, r := range rules {
		if r.kind != kindFinder {
			return ""
		}
		a := r.finder.Anchors()
		if a == "" {
			return ""
		}
		for i := 0; i < len(a); i++ {
			if strings.IndexByte(set, a[i]) < 0 {
				set += a[i : i+1]
			}
		}
		if len(set) > maxAnchors {
			return ""
		}
	}
	return set
}

// mayHold reports whether the decoded text of the JSON strings in body
// could hold one of the bytes of anchors: whether one is in body as
// written, or an escape could decode to one. False is exact whatever body
// is (valid JSON or not, read as the walker reads it); true may be wrong.
func mayHold(body []byte, anchors string) bool {
	high := false
	for i := 0; i < len(anchors); i++ {
		if bytes.IndexByte(body, anchors[i]) >= 0 {
			return true
		}
		high = high || anchors[i] >= 0x80
	}
	// Every decoded byte is a byte of body, or comes from an escape
	// (walk.AppendUnescaped): \b \f \n \r \t a control byte, \uXXXX its code
	// point (an ASCII byte, or bytes >= 0x80 in UTF-8, U+FFFD for a lone
	// surrogate). Escapes that decode to themselves or stay as written
	// (\" \\ \/, invalid ones) yield bytes of body, searched above. Every
	// backslash is taken as the start of an escape, even an escaped one:
	// that can only answer true more often.
	for i := 0; ; {
		k := bytes.IndexByte(body[i:], '\\')
		if k < 0 {
			return false
		}
		i += k + 1
		if i >= len(body) {
			return false
		}
		var c byte
		switch body[i] {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, ok := walk.Hex4(body, i+1)
			switch {
			case !ok:
				continue
			case r >= 0x80:
				if high {
					return true
				}
				continue
			}
			c = byte(r)
		default:
			continue
		}
		if strings.IndexByte(anchors, c) >= 0 {
			return true
		}
	}
}

package detect

import "bytes"

// emailMaxLen is the longest e-mail address (RFC 5321 path limit).
const emailMaxLen = 254

const (
	maxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63
)

// isLocal reports whether c may appear in the local part of an address.
// This is the practical subset of RFC 5322 atext that real addresses use;
// the other atext characters (! # $ & ' * / = ? ^ ` { | } ~) delimit, so
// that "email=ann@example.com" and "'ann@example.com'" match the address
// alone.
func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// findEmail reports e-mail addresses local@domain: a local part of up to
// 64 letters, digits and . _ % + - (no leading, trailing or doubled dot);
// a domain of at least two dot-separated labels of letters, digits and
// inner hyphens (1-63 bytes each, 253 in all), the last label (TLD) of 2 or
// more letters. The address must not be glued to a longer token: the byte
// before is not a local-part byte (the local part is the whole run of them
// before '@'); the byte after is not '@' nor a
// local-part byte, except '.' not followed by one (sentence end, ellipsis).
// So two addresses never overlap. Quoted local parts, IP-literal domains and
// non-ASCII (IDN) addresses are not reported.
func findEmail(text []byte, dst []Match) []Match {
	var r resolver
	for from := 0; from < len(text); {
		k := bytes.IndexByte(text[from:], '@')
		if k < 0 {
			break
		}
		k += from
		from = k + 1
		if s, e, _ := emailAt(text, k); e > 0 {
			dst = r.add(dst, s, e)
		}
	}
	return dst
}

// emailAt returns the address around the '@' at text[k], or e == 0. s is
// the start of the local part, or -1 when the local part rules the address
// out. far is one past the last byte the domain part looked at: an outcome
// with far > len(text) depended on text not there yet.
func emailAt(text []byte, k int) (s, e, far int) {
	// Local part: the run of local bytes before '@'.
	s = k
	for s > 0 && isLocal(text[s-1]) {
		if k-s == maxLocalLen {
			return -1, 0, 0
		}
		s--
	}
	if s == k || text[s] == '.' || text[k-1] == '.' {
		return -1, 0, 0
	}
	for j := s; j < k-1; j++ {
		if text[j] == '.' && text[j+1] == '.' {
			return -1, 0, 0
		}
	}
	// Domain: labels joined by single dots. Every byte up to pos+l (the one
	// that ends a label) or pos+1 (after a '.') has been looked at.
	pos, labels := k+1, 0
	lastLetters := true
	for {
		l, letters := 0, true
		for isAlnum(at(text, pos+l)) || at(text, pos+l) == '-' {
			if !isLetter(text[pos+l]) {
				letters = false
			}
			l++
			if l > maxLabelLen {
				return s, 0, pos + l
			}
		}
		far = pos + l + 1
		if l == 0 || text[pos] == '-' || text[pos+l-1] == '-' {
			return s, 0, far
		}
		labels++
		lastLetters = letters && l >= 2
		pos += l
		if pos-(k+1) > maxDomainLen || pos-s > emailMaxLen {
			return s, 0, far
		}
		if at(text, pos) != '.' {
			break
		}
		far = pos + 2
		if !isAlnum(at(text, pos+1)) {
			break
		}
		pos++
	}
	if labels < 2 || !lastLetters {
		return s, 0, far
	}
	// Not glued to a longer address-like token: no local-part byte or '@'
	// may follow, nor '.' and a local-part byte other than '.' (an
	// ellipsis is fine). This also makes two addresses never overlap.
	// Both bytes were looked at above.
	switch n := at(text, pos); {
	case n == '@' || (isLocal(n) && n != '.'):
		return s, 0, far
	case n == '.' && isLocal(at(text, pos+1)) && at(text, pos+1) != '.':
		return s, 0, far
	}
	return s, pos, far
}

// pendingEmail returns the start of the earliest candidate that more text
// could create or change: the trailing run of local-part bytes (a later '@'
// would make it a local part) when it could be one, and every address, or
// would-be address, whose domain or the byte or two after it reaches the
// end of the text ("ann@x.io" may go on, "ann@x.io." may be "ann@x.io.uk").
func pendingEmail(text []byte) int {
	n := len(text)
	p := n
	s := n
	for s > 0 && isLocal(text[s-1]) && n-s <= maxLocalLen {
		s--
	}
	if s < n && n-s <= maxLocalLen && (s == 0 || !isLocal(text[s-1])) && text[s] != '.' &&
		!bytes.Contains(text[s:], []byte("..")) {
		p = s
	}
	lo := max(0, n-emailMaxLen-2)
	for k := lo; k < n; k++ {
		j := bytes.IndexByte(text[k:], '@')
		if j < 0 {
			break
		}
		k += j
		if s, _, far := emailAt(text, k); s >= 0 && far > n {
			return min(p, s)
		}
	}
	return p
}

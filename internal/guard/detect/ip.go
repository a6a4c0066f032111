package detect

// ipMaxLen is the longest IP match, an IPv6 address with an embedded IPv4
// one: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
const ipMaxLen = 45

// findIP reports IPv4 and IPv6 addresses.
//
// IPv4: four decimal octets 0-255 joined by dots, without leading zeros
// ("010" is octal to some parsers and decimal to others, so such a quad is
// not reported at all). It must not be glued to a letter, digit, '_' or a
// further ".digit" (1.2.3.4.5 is not an address); a ':' before it is fine
// (host:10.0.0.1).
//
// IPv6: eight groups of 1-4 hex digits joined by ':', or fewer with one
// "::", optionally ending in an embedded IPv4 address (::ffff:10.0.0.1).
// Zone suffixes (%eth0) are not part of the match. A compressed form must
// contain a decimal digit, so C++-like "dead::beef" or a bare "::" are not
// reported; "::1" and "fe80::" are.
func findIP(text []byte, dst []Match) []Match {
	var r resolver
	past := false
	// Every address has a ':' or '.' within its first five bytes: find the
	// separators, then the run of hex digits before each. Candidate starts
	// come out in increasing order (the run before a separator holds no
	// other separator).
	colon, dot := -2, -2 // next ':' / '.' (-1: none left, -2: not searched)
	for p := 0; p < len(text); p++ {
		if colon != -1 && colon < p {
			colon = indexFrom(text, p, ':')
		}
		if dot != -1 && dot < p {
			dot = indexFrom(text, p, '.')
		}
		switch {
		case colon < 0 && dot < 0:
			return dst
		case colon < 0:
			p = dot
		case dot < 0:
			p = colon
		default:
			p = min(colon, dot)
		}
		if s, e := ipAt(text, &past, p); e > 0 {
			dst = r.add(dst, s, e)
		}
	}
	return dst
}

// ipAt tries the address whose first separator is text[p] (':' or '.'):
// it starts at the run of hex digits before p. It returns the start and the
// end, or e == 0.
func ipAt(text []byte, past *bool, p int) (s, e int) {
	h := 0
	for h < 5 && p-h > 0 && isHex(text[p-h-1]) {
		h++
	}
	s = p - h
	prev := at(text, s-1)
	if h == 5 || isWord(prev) || prev == '.' {
		return s, 0 // no group or octet is that long; glued
	}
	// An IPv6 address has its first separator ':', an IPv4 one '.'.
	if text[p] == ':' {
		if prev != ':' {
			e = ipv6At(text, past, s)
		}
	} else if h > 0 && isDigit(text[s]) {
		e = ipv4At(text, past, s)
	}
	return s, e
}

// pendingIP returns the start of the earliest address that more text
// could create or change: the trailing run of up to four hex digits after
// a boundary (a separator may follow), and every address whose reading
// depended on bytes past the end of the text. Starts 48 or more bytes
// before the end are decided.
func pendingIP(text []byte) int {
	n := len(text)
	// A reading goes on only over hex digits, ':' and '.'.
	if c := at(text, n-1); !isHex(c) && c != ':' && c != '.' {
		return n
	}
	p := n
	h := 0
	for h < 5 && n-h > 0 && isHex(text[n-h-1]) {
		h++
	}
	if s := n - h; h > 0 && h < 5 {
		prev := at(text, s-1)
		if !isWord(prev) && prev != '.' && (prev != ':' || isDigit(text[s])) {
			p = s
		}
	}
	past := false
	for q := max(0, n-ipMaxLen-2); q < n; q++ {
		if c := text[q]; c != ':' && c != '.' {
			continue
		}
		past = false
		if s, _ := ipAt(text, &past, q); past {
			return min(p, s)
		}
	}
	return p
}

// ipv4At returns the end of the IPv4 address starting at text[i], or 0.
func ipv4At(text []byte, past *bool, i int) int {
	e := dottedQuad(text, past, i)
	if e == 0 {
		return 0
	}
	if n := atp(text, e, past); isWord(n) || (n == '.' && isDigit(atp(text, e+1, past))) {
		return 0
	}
	return e
}

// dottedQuad returns the end of four octets starting at text[i], or 0. It
// does not look past the last octet.
func dottedQuad(text []byte, past *bool, i int) int {
	pos := i
	for k := range 4 {
		if k > 0 {
			if atp(text, pos, past) != '.' {
				return 0
			}
			pos++
		}
		l := digitRunP(text, pos, 4, past)
		if l == 0 || l > 3 || (l > 1 && text[pos] == '0') {
			return 0
		}
		v := 0
		for _, d := range text[pos : pos+l] {
			v = v*10 + int(d-'0')
		}
		if v > 255 {
			return 0
		}
		pos += l
	}
	return pos
}

// ipv6At returns the end of the IPv6 address starting at text[i], or 0.
func ipv6At(text []byte, past *bool, i int) int {
	pos, groups := i, 0
	compressed, digit := false, false
	if atp(text, pos, past) == ':' {
		if atp(text, pos+1, past) != ':' {
			return 0
		}
		compressed = true
		pos += 2
	}
scan:
	for {
		h := 0
		for h < 5 && isHex(atp(text, pos+h, past)) {
			if isDigit(text[pos+h]) {
				digit = true
			}
			h++
		}
		if h == 0 {
			// Only after "::": the address ends with it (fe80::).
			break
		}
		if atp(text, pos+h, past) == '.' {
			// An embedded IPv4 address ends the address.
			e := dottedQuad(text, past, pos)
			if e == 0 {
				return 0
			}
			groups += 2
			pos, digit = e, true
			break
		}
		if h > 4 {
			return 0
		}
		groups++
		pos += h
		if groups > 8 || atp(text, pos, past) != ':' {
			break
		}
		switch next := atp(text, pos+1, past); {
		case next == ':':
			if compressed {
				return 0
			}
			compressed = true
			pos += 2
		case isHex(next):
			pos++
		default:
			// A trailing ':' is punctuation, not part of the address.
			break scan
		}
	}
	if compressed {
		if groups > 7 || !digit {
			return 0
		}
	} else if groups != 8 {
		return 0
	}
	n := atp(text, pos, past)
	if isWord(n) || (n == '.' && isDigit(atp(text, pos+1, past))) {
		return 0
	}
	if n == ':' && (isHex(atp(text, pos+1, past)) || atp(text, pos+1, past) == ':') {
		return 0
	}
	return pos
}

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
		h := 0
		for h < 5 && p-h > 0 && isHex(text[p-h-1]) {
			h++
		}
		s := p - h
		prev := at(text, s-1)
		if h == 5 || isWord(prev) || prev == '.' {
			continue // no group or octet is that long; glued
		}
		// An IPv6 address has its first separator ':', an IPv4 one '.'.
		e := 0
		if text[p] == ':' {
			if prev != ':' {
				e = ipv6At(text, s)
			}
		} else if h > 0 && isDigit(text[s]) {
			e = ipv4At(text, s)
		}
		if e > 0 {
			dst = r.add(dst, s, e)
		}
	}
	return dst
}

// ipv4At returns the end of the IPv4 address starting at text[i], or 0.
func ipv4At(text []byte, i int) int {
	e := dottedQuad(text, i)
	if e == 0 {
		return 0
	}
	if n := at(text, e); isWord(n) || (n == '.' && isDigit(at(text, e+1))) {
		return 0
	}
	return e
}

// dottedQuad returns the end of four octets starting at text[i], or 0. It
// does not look past the last octet.
func dottedQuad(text []byte, i int) int {
	pos := i
	for k := range 4 {
		if k > 0 {
			if at(text, pos) != '.' {
				return 0
			}
			pos++
		}
		l := digitRun(text, pos, 4)
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
func ipv6At(text []byte, i int) int {
	pos, groups := i, 0
	compressed, digit := false, false
	if at(text, pos) == ':' {
		if at(text, pos+1) != ':' {
			return 0
		}
		compressed = true
		pos += 2
	}
scan:
	for {
		h := 0
		for h < 5 && isHex(at(text, pos+h)) {
			if isDigit(at(text, pos+h)) {
				digit = true
			}
			h++
		}
		if h == 0 {
			// Only after "::": the address ends with it (fe80::).
			break
		}
		if at(text, pos+h) == '.' {
			// An embedded IPv4 address ends the address.
			e := dottedQuad(text, pos)
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
		if groups > 8 || at(text, pos) != ':' {
			break
		}
		switch next := at(text, pos+1); {
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
	n := at(text, pos)
	if isWord(n) || (n == '.' && isDigit(at(text, pos+1))) {
		return 0
	}
	if n == ':' && (isHex(at(text, pos+1)) || at(text, pos+1) == ':') {
		return 0
	}
	return pos
}

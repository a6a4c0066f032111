package detect

import "encoding/binary"

// cardMaxLen is the longest card match: 19 digits in groups 4-4-4-4-3.
const cardMaxLen = 23

// findCard reports payment card numbers: 13 to 19 digits in a row, or
// grouped 4-4-4-4, 4-4-4-4-3, 4-6-5 or 4-6-4 by single spaces or dashes
// (the same separator throughout), whose first digits name a card network
// (see issuerOK) and whose Luhn checksum is right.
func findCard(text []byte, dst []Match) []Match {
	var r resolver
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			if i = nextDigit(text, i); i == len(text) {
				break
			}
		}
		// Both forms start with four digits.
		if p := at(text, i-1); !isWord(p) && p != '.' && isDigit(at(text, i+3)) {
			if e := cardAt(text, i); e > 0 {
				dst = r.add(dst, i, e)
			}
		}
		// No card starts inside a run of digits; a separator may follow.
		for i++; i < len(text) && isDigit(text[i]); i++ {
		}
		if i+1 < len(text) && isDigit(text[i+1]) {
			i++
		}
	}
	return dst
}

// cardAt returns the end of the card number starting at text[i], or 0.
// Of several readings (4-4-4-4 then a 3-digit group) the longest valid one
// wins.
func cardAt(text []byte, i int) int {
	var sums luhnSums
	g := digitRun(text, i, 20)
	if g >= 13 && g <= 19 {
		sums.add(text[i : i+g])
		if isWord(at(text, i+g)) || !issuerOK(text[i:i+g]) || !sums.valid(g) {
			return 0
		}
		return i + g
	}
	sep := at(text, i+4)
	if g != 4 || (sep != ' ' && sep != '-') || !issuerOK(text[i:i+4]) {
		return 0
	}
	group := func(pos, limit int) int { return cardGroup(text, pos, sep, limit) }
	sums.add(text[i : i+4])
	switch group(i+4, 7) {
	case 6: // 4-6-5 (Amex) or 4-6-4 (Diners)
		sums.add(text[i+5 : i+11])
		g3 := group(i+11, 6)
		e := i + 12 + g3
		if (g3 != 5 && g3 != 4) || isWord(at(text, e)) {
			return 0
		}
		sums.add(text[i+12 : e])
		if sums.valid(10 + g3) {
			return e
		}
	case 4: // 4-4-4-4, optionally -3
		if !quadShape(text, i, sep) {
			return 0
		}
		sums.add(text[i+5 : i+9])
		sums.add(text[i+10 : i+14])
		sums.add(text[i+15 : i+19])
		if group(i+19, 4) == 3 && !isWord(at(text, i+23)) {
			long := sums
			long.add(text[i+20 : i+23])
			if long.valid(19) {
				return i + 23
			}
		}
		if !isWord(at(text, i+19)) && sums.valid(16) {
			return i + 19
		}
	}
	return 0
}

// quadShape reports whether text[i:] starts "dddd dddd dddd dddd" with
// sep between the groups and no digit after them. It tests the 19 bytes as
// three overlapping words: on input made of such groups it is the hot path.
func quadShape(text []byte, i int, sep byte) bool {
	if len(text)-i < 19 || text[i+4] != sep || text[i+9] != sep || text[i+14] != sep || isDigit(at(text, i+19)) {
		return false
	}
	// Digit masks, byte 0 lowest: bytes 0-3 and 5-7; 8, 10-13 and 15;
	// 11-13 and 15-18.
	return digitMask(binary.LittleEndian.Uint64(text[i:])) == 0x8080800080808080 &&
		digitMask(binary.LittleEndian.Uint64(text[i+8:])) == 0x8000808080800080 &&
		digitMask(binary.LittleEndian.Uint64(text[i+11:])) == 0x8080808000808080
}

// cardGroup returns the length of the digit group after the separator at
// text[pos], reading at most limit digits (so that a longer group reads as
// too long), or 0 when text[pos] is not sep.
func cardGroup(text []byte, pos int, sep byte, limit int) int {
	if at(text, pos) != sep {
		return 0
	}
	return digitRun(text, pos+1, limit)
}

// luhnSums accumulates the Luhn sum of a digit string read left to right
// before its length is known: sum[0] doubles the digits at even indexes,
// sum[1] those at odd ones. For n digits the Luhn check doubles indexes
// n-2, n-4, …, which have n's parity.
type luhnSums struct {
	sum [2]int
	n   int
}

// luhnDouble maps a digit d to the digit sum of 2d (padded to 16 entries
// so that indexing with d&15 needs no bounds check).
const luhnDouble = "\x00\x02\x04\x06\x08\x01\x03\x05\x07\x09\x00\x00\x00\x00\x00\x00"

func (l *luhnSums) add(digits []byte) {
	// x doubles the digits with the parity of index l.n, y the others.
	x, y := l.sum[l.n&1], l.sum[(l.n+1)&1]
	if len(digits) == 4 { // the common group, unrolled
		d0, d1, d2, d3 := (digits[0]-'0')&15, (digits[1]-'0')&15, (digits[2]-'0')&15, (digits[3]-'0')&15
		x += int(luhnDouble[d0]) + int(d1) + int(luhnDouble[d2]) + int(d3)
		y += int(d0) + int(luhnDouble[d1]) + int(d2) + int(luhnDouble[d3])
		l.sum[l.n&1], l.sum[(l.n+1)&1] = x, y
		l.n += 4
		return
	}
	k := 0
	for ; k+1 < len(digits); k += 2 {
		d0, d1 := (digits[k]-'0')&15, (digits[k+1]-'0')&15
		x += int(luhnDouble[d0]) + int(d1)
		y += int(d0) + int(luhnDouble[d1])
	}
	if k < len(digits) {
		d0 := (digits[k] - '0') & 15
		x += int(luhnDouble[d0])
		y += int(d0)
	}
	l.sum[l.n&1], l.sum[(l.n+1)&1] = x, y
	l.n += len(digits)
}

// valid reports whether the n digits read so far pass the Luhn check.
func (l *luhnSums) valid(n int) bool { return l.n == n && l.sum[n&1]%10 == 0 }

// issuerOK accepts the major industry identifiers of payment cards:
// 4 (Visa), 5 (Mastercard 51-55, Maestro), 6 (Discover, UnionPay, Maestro,
// RuPay), 3 except 31-33 (Amex 34/37, JCB 35, Diners 30/36/38/39), and the
// 2-series ranges 2200-2204 (Mir) and 2221-2720 (Mastercard). Numbers that
// start with 0, 1, 7, 8 or 9 (timestamps, IDs, phone-like runs) are never
// cards here.
func issuerOK(d []byte) bool {
	switch d[0] {
	case '4', '5', '6':
		return true
	case '3':
		return d[1] != '1' && d[1] != '2' && d[1] != '3'
	case '2':
		p := int(d[0]-'0')*1000 + int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
		return (p >= 2200 && p <= 2204) || (p >= 2221 && p <= 2720)
	}
	return false
}

// pendingCard returns the start of the earliest card number that more
// text could complete, extend or rule out (see cardOpen). Starts 24 or more
// bytes before the end are decided.
func pendingCard(text []byte) int {
	n := len(text)
	// An open card number ends in a digit or a separator after one.
	if !isDigit(at(text, n-1)) && !isDigit(at(text, n-2)) {
		return n
	}
	for s := max(0, n-cardMaxLen-1); s < n; s++ {
		if p := at(text, s-1); isDigit(text[s]) && !isWord(p) && p != '.' && cardOpen(text, s) {
			return s
		}
	}
	return n
}

// cardOpen reports whether cardAt's answer for the digit at text[s] may
// depend on bytes past the end of the text, following its reading: a run
// of up to 19 digits reaching the end, or the groups of a grouped number
// so far, or the byte after a complete one. Numbers whose first digits no
// network uses are decided.
func cardOpen(text []byte, s int) bool {
	n := len(text)
	g := digitRun(text, s, 20)
	if s+g == n {
		return g < 20 && issuerPrefixOK(text[s:n])
	}
	// 13-19 digits are decided by the known byte after them; other runs
	// but four digits and a separator are no card.
	if g != 4 || !issuerOK(text[s:s+4]) {
		return false
	}
	sep := text[s+4]
	if sep != ' ' && sep != '-' {
		return false
	}
	g2 := digitRun(text, s+5, 7)
	if s+5+g2 == n {
		return g2 < 7
	}
	switch g2 {
	case 6: // 4-6-5 or 4-6-4: a separator, then up to 6 digits
		if s+11 == n {
			return true
		}
		if text[s+11] != sep {
			return false
		}
		g3 := digitRun(text, s+12, 6)
		return s+12+g3 == n && g3 < 6
	case 4: // 4-4-4-4, then maybe a 3-digit group
		for j := s + 9; j < min(n, s+20); j++ {
			c := text[j]
			switch {
			case j == s+9 || j == s+14:
				if c != sep {
					return false
				}
			case j == s+19:
				if isDigit(c) {
					return false
				}
			case !isDigit(c):
				return false
			}
		}
		if n <= s+19 {
			return true
		}
		if text[s+19] != sep {
			return false // decided by that byte
		}
		g5 := digitRun(text, s+20, 4)
		return s+20+g5 == n && g5 < 4
	}
	return false
}

// issuerPrefixOK reports whether a card number may start with the digits
// d (one or more): issuerOK on the first four, or, with fewer, some
// completion that issuerOK accepts.
func issuerPrefixOK(d []byte) bool {
	if len(d) >= 4 {
		return issuerOK(d)
	}
	switch d[0] {
	case '4', '5', '6':
		return true
	case '3':
		return len(d) < 2 || (d[1] != '1' && d[1] != '2' && d[1] != '3')
	case '2':
		v, scale := 0, 1
		for _, c := range d {
			v = v*10 + int(c-'0')
		}
		for range 4 - len(d) {
			v *= 10
			scale *= 10
		}
		lo, hi := v, v+scale-1
		return (lo <= 2204 && hi >= 2200) || (lo <= 2720 && hi >= 2221)
	}
	return false
}

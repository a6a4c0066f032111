package detect

import "strings"

// phoneMaxLen bounds an international number: '+', 15 digits, a separator
// between each two digit groups and one parenthesised group, e.g.
// "+1 (2) 3 4 5 6 7 8 9 0 1 2 3 4 5" is 32 bytes.
const phoneMaxLen = 32

const (
	minIntlDigits = 8
	maxIntlDigits = 15
)

// findPhone reports telephone numbers in two families.
//
// International: '+', a first digit 1-9, then digit groups separated by
// single spaces, dashes or dots, with at most one parenthesised group of
// 1-4 digits (+44 (0)20 7946 0958, +1 (555) 123-4567), 8 to 15 digits in
// all (E.164). When the groups go on past 15 digits the longest prefix of
// whole groups with at most 15 digits is reported.
//
// North American: a 3-digit area code starting 2-9, a 3-digit exchange and
// 4 digits: (555) 123-4567, (555)123-4567, 555-123-4567, 555.123.4567,
// 555 123 4567, optionally after a leading "1" and the same separator
// (1-555-123-4567, 1 (555) 123-4567). Without parentheses the two
// separators must be the same.
//
// Deliberately not reported: runs of digits without separators and without
// '+' (order numbers, timestamps and card numbers look the same), 7-digit
// local numbers, national formats such as 020 7946 0958, and numbers glued
// to letters, digits, '_' or to a longer dotted or dashed number
// (12-555-123-4567, 555-123-4567-89). Dates (2024-01-15, 12.05.2024), card
// groups (4111 1111 …) and SSNs (123-45-6789) never have the 3-3-4 shape.
func findPhone(text []byte, dst []Match) []Match {
	var r resolver
	past := false
	for i := 0; i < len(text); i++ {
		// Every candidate starts with a digit or just before one.
		if !isDigit(text[i]) && !isDigit(at(text, i+1)) {
			d := nextDigit(text, i)
			if d == len(text) {
				break
			}
			i = d - 1
		}
		c := text[i]
		if c != '+' && c != '(' && !isDigit(c) {
			continue
		}
		p := at(text, i-1)
		if isWord(p) {
			continue
		}
		if e := phoneAt(text, &past, i, c, p); e > 0 {
			dst = r.add(dst, i, e)
		}
	}
	return dst
}

// phoneAt returns the end of the phone number starting at text[i] (c),
// after the byte p, or 0. c is '+', '(' or a digit and p not a word byte.
func phoneAt(text []byte, past *bool, i int, c, p byte) int {
	switch c {
	case '+':
		if p != '+' {
			return intlPhoneAt(text, past, i)
		}
	case '(':
		return naPhoneParenAt(text, past, i)
	default:
		if p != '-' && p != '.' && p != '+' && p != ',' {
			return naPhoneAt(text, past, i)
		}
	}
	return 0
}

// pendingPhone returns the start of the earliest phone number whose
// reading depended on bytes past the end of the text (more digits, a
// separator, the byte after the number). Starts 35 or more bytes before the
// end are decided.
func pendingPhone(text []byte) int {
	n := len(text)
	// A reading goes on only over digits and + ( ) - . and space.
	if c := at(text, n-1); !isDigit(c) && !strings.ContainsRune("+()-. ", rune(c)) {
		return n
	}
	past := false
	for s := max(0, n-phoneMaxLen-2); s < n; s++ {
		c := text[s]
		if c != '+' && c != '(' && !isDigit(c) {
			continue
		}
		p := at(text, s-1)
		if isWord(p) {
			continue
		}
		past = false
		if phoneAt(text, &past, s, c, p); past {
			return s
		}
	}
	return n
}

func isPhoneSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// intlPhoneAt returns the end of the international number whose '+' is at
// text[i], or 0.
func intlPhoneAt(text []byte, past *bool, i int) int {
	pos := i + 1
	if c := atp(text, pos, past); !isDigit(c) || c == '0' {
		return 0
	}
	digits, best, paren := 0, 0, false
	for {
		if atp(text, pos, past) == '(' {
			if paren {
				break
			}
			l := digitRunP(text, pos+1, min(5, maxIntlDigits-digits+1), past)
			if l == 0 || l > 4 || digits+l > maxIntlDigits || atp(text, pos+l+1, past) != ')' {
				break
			}
			paren = true
			digits += l
			pos += l + 2
			// The group after the parentheses may follow directly or after
			// one separator; the parenthesised group never ends a number.
			if isPhoneSep(atp(text, pos, past)) && isDigit(atp(text, pos+1, past)) {
				pos++
			}
			if !isDigit(atp(text, pos, past)) {
				break
			}
		}
		l := digitRunP(text, pos, maxIntlDigits-digits+1, past)
		if digits+l > maxIntlDigits {
			break
		}
		digits += l
		pos += l
		if isWord(atp(text, pos, past)) {
			return 0 // glued to a letter or '_'
		}
		if digits >= minIntlDigits {
			best = pos
		}
		switch c := atp(text, pos, past); {
		case c == '(':
		case isPhoneSep(c) && (isDigit(atp(text, pos+1, past)) || atp(text, pos+1, past) == '('):
			pos++
		default:
			return best
		}
	}
	return best
}

// naPhoneParenAt returns the end of "(NPA) NXX-XXXX" whose '(' is at
// text[i], or 0.
func naPhoneParenAt(text []byte, past *bool, i int) int {
	if digitRunP(text, i+1, 4, past) != 3 || atp(text, i+4, past) != ')' || !npaOK(atp(text, i+1, past)) {
		return 0
	}
	pos := i + 5
	if c := atp(text, pos, past); c == ' ' || c == '-' {
		pos++
	}
	if digitRunP(text, pos, 4, past) != 3 {
		return 0
	}
	sep := atp(text, pos+3, past)
	if !isPhoneSep(sep) {
		return 0
	}
	return naTail(text, past, pos+4)
}

// naPhoneAt returns the end of "NPA-NXX-XXXX" (or with a leading "1-")
// starting at the digit text[i], or 0.
func naPhoneAt(text []byte, past *bool, i int) int {
	pos := i
	if atp(text, i, past) == '1' {
		sep := atp(text, i+1, past)
		if !isPhoneSep(sep) {
			return 0
		}
		if atp(text, i+2, past) == '(' {
			if sep != ' ' && sep != '-' {
				return 0
			}
			return naPhoneParenAt(text, past, i+2)
		}
		if digitRunP(text, i+2, 4, past) != 3 || atp(text, i+5, past) != sep {
			return 0
		}
		pos = i + 2
	}
	if digitRunP(text, pos, 4, past) != 3 || !npaOK(atp(text, pos, past)) {
		return 0
	}
	sep := atp(text, pos+3, past)
	if !isPhoneSep(sep) || digitRunP(text, pos+4, 4, past) != 3 || atp(text, pos+7, past) != sep {
		return 0
	}
	return naTail(text, past, pos+8)
}

// naTail checks the final four digits at text[pos] and the byte after
// them.
func naTail(text []byte, past *bool, pos int) int {
	if digitRunP(text, pos, 5, past) != 4 {
		return 0
	}
	e := pos + 4
	n := atp(text, e, past)
	if isWord(n) || ((n == '-' || n == '.') && isDigit(atp(text, e+1, past))) {
		return 0
	}
	return e
}

// npaOK reports whether an area code may start with c (never 0 or 1).
func npaOK(c byte) bool { return c >= '2' && c <= '9' }

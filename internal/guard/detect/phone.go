package detect

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
		e := 0
		switch c {
		case '+':
			if p != '+' {
				e = intlPhoneAt(text, i)
			}
		case '(':
			e = naPhoneParenAt(text, i)
		default:
			if p != '-' && p != '.' && p != '+' && p != ',' {
				e = naPhoneAt(text, i)
			}
		}
		if e > 0 {
			dst = r.add(dst, i, e)
		}
	}
	return dst
}

func isPhoneSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// intlPhoneAt returns the end of the international number whose '+' is at
// text[i], or 0.
func intlPhoneAt(text []byte, i int) int {
	pos := i + 1
	if c := at(text, pos); !isDigit(c) || c == '0' {
		return 0
	}
	digits, best, paren := 0, 0, false
	for {
		if at(text, pos) == '(' {
			if paren {
				break
			}
			l := digitRun(text, pos+1, min(5, maxIntlDigits-digits+1))
			if l == 0 || l > 4 || digits+l > maxIntlDigits || at(text, pos+l+1) != ')' {
				break
			}
			paren = true
			digits += l
			pos += l + 2
			// The group after the parentheses may follow directly or after
			// one separator; the parenthesised group never ends a number.
			if isPhoneSep(at(text, pos)) && isDigit(at(text, pos+1)) {
				pos++
			}
			if !isDigit(at(text, pos)) {
				break
			}
		}
		l := digitRun(text, pos, maxIntlDigits-digits+1)
		if digits+l > maxIntlDigits {
			break
		}
		digits += l
		pos += l
		if isWord(at(text, pos)) {
			return 0 // glued to a letter or '_'
		}
		if digits >= minIntlDigits {
			best = pos
		}
		c, next := at(text, pos), at(text, pos+1)
		switch {
		case c == '(':
		case isPhoneSep(c) && (isDigit(next) || next == '('):
			pos++
		default:
			return best
		}
	}
	return best
}

// naPhoneParenAt returns the end of "(NPA) NXX-XXXX" whose '(' is at
// text[i], or 0.
func naPhoneParenAt(text []byte, i int) int {
	if digitRun(text, i+1, 4) != 3 || at(text, i+4) != ')' || !npaOK(text[i+1]) {
		return 0
	}
	pos := i + 5
	if c := at(text, pos); c == ' ' || c == '-' {
		pos++
	}
	if digitRun(text, pos, 4) != 3 {
		return 0
	}
	sep := at(text, pos+3)
	if !isPhoneSep(sep) {
		return 0
	}
	return naTail(text, pos+4)
}

// naPhoneAt returns the end of "NPA-NXX-XXXX" (or with a leading "1-")
// starting at the digit text[i], or 0.
func naPhoneAt(text []byte, i int) int {
	pos := i
	if text[i] == '1' {
		sep := at(text, i+1)
		if !isPhoneSep(sep) {
			return 0
		}
		if at(text, i+2) == '(' {
			if sep != ' ' && sep != '-' {
				return 0
			}
			return naPhoneParenAt(text, i+2)
		}
		if digitRun(text, i+2, 4) != 3 || at(text, i+5) != sep {
			return 0
		}
		pos = i + 2
	}
	if digitRun(text, pos, 4) != 3 || !npaOK(text[pos]) {
		return 0
	}
	sep := at(text, pos+3)
	if !isPhoneSep(sep) || digitRun(text, pos+4, 4) != 3 || at(text, pos+7) != sep {
		return 0
	}
	return naTail(text, pos+8)
}

// naTail checks the final four digits at text[pos] and the byte after
// them.
func naTail(text []byte, pos int) int {
	if digitRun(text, pos, 5) != 4 {
		return 0
	}
	e := pos + 4
	n := at(text, e)
	if isWord(n) || ((n == '-' || n == '.') && isDigit(at(text, e+1))) {
		return 0
	}
	return e
}

// npaOK reports whether an area code may start with c (never 0 or 1).
func npaOK(c byte) bool { return c >= '2' && c <= '9' }

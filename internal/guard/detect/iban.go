package detect

import "strings"

// ibanMaxLen is the longest IBAN match: 34 characters printed in groups of
// four, so with 8 spaces.
const ibanMaxLen = 34 + 8

// findIBAN reports IBANs of the countries in the SWIFT IBAN registry: the
// country code, two check digits and the BBAN, either run together
// (DE89370400440532013000) or printed in groups of four separated by single
// spaces (DE89 3704 0044 0532 0130 00). The length must be the country's,
// the check digits 02-98, and the ISO 7064 mod-97 remainder 1. Letters may
// be of either case.
func findIBAN(text []byte, dst []Match) []Match {
	var r resolver
	for i := 0; i+15 <= len(text); i++ {
		// A candidate has its first digit two bytes in.
		if !isDigit(text[i+2]) {
			if i = nextDigit(text, i+2) - 2; i+15 > len(text) {
				break
			}
		}
		if !isLetter(text[i]) || isWord(at(text, i-1)) {
			continue
		}
		if e := ibanAt(text, i); e > 0 {
			dst = r.add(dst, i, e)
		}
	}
	return dst
}

// ibanAt returns the end of the IBAN starting at text[i], or 0.
func ibanAt(text []byte, i int) int {
	c1, c2 := at(text, i), at(text, i+1)
	d1, d2 := at(text, i+2), at(text, i+3)
	if !isLetter(c2) || !isDigit(d1) || !isDigit(d2) {
		return 0
	}
	n := ibanLength(upper(c1), upper(c2))
	if n == 0 {
		return 0
	}
	check := int(d1-'0')*10 + int(d2-'0')
	if check < 2 || check > 98 {
		return 0
	}
	// The BBAN, then the country code and check digits moved to the end.
	// rem is reduced mod 97 only when it could overflow: 34 divisions per
	// candidate would dominate on IBAN-shaped input.
	rem := uint64(0)
	pos, count := i+4, 4
	printed := at(text, pos) == ' '
	for count < n {
		if printed && count%4 == 0 {
			if at(text, pos) != ' ' {
				return 0
			}
			pos++
		}
		c := at(text, pos)
		if rem >= 1<<56 {
			rem %= 97
		}
		switch {
		case isDigit(c):
			rem = rem*10 + uint64(c-'0')
		case isLetter(c):
			rem = rem*100 + uint64(upper(c)-'A') + 10
		default:
			return 0
		}
		pos++
		count++
	}
	if isWord(at(text, pos)) {
		return 0
	}
	rem %= 97
	rem = rem*100 + uint64(upper(c1)-'A') + 10
	rem = rem*100 + uint64(upper(c2)-'A') + 10
	rem = rem*100 + uint64(check)
	if rem%97 != 1 {
		return 0
	}
	return pos
}

// ibanFirstLetters are the first letters of the country codes ibanLength
// knows (TestIBANFirstLetters keeps them in step).
const ibanFirstLetters = "ABCDEFGHIJKLMNOPQRSTUVXY"

func upper(c byte) byte {
	if c-'a' < 26 {
		return c - ('a' - 'A')
	}
	return c
}

// ibanLength returns the IBAN length of a country code (upper case), or 0
// for a country without IBANs. Source: SWIFT IBAN registry (release 99,
// 2025), 89 countries.
func ibanLength(c1, c2 byte) int {
	switch string([]byte{c1, c2}) {
	case "NO":
		return 15
	case "BE":
		return 16
	case "DK", "FI", "FK", "FO", "GL", "NL", "SD":
		return 18
	case "MK", "SI":
		return 19
	case "AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK":
		return 20
	case "CH", "HR", "LI", "LV":
		return 21
	case "BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA":
		return 22
	case "AE", "GI", "IL", "IQ", "OM", "SO", "TL":
		return 23
	case "AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG":
		return 24
	case "LY", "PT", "ST":
		return 25
	case "IS", "TR":
		return 26
	case "BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM":
		return 27
	case "AL", "AZ", "BY", "CY", "DO", "GT", "HN", "HU", "LB", "NI", "PL", "SV":
		return 28
	case "BR", "EG", "PS", "QA", "UA":
		return 29
	case "JO", "KW", "MU", "YE":
		return 30
	case "MT", "SC":
		return 31
	case "LC":
		return 32
	case "RU":
		return 33
	}
	return 0
}

// pendingIBAN returns the start of the earliest IBAN that more text could
// complete or rule out: a letter after a boundary where the rest of the
// text is a viable prefix (a country with IBANs, check digits 02-98, the
// BBAN's characters and spaces so far), or a whole valid IBAN whose next
// byte is not there yet. Starts 43 or more bytes before the end are
// decided.
func pendingIBAN(text []byte) int {
	n := len(text)
	// An open IBAN ends in a letter, a digit or a space between groups.
	if !isAlnum(at(text, n-1)) && !isAlnum(at(text, n-2)) {
		return n
	}
	for s := max(0, n-ibanMaxLen-1); s < n; s++ {
		if isLetter(text[s]) && !isWord(at(text, s-1)) && ibanOpen(text, s) {
			return s
		}
	}
	return n
}

// ibanOpen reports whether ibanAt's answer for the letter at text[s]
// may depend on bytes past the end of the text.
func ibanOpen(text []byte, s int) bool {
	n := len(text)
	if s+1 == n {
		return strings.IndexByte(ibanFirstLetters, upper(text[s])) >= 0
	}
	if !isLetter(text[s+1]) || (s+2 < n && !isDigit(text[s+2])) {
		return false
	}
	length := ibanLength(upper(text[s]), upper(text[s+1]))
	switch {
	case length == 0:
		return false
	case s+2 == n:
		return true
	case !isDigit(text[s+2]):
		return false
	case s+3 == n:
		return true
	case !isDigit(text[s+3]):
		return false
	}
	if check := int(text[s+2]-'0')*10 + int(text[s+3]-'0'); check < 2 || check > 98 {
		return false
	}
	// The BBAN as ibanAt reads it, up to the end of the text.
	pos, count := s+4, 4
	if pos == n {
		return true
	}
	printed := text[pos] == ' '
	for count < length {
		if printed && count%4 == 0 {
			if pos == n {
				return true
			}
			if text[pos] != ' ' {
				return false
			}
			pos++
		}
		if pos == n {
			return true
		}
		if !isAlnum(text[pos]) {
			return false
		}
		pos++
		count++
	}
	// Complete: the byte after it decides, unless the check fails anyway.
	return pos == n && ibanAt(text, s) > 0
}

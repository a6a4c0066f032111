package detect

// ssnMaxLen is the length of "AAA-GG-SSSS".
const ssnMaxLen = 11

// findSSN reports US social security numbers written AAA-GG-SSSS or
// AAA GG SSSS (one separator, the same both times). Nine digits in a row
// are not reported: too many order numbers and IDs look like that.
func findSSN(text []byte, dst []Match) []Match {
	var r resolver
	for i := 0; i+ssnMaxLen <= len(text); {
		if !isDigit(text[i]) {
			if i = nextDigit(text, i); i+ssnMaxLen > len(text) {
				break
			}
		}
		if c := text[i+3]; (c == '-' || c == ' ') && ssnAt(text, i) {
			dst = r.add(dst, i, i+ssnMaxLen)
		}
		// No SSN starts inside a run of digits; a separator may follow.
		for i++; i < len(text) && isDigit(text[i]); i++ {
		}
		if i+1 < len(text) && isDigit(text[i+1]) {
			i++
		}
	}
	return dst
}

// ssnAt reports whether an SSN occupies text[i:i+11] (which is in bounds).
func ssnAt(text []byte, i int) bool {
	if p := at(text, i-1); isWord(p) || p == '-' {
		return false
	}
	if n := at(text, i+ssnMaxLen); isWord(n) || n == '-' {
		return false
	}
	t := text[i : i+ssnMaxLen]
	sep := t[3]
	if (sep != '-' && sep != ' ') || t[6] != sep {
		return false
	}
	for _, k := range [...]int{0, 1, 2, 4, 5, 7, 8, 9, 10} {
		if !isDigit(t[k]) {
			return false
		}
	}
	area := int(t[0]-'0')*100 + int(t[1]-'0')*10 + int(t[2]-'0')
	if area == 0 || area == 666 || area >= 900 {
		return false
	}
	if t[4] == '0' && t[5] == '0' {
		return false
	}
	return string(t[7:11]) != "0000"
}

// pendingSSN returns the start of the earliest SSN that more text could
// complete or rule out: a digit after a valid boundary where the rest of
// the text is a viable prefix of AAA-GG-SSSS (valid ranges so far), or a
// whole valid SSN whose next byte is not there yet. Starts 12 or more bytes
// before the end are decided.
func pendingSSN(text []byte) int {
	n := len(text)
	// An open SSN ends in a digit or a separator after one.
	if c := at(text, n-1); !isDigit(c) && !isDigit(at(text, n-2)) {
		return n
	}
	for s := max(0, n-ssnMaxLen); s < n; s++ {
		if isDigit(text[s]) && ssnOpen(text, s) {
			return s
		}
	}
	return n
}

// ssnOpen reports whether text[s:] (shorter than 12 bytes) may still
// begin an SSN.
func ssnOpen(text []byte, s int) bool {
	if p := at(text, s-1); isWord(p) || p == '-' {
		return false
	}
	t := text[s:]
	for k, c := range t {
		switch k {
		case 3:
			if c != '-' && c != ' ' {
				return false
			}
		case 6:
			if c != t[3] {
				return false
			}
		default:
			if !isDigit(c) {
				return false
			}
		}
	}
	// The ranges known so far: area 000, 666 and 9xx, group 00 and serial
	// 0000 are never valid.
	switch m := len(t); {
	case m >= 3 && (string(t[:3]) == "000" || string(t[:3]) == "666"):
		return false
	case t[0] == '9':
		return false
	case m >= 6 && t[4] == '0' && t[5] == '0':
		return false
	case m == ssnMaxLen && string(t[7:]) == "0000":
		return false
	}
	return true
}

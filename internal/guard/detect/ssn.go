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

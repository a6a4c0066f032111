package detect

import "bytes"

// pemAt matches a private-key block at text[s], which starts
// "-----BEGIN ". The label (up to 64 of [A-Z0-9 ]) must end in
// "PRIVATE KEY" or "PRIVATE KEY BLOCK" (PKCS#8, RSA, EC, DSA, OPENSSH,
// ENCRYPTED, PGP). The match runs to the end of the matching
// "-----END <label>-----" line when the body before it holds no other
// "-----"; otherwise (no END, another block, a stray "-----") it covers the
// BEGIN line and the body up to that point, trailing white space left out,
// so an unterminated key is still covered. Either way it is cut at 8 KiB.
func pemAt(text []byte, s int) int {
	limit := min(len(text), s+maxPEMLen)
	h, ok := pemLabelEnd(text, s+len("-----BEGIN "), limit)
	if !ok {
		return 0
	}
	q := bytes.Index(text[h:limit], []byte("-----"))
	if q < 0 {
		q = limit
	} else {
		q += h
		if hasPrefix(text, q, "-----END ") {
			if e, ok := pemLabelEnd(text, q+len("-----END "), limit); ok {
				return e
			}
		}
	}
	for q > h && isSpace(text[q-1]) {
		q--
	}
	return q
}

// pemLabelEnd reads a private-key label and its closing "-----" from
// text[i:limit] and returns the index after them.
func pemLabelEnd(text []byte, i, limit int) (int, bool) {
	j := i
	for j < limit && j-i <= 64 && (isUpper(text[j]) || isDigit(text[j]) || text[j] == ' ') {
		j++
	}
	label := text[i:j]
	if !bytes.HasSuffix(label, []byte("PRIVATE KEY")) && !bytes.HasSuffix(label, []byte("PRIVATE KEY BLOCK")) {
		return 0, false
	}
	if j+5 > limit || !hasPrefix(text, j, "-----") {
		return 0, false
	}
	return j + 5, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

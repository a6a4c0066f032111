package detect

// maxAssignLeft bounds how far left of an assignment's value its key,
// separator and blanks reach: 11 bytes of key name, a quote, 16 blanks,
// ":=" or "=>", 16 blanks and a quote.
const maxAssignLeft = 11 + 1 + maxAssignSpace + 2 + maxAssignSpace + 1

// atp is at for the scanners whose grammar is too branchy to restate
// (phone numbers, IP addresses): it also notes in *past a read at or after
// the end of the text, so that Pending can tell whether a candidate's
// outcome depended on bytes not there yet. Only the rare read out of range
// pays for the note.
func atp(text []byte, i int, past *bool) byte {
	if uint(i) < uint(len(text)) {
		return text[i]
	}
	if i >= len(text) {
		*past = true
	}
	return 0
}

// digitRunP is digitRun through atp: it reads the byte that ends the run
// unless limit ends it.
func digitRunP(text []byte, i, limit int, past *bool) int {
	n := 0
	for n < limit && isDigit(atp(text, i+n, past)) {
		n++
	}
	return n
}

// hasPrefixOpen reports whether text[i:] is a proper prefix of s, that is,
// s could still be completed by more text. i < len(text).
func hasPrefixOpen(text []byte, i int, s string) bool {
	n := len(text) - i
	return n < len(s) && string(text[i:]) == s[:n]
}

// matchesPrefix reports whether text[i:min(len(text), i+len(s))] agrees
// with s: s is there, or the text ends in a prefix of it.
func matchesPrefix(text []byte, i int, s string) bool {
	n := min(len(text)-i, len(s))
	return n >= 0 && string(text[i:i+n]) == s[:n]
}

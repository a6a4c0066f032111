package detect

import "bytes"

// pendingSecrets returns the start of the earliest secret candidate that
// more text could create, extend or rule out, kind by kind (the earliest
// of them, since a candidate also hides the ones that start inside it):
//
//   - keys and tokens (sk-…, AKIA…, ghp_…, github_pat_…): the trailing run
//     of their alphabet when it is a viable prefix, cut at 256 bytes;
//   - JWTs: the trailing run of base64url bytes and dots when it starts
//     "eyJ" (or a prefix of it) and its segments so far are long enough;
//   - PEM blocks: a "-----BEGIN " line (or a prefix of one at the end)
//     whose label, body or END line reaches the end, within 8 KiB;
//   - assignments: a value that reaches the end of the text (quoted and not
//     yet closed, or unquoted and not yet ended), within 256 bytes.
//
// A key name or separator at the end holds nothing back: a value would
// start after it.
func pendingSecrets(text []byte) int {
	n := len(text)
	p := min(tokenPending(text), jwtPending(text), pemPending(text))
	// Assignment values start at most 19 bytes after their separator and
	// are cut at 256 bytes.
	lo := max(0, n-maxValueLen-maxAssignSpace-4)
	for _, sep := range []byte{':', '='} {
		for k := lo; k < n; k++ {
			j := bytes.IndexByte(text[k:], sep)
			if j < 0 {
				break
			}
			k += j
			if v, open := assignOpen(text, k); open {
				p = min(p, v)
			}
		}
	}
	return p
}

// tokenPending handles sk-… keys (a run of [A-Za-z0-9_-] after a byte
// outside it) and AWS and GitHub tokens (runs of word bytes after a
// non-word byte). An open candidate covers the text up to its end, so it
// starts where the trailing run of its alphabet does.
func tokenPending(text []byte) int {
	n := len(text)
	p := n
	// The trailing word run; a '-' before it is a boundary for AWS and
	// GitHub but part of an sk- key.
	w := n
	for w > 0 && n-w < maxTokenLen && isWord(text[w-1]) {
		w--
	}
	if w < n && n-w < maxTokenLen && !isWord(at(text, w-1)) && (awsOpen(text[w:]) || gitHubOpen(text[w:])) {
		p = w
	}
	b := w
	for b > 0 && n-b < maxTokenLen && isB64URL(text[b-1]) {
		b--
	}
	if b < n && n-b < maxTokenLen && !isB64URL(at(text, b-1)) && matchesPrefix(text, b, "sk-") {
		p = min(p, b)
	}
	return p
}

// awsOpen reports whether t (the end of the text) is a viable prefix of an
// AWS key id, or a whole one whose next byte is not there yet.
func awsOpen(t []byte) bool {
	if len(t) > 20 || (!matchesPrefix(t, 0, "AKIA") && !matchesPrefix(t, 0, "ASIA")) {
		return false
	}
	for _, c := range t[min(4, len(t)):] {
		if !isUpper(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

// gitHubOpen reports whether t (the end of the text, shorter than 256
// bytes) is a viable prefix of a GitHub token, or one still growing.
func gitHubOpen(t []byte) bool {
	if matchesPrefix(t, 0, "github_pat_") {
		return true // the rest, if any, is word bytes
	}
	switch {
	case len(t) < 3:
		return matchesPrefix(t, 0, "gh")
	case t[0] != 'g' || t[1] != 'h' || !isGitHubKind(t[2]):
		return false
	case len(t) == 3:
		return true
	case t[3] != '_':
		return false
	}
	for _, c := range t[4:] {
		if !isAlnum(c) {
			return false
		}
	}
	return true
}

// jwtPending handles JWTs: an open one covers the text up to its end with
// base64url bytes and dots, so it starts at the trailing run of those.
func jwtPending(text []byte) int {
	n := len(text)
	s := n
	for s > 0 && n-s < maxJWTLen && (isB64URL(text[s-1]) || text[s-1] == '.') {
		s--
	}
	if s == n || n-s >= maxJWTLen {
		return n
	}
	if p := at(text, s-1); isB64URL(p) || p == '.' || !matchesPrefix(text, s, "eyJ") {
		return n
	}
	// Segments so far: each one a dot ends must be long enough; a third dot
	// ends the token.
	seg, start := 0, s
	for pos := s; pos < n; pos++ {
		if text[pos] != '.' {
			continue
		}
		if pos-start < [...]int{10, 2, 1}[seg] {
			return n
		}
		if seg == 2 {
			return n
		}
		seg, start = seg+1, pos+1
	}
	return s
}

// pemPending handles PEM private-key blocks: every "-----BEGIN " within
// 8 KiB of the end whose reading reaches the end, and a prefix of one at
// the very end.
func pemPending(text []byte) int {
	n := len(text)
	begin := []byte("-----BEGIN ")
	dash := max(0, n-maxPEMLen)
	if k := bytes.IndexByte(text[dash:], '-'); k < 0 {
		return n
	} else {
		dash += k
	}
	for s := dash; s < n; {
		k := bytes.Index(text[s:], begin)
		if k < 0 {
			break
		}
		s += k
		if pemOpen(text, s) {
			return s
		}
		s++
	}
	for s := max(dash, n-len(begin)+1); s < n; s++ {
		if hasPrefixOpen(text, s, "-----BEGIN ") {
			return s
		}
	}
	return n
}

// pemOpen reports whether pemAt's answer for the "-----BEGIN " at text[s]
// may depend on bytes past the end of the text (less than 8 KiB on).
func pemOpen(text []byte, s int) bool {
	n := len(text)
	if s+maxPEMLen <= n {
		return false
	}
	h, open, ok := pemLabelOpen(text, s+len("-----BEGIN "))
	if open || !ok {
		return open
	}
	q := bytes.Index(text[h:], []byte("-----"))
	if q < 0 {
		return true // no END line or other "-----" yet
	}
	q += h
	if hasPrefixOpen(text, q, "-----END ") {
		return true
	}
	if !hasPrefix(text, q, "-----END ") {
		return false
	}
	_, open, _ = pemLabelOpen(text, q+len("-----END "))
	return open
}

// pemLabelOpen reads a label and its closing "-----" as pemLabelEnd does,
// with the end of the text as its limit: open reports that the answer
// depends on bytes past the end; else ok reports a valid label, ending at
// h.
func pemLabelOpen(text []byte, i int) (h int, open, ok bool) {
	n := len(text)
	j := i
	for j < n && j-i <= 64 && (isUpper(text[j]) || isDigit(text[j]) || text[j] == ' ') {
		j++
	}
	if j == n && j-i <= 64 {
		return 0, true, false
	}
	label := text[i:j]
	if !bytes.HasSuffix(label, []byte("PRIVATE KEY")) && !bytes.HasSuffix(label, []byte("PRIVATE KEY BLOCK")) {
		return 0, false, false
	}
	if hasPrefixOpen(text, j, "-----") {
		return 0, true, false
	}
	if !hasPrefix(text, j, "-----") {
		return 0, false, false
	}
	return j + 5, false, true
}

// assignOpen reports whether the assignment whose separator is text[k]
// has a value that starts before the end of the text and may still change:
// it returns the value's start. It reads as assignAt does.
func assignOpen(text []byte, k int) (v int, open bool) {
	if b := at(text, k-1); !isBlank(b) && !isQuote(b) && !isKeyEnd(b) {
		return 0, false
	}
	v, quote, ok := assignValueStart(text, k)
	if !ok {
		return 0, false // no key, or no value before the end
	}
	n := len(text)
	limit := min(n, v+maxValueLen)
	if quote != 0 {
		j := v
		for ; j < limit; j++ {
			if c := text[j]; c == quote || c == '\n' {
				if c == quote && j > v {
					return v, false
				}
				break
			}
		}
		if j == n && j < v+maxValueLen {
			return v, true // not closed yet
		}
	}
	e := v
	for e < limit && isValueByte(text[e]) {
		e++
	}
	return v, e == n && e < v+maxValueLen
}

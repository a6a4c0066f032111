package detect

import "bytes"

// maxAssignSpace bounds the blanks around an assignment's separator.
const maxAssignSpace = 16

// searchAssign finds the next ':' or '=' at or after st.pos and tries the
// value of a secret assignment after it. The match is the value only, so
// that "password=[REDACTED]" stays readable:
//
//	password=hunter2        DB_PASSWORD = "s3cr3t"     "api_key": "abc123"
//	passwd: hunter2         client_secret => 'x'       aws_secret_access_key=…
//
// The key is any name ending (ASCII case ignored, '-' read as '_') in
// password, passwd, pwd, passphrase, secret, api_key, apikey, access_key,
// accesskey, secret_key, secretkey, private_key, privatekey, accesstoken,
// authtoken, or "_token" (auth_token, GITHUB_TOKEN; a bare "token" is too
// common in prose). Between key and value: an optional closing quote, up to
// 16 blanks, ':' ':=' '=' or '=>' (never '=='), up to 16 blanks and an
// optional opening quote. A quoted value runs to its closing quote on the
// same line; an unquoted one (or a quoted one not closed within 256 bytes)
// to the first blank, quote, backslash or one of , ; & < > ) ] }. Values
// are cut at 256 bytes. After "key: " (the shape prose uses too: "Here's
// the secret: practice.") an unquoted value of letters only, shorter than
// 12 bytes, is not reported; "key=value" and quoted values always are,
// unless only white space. "--password value" (no separator) is not
// reported.
func searchAssign(text []byte, st *secretStream) (s, e int) {
	for {
		k := nextSeparator(text, st)
		if k < 0 {
			st.pos = len(text)
			return 0, 0
		}
		st.pos = k + 1
		// Cheap test first: a key name, a quote or a blank before it.
		if b := at(text, k-1); !isBlank(b) && !isQuote(b) && !isKeyEnd(b) {
			continue
		}
		if s, e = assignAt(text, st, k); e > 0 {
			return s, e
		}
	}
}

// assignAt tries the value of an assignment whose separator is text[k].
func assignAt(text []byte, st *secretStream, k int) (s, e int) {
	v, quote, ok := assignValueStart(text, k)
	if !ok {
		return 0, 0
	}
	limit := min(len(text), v+maxValueLen)
	if quote != 0 {
		for j := v; j < limit; j++ {
			if c := text[j]; c == quote || c == '\n' {
				if c == quote && j > v {
					if blankValue(text[v:j]) {
						return 0, 0
					}
					return v, j
				}
				break
			}
		}
	}
	if v >= st.runEnd {
		st.runEnd = v
		for st.runEnd < len(text) && isValueByte(text[st.runEnd]) {
			st.runEnd++
		}
	}
	e = min(st.runEnd, limit)
	if e == v || blankValue(text[v:e]) || (quote == 0 && text[k] == ':' && isBlank(at(text, k+1)) && wordLike(text[v:e])) {
		return 0, 0
	}
	return v, e
}

// blankValue reports whether a value is only white space (Unicode spaces
// included): nothing to hide.
func blankValue(v []byte) bool { return len(bytes.TrimSpace(v)) == 0 }

// wordLike reports whether an unquoted value after "key: " reads like prose
// ("Here's the secret: practice.") rather than a credential: letters only,
// sentence punctuation aside, and shorter than 12 bytes.
func wordLike(v []byte) bool {
	for len(v) > 0 && (v[len(v)-1] == '.' || v[len(v)-1] == '!' || v[len(v)-1] == '?' || v[len(v)-1] == ':') {
		v = v[:len(v)-1]
	}
	if len(v) >= 12 {
		return false
	}
	for _, c := range v {
		if !isLetter(c) {
			return false
		}
	}
	return true
}

// nextSeparator returns the next ':' or '=' at or after st.pos, or -1.
// The two positions are cached so that the search stays linear.
func nextSeparator(text []byte, st *secretStream) int {
	if st.colon != -1 && st.colon < st.pos {
		st.colon = indexFrom(text, st.pos, ':')
	}
	if st.equal != -1 && st.equal < st.pos {
		st.equal = indexFrom(text, st.pos, '=')
	}
	switch {
	case st.colon < 0:
		return st.equal
	case st.equal < 0:
		return st.colon
	}
	return min(st.colon, st.equal)
}

// assignValueStart checks the key before the separator at text[k] and
// returns where the value starts and its opening quote (0 if none).
func assignValueStart(text []byte, k int) (v int, quote byte, ok bool) {
	// Before: blanks, an optional closing quote, the key.
	b := k
	for n := 0; b > 0 && isBlank(text[b-1]) && n < maxAssignSpace; n++ {
		b--
	}
	if b > 0 && isQuote(text[b-1]) {
		b--
	}
	if !secretKeyBefore(text, b) {
		return 0, 0, false
	}
	// After: the rest of the separator, blanks, an optional quote.
	v = k + 1
	switch {
	case text[k] == ':' && at(text, v) == '=':
		v++
	case text[k] == '=' && at(text, v) == '>':
		v++
	case text[k] == '=' && at(text, v) == '=':
		return 0, 0, false
	}
	for n := 0; v < len(text) && isBlank(text[v]) && n < maxAssignSpace; n++ {
		v++
	}
	if v < len(text) && isQuote(text[v]) {
		quote = text[v]
		v++
	}
	if v >= len(text) || !isValueByte(text[v]) && quote == 0 {
		return 0, 0, false
	}
	return v, quote, true
}

// secretKeyBefore reports whether text[:end] ends with a secret key name.
func secretKeyBefore(text []byte, end int) bool {
	if end == 0 {
		return false
	}
	var keys []string
	switch lower(text[end-1]) {
	case 'd':
		keys = []string{"password", "passwd", "pwd"}
	case 'e':
		keys = []string{"passphrase"}
	case 't':
		keys = []string{"secret"}
	case 'y':
		keys = []string{"api_key", "apikey", "access_key", "accesskey", "secret_key", "secretkey", "private_key", "privatekey"}
	case 'n':
		keys = []string{"accesstoken", "authtoken", "_token"}
	}
	for _, w := range keys {
		if endsWithKey(text, end, w) {
			return true
		}
	}
	return false
}

// endsWithKey reports whether text[:end] ends with w (lower case, '_' for
// '_' or '-'), ignoring ASCII case.
func endsWithKey(text []byte, end int, w string) bool {
	s := end - len(w)
	if s < 0 {
		return false
	}
	for k := 0; k < len(w); k++ {
		c := lower(text[s+k])
		if c == '-' {
			c = '_'
		}
		if c != w[k] {
			return false
		}
	}
	return true
}

// isKeyEnd reports whether c can end a secret key name.
func isKeyEnd(c byte) bool {
	switch lower(c) {
	case 'd', 'e', 't', 'y', 'n':
		return true
	}
	return false
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// isValueByte reports whether c may be part of an unquoted value.
func isValueByte(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	switch c {
	case '"', '\'', '`', '\\', ',', ';', '&', '<', '>', ')', ']', '}':
		return false
	}
	return true
}

package detect

// secretsMaxLen is the longest secrets match: PEM blocks and JWTs are cut
// at 8 KiB.
const secretsMaxLen = 8192

const (
	maxTokenLen = 256  // sk-… and GitHub tokens; longer ones are cut here
	maxJWTLen   = 8192 // header.payload.signature
	maxPEMLen   = 8192 // BEGIN line, body and END line
	maxValueLen = 256  // value of a password=… assignment
)

// The kinds of secret, each found by its own forward search.
const (
	secretOpenAI = iota // sk-…, sk-proj-…, sk-ant-…
	secretAWS           // AKIA…, ASIA…
	secretGitHub        // ghp_… and the like, github_pat_…
	secretJWT           // eyJ….….…
	secretPEM           // -----BEGIN … PRIVATE KEY-----
	secretAssign        // password=…, api_key: …
	numSecretKinds
)

// secretStream is one kind's current candidate [s, e) (s < 0 when the kind
// has none left) and where its search goes on.
type secretStream struct {
	s, e int
	pos  int // the next search starts here
	// Caches that keep the assignment search linear.
	colon, equal int // next ':' / '=' at or after pos (-1: none, -2: unknown)
	runEnd       int // end of the last unquoted value run
}

// findSecrets merges the candidates of every kind in order of start
// (longest first at the same start) and resolves overlaps.
func findSecrets(text []byte, dst []Match) []Match {
	if len(text) <= shortText && !hasSecretAnchor(text) {
		return dst
	}
	var st [numSecretKinds]secretStream
	for k := range st {
		st[k] = secretStream{colon: -2, equal: -2}
		nextSecret(k, text, &st[k])
	}
	var r resolver
	for {
		best := -1
		for k := range st {
			if st[k].s < 0 {
				continue
			}
			if best < 0 || st[k].s < st[best].s || (st[k].s == st[best].s && st[k].e > st[best].e) {
				best = k
			}
		}
		if best < 0 {
			return dst
		}
		dst = r.add(dst, st[best].s, st[best].e)
		nextSecret(best, text, &st[best])
	}
}

// shortText is the length up to which findSecrets first checks for an
// anchor byte: a stream scans a few dozen bytes per event, where seven
// searches cost more than one pass.
const shortText = 256

// hasSecretAnchor reports whether text holds a byte every secret candidate
// is found by: the anchors of searchPrefix ('-' of "sk-", 'A', 'J' of
// "eyJ", 'B' of "-----BEGIN "), the '_' of GitHub tokens and the separators
// of assignments.
func hasSecretAnchor(text []byte) bool {
	// Bit c of lo (c < 64) or of hi (64 <= c < 128, bit c-64).
	const lo = 1<<'-' | 1<<':' | 1<<'='
	const hi = 1<<('A'-64) | 1<<('B'-64) | 1<<('J'-64) | 1<<('_'-64)
	for _, c := range text {
		m := uint64(lo)
		if c&64 != 0 {
			m = hi
		}
		if c < 128 && m>>(c&63)&1 != 0 {
			return true
		}
	}
	return false
}

// nextSecret moves stream st of the given kind to its next candidate, or
// sets st.s to -1 when there is none.
func nextSecret(kind int, text []byte, st *secretStream) {
	var s, e int
	switch kind {
	case secretOpenAI:
		s, e = searchPrefix(text, st, "sk-", 2, openAIAt)
	case secretAWS:
		s, e = searchPrefix(text, st, "A", 0, awsAt)
	case secretGitHub:
		s, e = searchGitHub(text, st)
	case secretJWT:
		s, e = searchPrefix(text, st, "eyJ", 2, jwtAt)
	case secretPEM:
		s, e = searchPrefix(text, st, "-----BEGIN ", 5, pemAt)
	case secretAssign:
		s, e = searchAssign(text, st)
	}
	if e == 0 {
		s, e = -1, -1
	}
	st.s, st.e = s, e
}

// searchPrefix finds the next candidate whose prefix has its byte
// prefix[anchor] at or after st.pos, and moves st.pos past that byte. The
// anchor is the prefix's rarest byte in prose ('-' of "sk-", 'J' of "eyJ"):
// searching for a common first byte would stop at every 's' or 'e'.
func searchPrefix(text []byte, st *secretStream, prefix string, anchor int, try func([]byte, int) int) (s, e int) {
	for {
		k := st.pos
		if k >= len(text) {
			return 0, 0
		}
		if text[k] != prefix[anchor] {
			if k = indexFrom(text, k, prefix[anchor]); k < 0 {
				st.pos = len(text)
				return 0, 0
			}
		}
		st.pos = k + 1
		if s = k - anchor; hasPrefix(text, s, prefix) {
			if e = try(text, s); e > 0 {
				return s, e
			}
		}
	}
}

// isB64URL reports whether c is in the base64url alphabet, which is also
// the alphabet of API-key tails.
func isB64URL(c byte) bool { return isWord(c) || c == '-' }

// isGitHubKind reports whether c is the third letter of a GitHub token
// prefix: ghp_ (personal), gho_ (OAuth), ghu_ (user-to-server), ghs_
// (server-to-server), ghr_ (refresh).
func isGitHubKind(c byte) bool {
	return c == 'p' || c == 'o' || c == 'u' || c == 's' || c == 'r'
}

// openAIAt: "sk-" then at least 20 of [A-Za-z0-9_-] with a letter and a
// digit among them (sk-proj-…, sk-ant-api03-…, sk-svcacct-… included).
func openAIAt(text []byte, s int) int {
	if isB64URL(at(text, s-1)) {
		return 0
	}
	e, letter, digit := s+3, false, false
	for e < len(text) && e-s < maxTokenLen && isB64URL(text[e]) {
		letter = letter || isLetter(text[e])
		digit = digit || isDigit(text[e])
		e++
	}
	if e-(s+3) < 20 || !letter || !digit {
		return 0
	}
	return e
}

// awsAt: "AKIA" or "ASIA" then 16 of [A-Z0-9], a whole word.
func awsAt(text []byte, s int) int {
	if !hasPrefix(text, s, "AKIA") && !hasPrefix(text, s, "ASIA") {
		return 0
	}
	if isWord(at(text, s-1)) || len(text)-s < 20 || isWord(at(text, s+20)) {
		return 0
	}
	for _, c := range text[s+4 : s+20] {
		if !isUpper(c) && !isDigit(c) {
			return 0
		}
	}
	return s + 20
}

// searchGitHub finds GitHub tokens by their '_': ghp_, gho_, ghu_, ghs_,
// ghr_ then at least 36 letters and digits; github_pat_ then at least 22
// of [A-Za-z0-9_]. Both are whole words; longer tokens are cut at 256.
func searchGitHub(text []byte, st *secretStream) (s, e int) {
	for {
		u := indexFrom(text, st.pos, '_')
		if u < 0 {
			st.pos = len(text)
			return 0, 0
		}
		st.pos = u + 1
		if s, e = gitHubAt(text, u); e > 0 {
			return s, e
		}
	}
}

// gitHubAt tries a GitHub token whose first '_' is text[u].
func gitHubAt(text []byte, u int) (s, e int) {
	switch {
	case u >= 3 && text[u-3] == 'g' && text[u-2] == 'h' && isGitHubKind(text[u-1]):
		s = u - 3
		e = u + 1
		for e < len(text) && e-s < maxTokenLen && isAlnum(text[e]) {
			e++
		}
		if e-(u+1) < 36 || (e-s < maxTokenLen && isWord(at(text, e))) {
			return 0, 0
		}
	case u >= 6 && hasPrefix(text, u-6, "github_pat_"):
		s = u - 6
		e = u + 5
		for e < len(text) && e-s < maxTokenLen && isWord(text[e]) {
			e++
		}
		if e-(u+5) < 22 {
			return 0, 0
		}
	default:
		return 0, 0
	}
	if isWord(at(text, s-1)) {
		return 0, 0
	}
	return s, e
}

// jwtAt: three base64url segments joined by dots, the first starting
// "eyJ" (a JSON object) and at least 10 long, the second at least 2 and the
// signature at least 1. A longer token is cut at 8 KiB.
func jwtAt(text []byte, s int) int {
	if p := at(text, s-1); isB64URL(p) || p == '.' {
		return 0
	}
	limit := min(len(text), s+maxJWTLen)
	pos := s
	for seg, minLen := range [...]int{10, 2, 1} {
		start := pos
		for pos < limit && isB64URL(text[pos]) {
			pos++
		}
		if pos-start < minLen {
			return 0
		}
		if seg < 2 {
			if pos >= limit || text[pos] != '.' {
				return 0
			}
			pos++
		}
	}
	return pos
}

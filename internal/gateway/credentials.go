package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

var (
	strBearer        = []byte("bearer ")
	strAuthorization = []byte("Authorization")
	// Headers a client key may arrive in, in the order they are tried
	// (canonical names, as fasthttp stores parsed ones: PeekCanonical).
	keyHeaders = [...][]byte{[]byte("X-Api-Key"), []byte("Api-Key"), []byte("X-Goog-Api-Key")}
)

// clientKey returns the client's key from Authorization: Bearer, x-api-key,
// api-key or x-goog-api-key (the first present, in that order), or nil. The
// slice points into the request headers. It never allocates.
func clientKey(h *fasthttp.RequestHeader) []byte {
	if a := h.PeekCanonical(strAuthorization); len(a) > len(strBearer) && hasPrefixFold(a, strBearer) {
		return bytes.TrimSpace(a[len(strBearer):])
	}
	for _, name := range keyHeaders {
		if v := h.PeekCanonical(name); len(v) > 0 {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case
// (prefix is lower case).
func hasPrefixFold(s, prefix []byte) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i, c := range prefix {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != c {
			return false
		}
	}
	return true
}

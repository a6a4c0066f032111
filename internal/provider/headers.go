package provider

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// neverForward reports whether a request header never goes upstream:
// hop-by-hop headers (RFC 9110 §7.6.1), client credentials (the provider's
// own key replaces them), headers fasthttp computes itself, Accept-Encoding
// (Sluice reads usage from reply bodies, so it asks for them uncompressed)
// and x-request-id (Sluice sets its own, the client's when valid). key is
// lower case. A switch, not a map: it is checked for every client header.
func neverForward(key string) bool {
	switch key {
	case "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
		"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
		"host", "content-length", "accept-encoding",
		"authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie",
		"x-request-id":
		return true
	}
	return false
}

// neverReturn reports whether an upstream response header is kept from the
// client: hop-by-hop and framing headers (fasthttp writes its own), cookies,
// the upstream's Server and Date, and its request id (returned as
// x-upstream-request-id). key is lower case. A switch, not a map: it is
// checked for every upstream header.
func neverReturn(key string) bool {
	switch key {
	case "connection", "keep-alive", "transfer-encoding", "content-length", "trailer",
		"upgrade", "set-cookie", "x-request-id", "request-id", "server", "date":
		return true
	}
	return false
}

// headerPolicy decides which client headers an upstream receives.
type headerPolicy struct {
	allow map[string]bool // nil: everything not denied
	deny  map[string]bool
}

func newHeaderPolicy(allow, deny []string) headerPolicy {
	var p headerPolicy
	if len(allow) > 0 {
		p.allow = make(map[string]bool, len(allow))
		for _, h := range allow {
			p.allow[strings.ToLower(h)] = true
		}
	}
	if len(deny) > 0 {
		p.deny = make(map[string]bool, len(deny))
		for _, h := range deny {
			p.deny[strings.ToLower(h)] = true
		}
	}
	return p
}

// lowerInto writes the ASCII lower-case form of k into buf (allocating only
// for a key longer than buf's capacity) and returns it.
func lowerInto(buf []byte, k []byte) []byte {
	if cap(buf) < len(k) {
		buf = make([]byte, len(k))
	}
	buf = buf[:len(k)]
	for i, c := range k {
		buf[i] = lowerASCII[c]
	}
	return buf
}

// lowerASCII maps each byte to its ASCII lower case (other bytes to themselves).
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

func hasPrefixFold(k []byte, prefix string) bool {
	if len(k) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// forward copies the client's headers that may go upstream from src to dst.
func (p *headerPolicy) forward(dst *fasthttp.RequestHeader, src *fasthttp.RequestHeader) {
	var buf [64]byte
	var connTokens []byte // headers named by Connection are hop-by-hop too
	if c := src.PeekCanonical(strConnection); len(c) > 0 {
		connTokens = c
	}
	for k, v := range src.All() {
		lk := lowerInto(buf[:0], k)
		key := bytesView(lk)
		if neverForward(key) || hasPrefixFold(k, "x-sluice-") {
			continue
		}
		// Content-Type describes the body, which always goes upstream.
		if p.allow != nil && !p.allow[key] && key != "content-type" {
			continue
		}
		if p.deny[key] {
			continue
		}
		if connTokens != nil && tokenListHas(connTokens, lk) {
			continue
		}
		// k is canonical (see addCanonical). Repeated headers stay repeated.
		addCanonical(dst, k, v)
	}
}

// tokenListHas reports whether a comma-separated header value lists tok
// (case-insensitively; tok is lower case).
func tokenListHas(list, tok []byte) bool {
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		item := list[:i]
		for len(item) > 0 && (item[0] == ' ' || item[0] == '\t') {
			item = item[1:]
		}
		for len(item) > 0 && (item[len(item)-1] == ' ' || item[len(item)-1] == '\t') {
			item = item[:len(item)-1]
		}
		if len(item) == len(tok) && hasPrefixFold(item, bytesView(tok)) {
			return true
		}
		if i == len(list) {
			break
		}
		list = list[i+1:]
	}
	return false
}

// CopyResponseHeaders copies the upstream's response headers that a client
// may see onto dst, and its request id (OpenAI's x-request-id, Anthropic's
// request-id, Bedrock's x-amzn-requestid) as x-upstream-request-id; the gateway returns that to
// Anthropic callers as request-id too.
func CopyResponseHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader) {
	var buf [64]byte
	for k, v := range src.All() {
		lk := lowerInto(buf[:0], k)
		key := bytesView(lk)
		if neverReturn(key) {
			if key == "x-request-id" || key == "request-id" {
				dst.SetCanonical(strUpstreamRequestID, v)
			}
			continue
		}
		if key == "x-amzn-requestid" { // Bedrock's, kept under its own name too
			dst.SetCanonical(strUpstreamRequestID, v)
		}
		addResponseCanonical(dst, k, v)
	}
}

// Header names Sluice reads or sets, in the canonical form fasthttp stores a
// parsed header's names in (each word capitalised): PeekCanonical and
// SetCanonical find and set them without normalising the name, which
// Peek, Set and Add do on every call (a copy and a pass over the name:
// docs/benchmarks.md, "instructions per request").
var (
	strConnection        = []byte("Connection")
	strUpstreamRequestID = []byte("X-Upstream-Request-Id")
)

// addCanonical is dst.AddBytesKV for a name already in canonical form, as
// the names of a parsed header (what All yields) are: the name is not
// normalised again. dst normalises names again afterwards.
func addCanonical(dst *fasthttp.RequestHeader, k, v []byte) {
	dst.DisableNormalizing()
	dst.AddBytesKV(k, v)
	dst.EnableNormalizing()
}

// addResponseCanonical is addCanonical for a response header.
func addResponseCanonical(dst *fasthttp.ResponseHeader, k, v []byte) {
	dst.DisableNormalizing()
	dst.AddBytesKV(k, v)
	dst.EnableNormalizing()
}

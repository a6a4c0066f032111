package mock

import (
	"bytes"
	"time"
)

// sigV4Algorithm is the scheme of an AWS Signature Version 4 Authorization header.
const sigV4Algorithm = "AWS4-HMAC-SHA256 "

// checkSigV4 checks that a Bedrock request's Authorization header has the shape of an
// AWS Signature Version 4 header:
//
//	AWS4-HMAC-SHA256 Credential=<access key id>/<yyyymmdd>/<region>/bedrock/aws4_request, SignedHeaders=<name;...>, Signature=<64 hex digits>
//
// The three parameters may come in any order, separated by commas with optional
// spaces. The signature itself is not verified: the mock knows no secret key. It returns
// "" for a well-formed header, else the message of the 403 that refuses the request; the
// message never repeats the header's value.
func checkSigV4(h []byte) string {
	if len(h) == 0 {
		return "Missing Authentication Token: sign the request with AWS Signature Version 4 (AWS4-HMAC-SHA256, service bedrock)."
	}
	rest, ok := cutPrefix(h, sigV4Algorithm)
	if !ok {
		return "Authorization header is not AWS Signature Version 4: it must start with AWS4-HMAC-SHA256."
	}
	var credential, signed, signature []byte
	for len(rest) > 0 {
		var part []byte
		part, rest, _ = bytes.Cut(rest, []byte{','})
		part = bytes.TrimSpace(part)
		name, value, ok := bytes.Cut(part, []byte{'='})
		if !ok {
			return "Authorization header has a parameter that is not name=value."
		}
		switch string(name) {
		case "Credential":
			credential = value
		case "SignedHeaders":
			signed = value
		case "Signature":
			signature = value
		default:
			return "Authorization header has an unknown parameter; want Credential, SignedHeaders and Signature."
		}
	}
	switch {
	case credential == nil:
		return "Authorization header requires 'Credential' parameter."
	case signed == nil:
		return "Authorization header requires 'SignedHeaders' parameter."
	case signature == nil:
		return "Authorization header requires 'Signature' parameter."
	}
	if msg := checkCredentialScope(credential); msg != "" {
		return msg
	}
	if !validSignedHeaders(signed) {
		return "SignedHeaders must list lower-case header names separated by ';', host among them."
	}
	if !isLowerHex(signature, 64) {
		return "Signature must be 64 lower-case hexadecimal digits."
	}
	return ""
}

// checkCredentialScope checks <access key id>/<yyyymmdd>/<region>/bedrock/aws4_request.
func checkCredentialScope(v []byte) string {
	var parts [5][]byte
	n := 0
	for part := range bytes.SplitSeq(v, []byte{'/'}) {
		if n == len(parts) {
			n++
			break
		}
		parts[n] = part
		n++
	}
	if n != len(parts) {
		return "Credential must be <access key id>/<date>/<region>/bedrock/aws4_request."
	}
	key, date, region, service, term := parts[0], parts[1], parts[2], parts[3], parts[4]
	switch {
	case len(key) == 0 || bytes.ContainsAny(key, " \t"):
		return "Credential must start with an access key id."
	case !validDate(date):
		return "Credential should be scoped to a valid date (yyyymmdd)."
	case len(region) == 0 || !isRegion(region):
		return "Credential should be scoped to a valid region."
	case string(service) != "bedrock":
		return "Credential should be scoped to correct service: 'bedrock'."
	case string(term) != "aws4_request":
		return "Credential should be scoped with a valid terminator: 'aws4_request'."
	}
	return ""
}

// validDate checks a yyyymmdd date without parsing it into a time (no allocation).
func validDate(b []byte) bool {
	if len(b) != 8 {
		return false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	year, month, day := n/10000, n/100%100, n%100
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isRegion(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validSignedHeaders checks a ';'-separated list of lower-case header names that
// includes host, which SigV4 always signs.
func validSignedHeaders(v []byte) bool {
	host := false
	for name := range bytes.SplitSeq(v, []byte{';'}) {
		if len(name) == 0 {
			return false
		}
		for _, c := range name {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
		host = host || string(name) == "host"
	}
	return host
}

func isLowerHex(b []byte, n int) bool {
	if len(b) != n {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

package mock

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// param identifies one steering control.
type param uint8

const (
	pTTFT param = iota
	pITL
	pJitter
	pLatency
	pTokens
	pResponseSize
	pStatus
	pErrorRate
	pDropRate
	pMalformedRate
	pDisconnectAfter
	pHang
	pCachedTokens
	pCacheWriteTokens
	numParams
)

// paramNames are the contract's header names, also accepted as query parameters.
var paramNames = [numParams]string{
	pTTFT:             "X-Mock-TTFT",
	pITL:              "X-Mock-ITL",
	pJitter:           "X-Mock-Jitter",
	pLatency:          "X-Mock-Latency",
	pTokens:           "X-Mock-Tokens",
	pResponseSize:     "X-Response-Size",
	pStatus:           "X-Mock-Status",
	pErrorRate:        "X-Mock-Error-Rate",
	pDropRate:         "X-Mock-Drop-Rate",
	pMalformedRate:    "X-Mock-Malformed-Rate",
	pDisconnectAfter:  "X-Mock-Disconnect-After",
	pHang:             "X-Mock-Hang",
	pCachedTokens:     "X-Mock-Cached-Tokens",
	pCacheWriteTokens: "X-Mock-Cache-Write-Tokens",
}

// aliases come from the seed benchmark's mock. They rank between headers and query
// parameters.
var aliases = [...]struct {
	name string
	p    param
}{
	{"X-Vidai-Latency", pLatency},
	{"X-Vidai-Chaos-Drop", pErrorRate},
}

// Precedence levels: a value from a higher level replaces one from a lower level.
const (
	levelOption uint8 = iota
	levelQuery
	levelAlias
	levelHeader
)

// maxSteerDelay bounds every steered delay, so that a typo cannot park a request for days.
const maxSteerDelay = time.Hour

// maxSteerTokens bounds the length of a steered reply.
const maxSteerTokens = 1_000_000

// steer is the resolved steering of one request.
type steer struct {
	ttft, itl     time.Duration
	latency       time.Duration // total reply time; valid when hasLatency
	hasLatency    bool
	jitter        float64 // fraction of ITL, 0..1
	tokens        int     // -1: not steered
	respSize      int     // bytes of content; -1: not steered
	status        int     // 0: not steered
	errorRate     float64 // percent
	dropRate      float64
	malformedRate float64
	disconnect    int // tokens before an abrupt close; -1: never
	hang          bool
	// Prompt tokens the reply's usage reports as read from (cacheRead) and written to
	// (cacheWrite) the provider's prompt cache; 0: none. They are part of the prompt
	// count, which plan raises to cover them.
	cacheRead, cacheWrite int

	level [numParams]uint8
}

// steerError is a malformed or unknown control value. Its message names the control.
type steerError struct {
	name  string // header or query parameter as the client spelt it
	query bool
	value string
	want  string
}

func (e *steerError) Error() string {
	where := "header"
	if e.query {
		where = "query parameter"
	}
	if e.want == "" {
		return fmt.Sprintf("unknown steering %s %s", where, e.name)
	}
	return fmt.Sprintf("invalid value %q for %s %s: want %s", e.value, where, e.name, e.want)
}

// defaultSteer returns the steering that Options give every request.
func defaultSteer(o *Options) steer {
	return steer{ttft: o.TTFT, itl: o.ITL, tokens: -1, respSize: -1, disconnect: -1}
}

// parseSteer resolves the steering of a request: Options (in base), then query
// parameters, then aliases, then headers.
func parseSteer(base *steer, req *fasthttp.Request) (steer, error) {
	s := *base
	if len(req.URI().QueryString()) > 0 {
		for k, v := range req.URI().QueryArgs().All() {
			if !hasSteerPrefix(k) {
				continue
			}
			// Aliases work as query parameters too, at the query level.
			p, _, ok := lookupParam(k)
			if !ok {
				return s, &steerError{name: string(k), query: true}
			}
			if err := s.set(p, levelQuery, v); err != nil {
				err.name, err.query = string(k), true
				return s, err
			}
		}
	}
	for k, v := range req.Header.All() {
		if !hasSteerPrefix(k) {
			continue
		}
		p, lvl, ok := lookupParam(k)
		if !ok {
			return s, &steerError{name: string(k)}
		}
		if err := s.set(p, lvl, v); err != nil {
			err.name = paramNames[p]
			if lvl == levelAlias {
				err.name = aliasName(k)
			}
			return s, err
		}
	}
	return s, nil
}

// hasSteerPrefix reports whether k names a steering control (or a misspelt one).
func hasSteerPrefix(k []byte) bool {
	return hasPrefixFold(k, "x-mock-") || hasPrefixFold(k, "x-vidai-") || equalFold(k, "x-response-size")
}

func lookupParam(k []byte) (param, uint8, bool) {
	for p, name := range paramNames {
		if equalFold(k, name) {
			return param(p), levelHeader, true
		}
	}
	for _, a := range aliases {
		if equalFold(k, a.name) {
			return a.p, levelAlias, true
		}
	}
	return 0, 0, false
}

// aliasName returns the contract's spelling of alias k.
func aliasName(k []byte) string {
	for _, a := range aliases {
		if equalFold(k, a.name) {
			return a.name
		}
	}
	return string(k)
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// equalFold compares ASCII case-insensitively; s must be ASCII.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c == d {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// set parses v into control p unless a higher level already set it.
func (s *steer) set(p param, lvl uint8, v []byte) *steerError {
	if lvl < s.level[p] {
		return nil
	}
	var err *steerError
	switch p {
	case pTTFT:
		s.ttft, err = parseDelay(v)
	case pITL:
		s.itl, err = parseDelay(v)
	case pLatency:
		s.latency, err = parseDelay(v)
		s.hasLatency = err == nil
	case pJitter:
		s.jitter, err = parseFraction(v, 1, "a fraction between 0 and 1")
	case pTokens:
		s.tokens, err = parseCount(v, maxSteerTokens)
	case pResponseSize:
		s.respSize, err = parseCount(v, 64<<20)
	case pStatus:
		s.status, err = parseStatus(v)
	case pErrorRate:
		s.errorRate, err = parseFraction(v, 100, "a percentage between 0 and 100")
	case pDropRate:
		s.dropRate, err = parseFraction(v, 100, "a percentage between 0 and 100")
	case pMalformedRate:
		s.malformedRate, err = parseFraction(v, 100, "a percentage between 0 and 100")
	case pDisconnectAfter:
		s.disconnect, err = parseCount(v, maxSteerTokens)
	case pHang:
		s.hang, err = parseFlag(v)
	case pCachedTokens:
		s.cacheRead, err = parseCount(v, maxSteerTokens)
	case pCacheWriteTokens:
		s.cacheWrite, err = parseCount(v, maxSteerTokens)
	}
	if err != nil {
		return err
	}
	s.level[p] = lvl
	return nil
}

func badValue(v []byte, want string) *steerError {
	if len(v) > 64 {
		v = v[:64]
	}
	return &steerError{value: string(v), want: want}
}

// parseDelay reads milliseconds (decimals allowed, e.g. "12.5") or a Go duration ("2s").
func parseDelay(v []byte) (time.Duration, *steerError) {
	const want = "milliseconds such as 50 or 12.5, or a duration such as 2s, at most 1h"
	s := bytesString(v)
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(ms) || ms < 0 || ms > float64(maxSteerDelay/time.Millisecond) {
			return 0, badValue(v, want)
		}
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxSteerDelay {
		return 0, badValue(v, want)
	}
	return d, nil
}

// parseFraction reads a decimal between 0 and limit.
func parseFraction(v []byte, limit float64, want string) (float64, *steerError) {
	f, err := strconv.ParseFloat(bytesString(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > limit {
		return 0, badValue(v, want)
	}
	return f, nil
}

// parseCount reads a whole number between 0 and limit.
func parseCount(v []byte, limit int) (int, *steerError) {
	n, err := strconv.Atoi(bytesString(v))
	if err != nil || n < 0 || n > limit {
		return 0, badValue(v, fmt.Sprintf("a whole number between 0 and %d", limit))
	}
	return n, nil
}

// parseStatus reads a status to force: 2xx replies normally with that status, 4xx and
// 5xx reply with the format's own error.
func parseStatus(v []byte) (int, *steerError) {
	n, err := strconv.Atoi(bytesString(v))
	if err != nil || !(n >= 200 && n <= 299 || n >= 400 && n <= 599) {
		return 0, badValue(v, "an HTTP status in 200-299 or 400-599")
	}
	return n, nil
}

// parseFlag reads a boolean; an empty value means true, so "?X-Mock-Hang" works.
func parseFlag(v []byte) (bool, *steerError) {
	switch {
	case len(v) == 0, equalFold(v, "1"), equalFold(v, "true"), equalFold(v, "yes"), equalFold(v, "on"):
		return true, nil
	case equalFold(v, "0"), equalFold(v, "false"), equalFold(v, "no"), equalFold(v, "off"):
		return false, nil
	}
	return false, badValue(v, "true or false")
}

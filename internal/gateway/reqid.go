package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// requestIDs hands out request ids: a random per-process prefix and a
// counter, so ids are unique across instances without a random read per
// request.
type requestIDs struct {
	prefix []byte
	seq    atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	p := make([]byte, 0, 20)
	p = append(p, "sl-"...)
	p = hex.AppendEncode(p, b[:])
	p = append(p, '-')
	return &requestIDs{prefix: p}
}

// next appends a new id to dst.
func (r *requestIDs) next(dst []byte) []byte {
	dst = append(dst, r.prefix...)
	return strconv.AppendUint(dst, r.seq.Add(1), 36)
}

// validRequestID reports whether a client-supplied x-request-id may be kept:
// ^[A-Za-z0-9._:-]{1,128}$.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// strUpstreamRequestID is in fasthttp's canonical form.
var strUpstreamRequestID = []byte("X-Upstream-Request-Id")

// setFormatRequestID sets name, the header in which the caller's format
// reports a reply's request id (wire.Hooks' IDHeader: Anthropic's SDKs read
// request-id): the upstream's id when an upstream answered (the same as
// x-upstream-request-id), else, for the errors Sluice answers itself,
// Sluice's own id (x-request-id), so that the caller always has an id to
// quote. OpenAI's id header is x-request-id, which carries Sluice's id by
// contract; an OpenAI caller finds the upstream's in x-upstream-request-id
// only.
func setFormatRequestID(h *fasthttp.ResponseHeader, name []byte) {
	id := h.PeekCanonical(strUpstreamRequestID)
	if len(id) == 0 {
		id = h.PeekCanonical(strXRequestID)
	}
	if len(id) > 0 {
		h.SetCanonical(name, id)
	}
}

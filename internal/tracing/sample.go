package tracing

import (
	"encoding/binary"
	"math/rand/v2"
)

// Decision is the outcome of Sample for a traced request: the ids its spans
// will carry. The zero Decision is "not traced"; Record ignores it.
type Decision struct {
	// TraceID is the W3C trace id of the request: the parent's when the
	// request carried a valid traceparent, otherwise a new random one.
	TraceID [16]byte
	// SpanID is the id the request's (server) span will have.
	SpanID [8]byte
	// UpstreamSpanID is the id the upstream child span will have. A gateway
	// that propagates the trace upstream sends AppendTraceparent's value,
	// which names this span as the parent.
	UpstreamSpanID [8]byte
	// ParentSpanID is the remote parent's span id from the traceparent;
	// all zero when the request started a new trace.
	ParentSpanID [8]byte

	sampled bool
}

// Sampled reports whether d is a decision to trace (Record acts only then).
func (d Decision) Sampled() bool { return d.sampled }

// HasParent reports whether the request carried a valid, sampled traceparent
// that the request span continues.
func (d Decision) HasParent() bool { return d.ParentSpanID != [8]byte{} }

// AppendTraceparent appends a W3C traceparent header value naming the
// upstream child span as the parent ("00-{trace id}-{upstream span id}-01")
// to dst and returns the extended slice. It does not allocate when dst has
// 55 bytes of spare capacity. On an unsampled Decision it returns dst.
func (d Decision) AppendTraceparent(dst []byte) []byte {
	if !d.sampled {
		return dst
	}
	dst = append(dst, '0', '0', '-')
	dst = appendHex(dst, d.TraceID[:])
	dst = append(dst, '-')
	dst = appendHex(dst, d.UpstreamSpanID[:])
	return append(dst, '-', '0', '1')
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, src []byte) []byte {
	for _, b := range src {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}

// Sample decides whether a request is traced, from the value of its
// traceparent header (nil or empty when it had none). The rule:
//
//   - a valid traceparent with the sampled flag set: traced, continuing
//     that trace (parent-based);
//   - a valid traceparent with the flag clear: not traced, whatever the
//     ratio (the caller upstream decided);
//   - no traceparent, or an invalid one (treated as absent): traced with
//     probability Config.SampleRatio, decided from the new trace id the
//     way OpenTelemetry's TraceIDRatioBased sampler does (the low 63 bits
//     of its last 8 bytes against ratio·2⁶³), so any component that
//     re-applies that sampler to the id agrees.
//
// Sample does not allocate; without a traceparent and not sampled it costs
// one random number. It is safe on a nil *Tracer (never traced) and for
// concurrent use. The bool repeats Decision.Sampled.
func (t *Tracer) Sample(traceparent []byte) (Decision, bool) {
	if t == nil {
		return Decision{}, false
	}
	if len(traceparent) > 0 {
		if tid, pid, flags, ok := parseTraceparent(traceparent); ok {
			if flags&flagSampled == 0 {
				return Decision{}, false
			}
			d := Decision{TraceID: tid, ParentSpanID: pid, sampled: true}
			putSpanIDs(&d)
			return d, true
		}
	}
	if t.bound == 0 {
		return Decision{}, false
	}
	lo := rand.Uint64()
	if !t.keep(lo) {
		return Decision{}, false
	}
	hi := rand.Uint64()
	for hi == 0 && lo == 0 { // the all-zero trace id is invalid
		hi = rand.Uint64()
	}
	d := Decision{sampled: true}
	binary.BigEndian.PutUint64(d.TraceID[:8], hi)
	binary.BigEndian.PutUint64(d.TraceID[8:], lo)
	putSpanIDs(&d)
	return d, true
}

// keep applies the ratio to the low 8 bytes of a new trace id (big
// endian), exactly as the SDK's TraceIDRatioBased sampler does.
func (t *Tracer) keep(lo uint64) bool {
	return t.bound > maxBound || lo>>1 < t.bound
}

// maxBound is 2⁶³: every 63-bit value is below it, so a bound above it
// (ratio 1) samples without looking at the id.
const maxBound = uint64(1) << 63

// ratioBound turns a sampling ratio into the threshold Sample compares the
// trace id's low 63 bits against: 0 never samples, above maxBound always.
func ratioBound(ratio float64) uint64 {
	switch {
	case ratio <= 0:
		return 0
	case ratio >= 1:
		return maxBound + 1
	}
	return uint64(ratio * float64(maxBound))
}

func putSpanIDs(d *Decision) {
	binary.BigEndian.PutUint64(d.SpanID[:], nonZeroUint64())
	binary.BigEndian.PutUint64(d.UpstreamSpanID[:], nonZeroUint64())
}

func nonZeroUint64() uint64 {
	for {
		if v := rand.Uint64(); v != 0 {
			return v
		}
	}
}

const flagSampled = 0x01

// parseTraceparent parses a W3C Trace Context traceparent header value:
// "{version}-{trace-id}-{parent-id}-{trace-flags}", lowercase hex, 2-32-16-2
// digits. Version ff, an all-zero trace or parent id, uppercase hex, or
// version 00 with anything after the flags make it invalid. A later
// version may append "-..." after the flags, which is ignored. Optional
// whitespace around the value is tolerated.
func parseTraceparent(b []byte) (tid [16]byte, pid [8]byte, flags byte, ok bool) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	const n = 55 // 2+1+32+1+16+1+2
	if len(b) < n || b[2] != '-' || b[35] != '-' || b[52] != '-' {
		return tid, pid, 0, false
	}
	ver, ok := hexByte(b[0], b[1])
	if !ok || ver == 0xff || (ver == 0 && len(b) != n) || (len(b) > n && b[n] != '-') {
		return tid, pid, 0, false
	}
	if !decodeHex(tid[:], b[3:35]) || tid == [16]byte{} {
		return tid, pid, 0, false
	}
	if !decodeHex(pid[:], b[36:52]) || pid == [8]byte{} {
		return tid, pid, 0, false
	}
	flags, ok = hexByte(b[53], b[54])
	return tid, pid, flags, ok
}

// decodeHex decodes lowercase hex src into dst (len(src) == 2·len(dst)).
func decodeHex(dst, src []byte) bool {
	for i := range dst {
		v, ok := hexByte(src[2*i], src[2*i+1])
		if !ok {
			return false
		}
		dst[i] = v
	}
	return true
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexNibble(hi)
	l, ok2 := hexNibble(lo)
	return h<<4 | l, ok1 && ok2
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

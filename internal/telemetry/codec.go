package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The spool stores batches in a compact binary form (not JSON: durations
// and times round-trip exactly, and it is several times faster). A batch
// payload is:
//
//	version byte (codecVersion) | uvarint record count | records
//
// and a record is its fields in declaration order: strings as uvarint
// length + bytes, integers as varints, bools packed in one flags byte,
// times as varint seconds + uvarint nanoseconds, floats as 8 little-endian
// bytes, tags as a count + key/value strings, verdicts as a count + (rule,
// action, scope, varint count), bodies as uvarint (length+1) with 0 = nil.
//
// Version 2 added the cache-write and reasoning token counts after the
// cached tokens. decodeBatch reads version 1 too (a spool left by an
// older binary), with those counts 0.
const codecVersion = 2

// errCodec is a payload that does not decode; the frame CRC makes this a
// bug or a version mismatch, never a torn write.
var errCodec = errors.New("telemetry: spool payload does not decode")

const (
	flagStream = 1 << iota
	flagFallback
	flagTokensEstimated
)

// appendBatch appends batch's payload to dst.
func appendBatch(dst []byte, batch []Record) []byte {
	dst = append(dst, codecVersion)
	dst = binary.AppendUvarint(dst, uint64(len(batch)))
	for i := range batch {
		dst = appendRecord(dst, &batch[i])
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

func appendRecord(dst []byte, r *Record) []byte {
	dst = appendString(dst, r.RequestID)
	dst = binary.AppendVarint(dst, r.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(r.Time.Nanosecond()))
	dst = appendString(dst, r.KeyID)
	dst = appendString(dst, r.KeyName)
	dst = appendString(dst, r.Team)
	dst = binary.AppendUvarint(dst, uint64(len(r.Tags)))
	for k, v := range r.Tags {
		dst = appendString(dst, k)
		dst = appendString(dst, v)
	}
	dst = appendString(dst, r.EndUser)
	dst = appendString(dst, r.ClientIP)
	dst = appendString(dst, r.UserAgent)
	dst = appendString(dst, r.Route)
	dst = appendString(dst, r.Format)
	dst = appendString(dst, r.Model)
	dst = appendString(dst, r.Provider)
	dst = appendString(dst, r.UpstreamModel)
	var flags byte
	if r.Stream {
		flags |= flagStream
	}
	if r.Fallback {
		flags |= flagFallback
	}
	if r.TokensEstimated {
		flags |= flagTokensEstimated
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, int64(r.Status))
	dst = appendString(dst, r.ErrorCode)
	dst = binary.AppendVarint(dst, int64(r.Attempts))
	dst = binary.AppendVarint(dst, int64(r.Latency))
	dst = binary.AppendVarint(dst, int64(r.TTFT))
	dst = binary.AppendVarint(dst, int64(r.UpstreamTime))
	dst = binary.AppendVarint(dst, int64(r.Overhead))
	dst = binary.AppendVarint(dst, r.PromptTokens)
	dst = binary.AppendVarint(dst, r.CompletionTokens)
	dst = binary.AppendVarint(dst, r.CachedTokens)
	dst = binary.AppendVarint(dst, r.CacheWriteTokens)
	dst = binary.AppendVarint(dst, r.ReasoningTokens)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.CostUSD))
	dst = binary.AppendUvarint(dst, uint64(len(r.Guardrails)))
	for _, v := range r.Guardrails {
		dst = appendString(dst, v.Rule)
		dst = appendString(dst, v.Action)
		dst = appendString(dst, v.Scope)
		dst = binary.AppendVarint(dst, int64(v.Count))
	}
	dst = appendString(dst, r.RateLimit)
	dst = appendBytes(dst, r.RequestBody)
	dst = appendBytes(dst, r.ResponseBody)
	return dst
}

// decoder reads a payload; the first error sticks and every later read
// returns zero values.
type decoder struct {
	b       []byte
	err     error
	version byte
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCodec
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a collection length whose entries take at least min bytes
// each, refusing lengths the rest of the payload cannot hold.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) byte1() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) raw(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) str() string { return string(d.raw(d.uvarint())) }

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	b := d.raw(n - 1)
	if d.err != nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

// decodeBatch appends the records of payload to dst.
func decodeBatch(dst []Record, payload []byte) ([]Record, error) {
	d := decoder{b: payload}
	v := d.byte1()
	if v != 1 && v != codecVersion {
		return dst, fmt.Errorf("%w: version %d", errCodec, v)
	}
	d.version = v
	// A record takes at least 38 bytes (one per field, 8 for the cost),
	// which bounds the count a corrupt payload can claim.
	n := d.count(38)
	for range n {
		var r Record
		d.record(&r)
		if d.err != nil {
			return dst, d.err
		}
		dst = append(dst, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return dst, d.err
}

func (d *decoder) record(r *Record) {
	r.RequestID = d.str()
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		d.fail()
	}
	r.Time = time.Unix(sec, int64(nsec)).UTC()
	r.KeyID = d.str()
	r.KeyName = d.str()
	r.Team = d.str()
	if n := d.count(2); n > 0 {
		r.Tags = make(map[string]string, n)
		for range n {
			k := d.str()
			r.Tags[k] = d.str()
		}
	}
	r.EndUser = d.str()
	r.ClientIP = d.str()
	r.UserAgent = d.str()
	r.Route = d.str()
	r.Format = d.str()
	r.Model = d.str()
	r.Provider = d.str()
	r.UpstreamModel = d.str()
	flags := d.byte1()
	r.Stream = flags&flagStream != 0
	r.Fallback = flags&flagFallback != 0
	r.TokensEstimated = flags&flagTokensEstimated != 0
	r.Status = d.int()
	r.ErrorCode = d.str()
	r.Attempts = d.int()
	r.Latency = time.Duration(d.varint())
	r.TTFT = time.Duration(d.varint())
	r.UpstreamTime = time.Duration(d.varint())
	r.Overhead = time.Duration(d.varint())
	r.PromptTokens = d.varint()
	r.CompletionTokens = d.varint()
	r.CachedTokens = d.varint()
	if d.version >= 2 {
		r.CacheWriteTokens = d.varint()
		r.ReasoningTokens = d.varint()
	}
	if c := d.raw(8); c != nil {
		r.CostUSD = math.Float64frombits(binary.LittleEndian.Uint64(c))
	}
	if n := d.count(4); n > 0 {
		r.Guardrails = make([]Verdict, n)
		for i := range r.Guardrails {
			v := &r.Guardrails[i]
			v.Rule, v.Action, v.Scope = d.str(), d.str(), d.str()
			v.Count = d.int()
		}
	}
	r.RateLimit = d.str()
	r.RequestBody = d.bytes()
	r.ResponseBody = d.bytes()
}

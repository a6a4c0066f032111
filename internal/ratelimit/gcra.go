package ratelimit

import (
	"math/bits"
	"time"
)

// Period is the window every rpm and tpm limit is expressed over.
const Period = time.Minute

// maxDebtPeriods caps how far a charge for usage beyond the reservation
// can push a bucket into debt: at most this many periods of its limit.
// A key that used far more than its limit waits at most that long.
const maxDebtPeriods = 60

// maxLimit bounds a limit (see config.MaxLimit): limits above it are
// clamped, so that n×Period never overflows 128 bits and a quotient of
// Div64 always fits.
const maxLimit = 1_000_000_000_000_000

// bucket is the state of one GCRA limit: the theoretical arrival time
// (TAT) of the next unit, as whole nanoseconds plus a fraction frac/limit
// of a nanosecond, so that the arithmetic is exact for every limit.
//
// With emission interval T = Period/limit and tolerance τ = Period (burst
// equal to the limit), a cost of n units at time now is admitted when
// max(TAT, now) + n·T − now ≤ τ, and then moves the TAT there. A bucket
// whose TAT is not after now is full: it admits limit units at once. The
// zero bucket is full.
type bucket struct {
	tat   int64  // ns (clock's Unix time), integer part
	frac  uint64 // fraction of a ns, in units of 1/limit; < limit
	limit uint64 // the limit frac is expressed in; 0 before first use
}

// step returns n·T = n·Period/limit as a whole number q of nanoseconds
// plus r/limit. n must be at most maxDebtPeriods·limit.
func step(n, limit uint64) (q, r uint64) {
	hi, lo := bits.Mul64(n, uint64(Period))
	return bits.Div64(hi, lo, limit)
}

// clampLimit bounds a configured limit to what the arithmetic supports.
func clampLimit(l int64) uint64 {
	if l > maxLimit {
		return maxLimit
	}
	return uint64(l)
}

// use sets the limit the bucket works with. When it changes (a key's limit
// was edited) the TAT is kept in time, rounded up to a whole nanosecond:
// the bucket is full again at the same moment.
func (b *bucket) use(limit uint64) {
	if b.limit == limit {
		return
	}
	if b.frac > 0 {
		b.tat++
	}
	b.frac, b.limit = 0, limit
}

// start returns the TAT from which a new cost counts: the bucket's, or now
// when the bucket is full.
func (b *bucket) start(now int64) (int64, uint64) {
	if b.tat < now {
		return now, 0
	}
	return b.tat, b.frac
}

// result is the outcome of one bucket operation.
type result struct {
	ok        bool
	remaining int64         // units left now (after the operation when ok)
	reset     time.Duration // until the bucket is full again
	retry     time.Duration // !ok: until the cost would be admitted
}

// take tries to consume n units (1 ≤ n ≤ limit) at now. On success it
// updates the bucket; either way it reports the state for headers.
func (b *bucket) take(now int64, n, limit uint64) result {
	b.use(limit)
	tat, frac := b.start(now)
	q, r := step(n, limit)
	ntat, nfrac := tat+int64(q), frac+r
	if nfrac >= limit {
		nfrac -= limit
		ntat++
	}
	over := ntat - now - int64(Period)
	if over > 0 || (over == 0 && nfrac > 0) {
		retry := over
		if nfrac > 0 {
			retry++
		}
		return result{ok: false, remaining: remaining(tat, frac, now, limit), reset: untilFull(tat, frac, now), retry: time.Duration(retry)}
	}
	b.tat, b.frac = ntat, nfrac
	return result{ok: true, remaining: remaining(ntat, nfrac, now, limit), reset: untilFull(ntat, nfrac, now)}
}

// peek reports the bucket's state at now without changing it.
func (b *bucket) peek(now int64, limit uint64) result {
	b.use(limit)
	tat, frac := b.start(now)
	return result{ok: true, remaining: remaining(tat, frac, now, limit), reset: untilFull(tat, frac, now)}
}

// adjust charges (delta > 0) or refunds (delta < 0) units without an
// admission check: reconciling a reservation to actual usage. A refund
// never makes the bucket more than full; a charge never puts it more than
// maxDebtPeriods periods into debt.
func (b *bucket) adjust(now, delta int64, limit uint64) {
	b.use(limit)
	switch {
	case delta > 0:
		tat, frac := b.start(now)
		n := uint64(delta)
		if n > maxDebtPeriods*limit {
			n = maxDebtPeriods * limit
		}
		q, r := step(n, limit)
		tat, frac = tat+int64(q), frac+r
		if frac >= limit {
			frac -= limit
			tat++
		}
		if cap := now + maxDebtPeriods*int64(Period); tat > cap {
			tat, frac = cap, 0
		}
		b.tat, b.frac = tat, frac
	case delta < 0:
		if b.tat < now {
			return // already full
		}
		n := uint64(-delta)
		if n > maxDebtPeriods*limit {
			n = maxDebtPeriods * limit
		}
		q, r := step(n, limit)
		tat, frac := b.tat-int64(q), b.frac
		if frac < r {
			frac += limit
			tat--
		}
		frac -= r
		if tat < now {
			tat, frac = now, 0
		}
		b.tat, b.frac = tat, frac
	}
}

// full reports whether the bucket is full at now (it carries no state).
func (b *bucket) full(now int64) bool { return b.tat < now || (b.tat == now && b.frac == 0) }

// remaining returns floor((now + Period − TAT)·limit/Period), at least 0:
// the units that could be taken at once.
func remaining(tat int64, frac uint64, now int64, limit uint64) int64 {
	x := now + int64(Period) - tat
	if x <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(x), limit)
	lo, borrow := bits.Sub64(lo, frac, 0)
	hi -= borrow
	q, _ := bits.Div64(hi, lo, uint64(Period))
	return int64(q)
}

// untilFull returns TAT − now rounded up to a nanosecond, at least 0.
func untilFull(tat int64, frac uint64, now int64) time.Duration {
	d := tat - now
	if frac > 0 {
		d++
	}
	return time.Duration(max(d, 0))
}

package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram: values below 2^(subBits+1)
// nanoseconds have a bucket each; above that, every power of two is split into 2^subBits
// equal buckets. With subBits = 7 a reported value is within 1/256 (0.39 %) of every
// value recorded in its bucket.
const (
	subBits   = 7
	subCount  = 1 << subBits       // buckets per power of two
	linearMax = 2 * subCount       // values below this are exact
	maxShift  = 44 - (subBits + 1) // values are clamped below 2^44 ns (about 4.9 h)
	numBucket = linearMax + maxShift*subCount
	maxValue  = 1<<44 - 1
)

// Histogram records durations in a fixed set of log-linear buckets. Record, Merge and
// the queries are safe for concurrent use (counts are updated atomically), so the
// workers of a step share one Histogram. The zero value is not usable; call
// NewHistogram.
type Histogram struct {
	counts []uint64
	total  atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
	min    atomic.Int64  // math.MaxInt64 when empty
	max    atomic.Int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	h := &Histogram{counts: make([]uint64, numBucket)}
	h.min.Store(math.MaxInt64)
	return h
}

// bucketOf returns the bucket index of v (nanoseconds, clamped to [0, maxValue]).
func bucketOf(v int64) int {
	if v < linearMax {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	if v > maxValue {
		v = maxValue
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1) // ≥ 1 here
	return linearMax + (shift-1)*subCount + int(v>>shift) - subCount
}

// bucketRange returns the lowest value of bucket i and the bucket's width.
func bucketRange(i int) (lo, width int64) {
	if i < linearMax {
		return int64(i), 1
	}
	shift := (i-linearMax)/subCount + 1
	m := int64((i-linearMax)%subCount + subCount)
	return m << shift, 1 << shift
}

// bucketValue is the value reported for bucket i: its midpoint.
func bucketValue(i int) int64 {
	lo, w := bucketRange(i)
	return lo + (w-1)/2
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	atomic.AddUint64(&h.counts[bucketOf(v)], 1)
	h.total.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if v >= m || h.min.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest recorded value exactly, or 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Min returns the smallest recorded value exactly, or 0 when empty.
func (h *Histogram) Min() time.Duration {
	m := h.min.Load()
	if m == math.MaxInt64 {
		return 0
	}
	return time.Duration(m)
}

// Mean returns the arithmetic mean of the recorded values, or 0 when empty.
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the value at quantile q (0 < q ≤ 1): the reported value of the
// bucket that holds the ceil(q·n)-th smallest recording, clamped to [Min, Max]; the
// largest recording itself is exact. It returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	if rank >= n {
		return h.Max() // the largest recording is known exactly
	}
	var seen uint64
	for i := range h.counts {
		seen += atomic.LoadUint64(&h.counts[i])
		if seen >= rank {
			v := time.Duration(bucketValue(i))
			return min(max(v, h.Min()), h.Max())
		}
	}
	return h.Max() // counts were updated while we read them
}

// Merge adds every recording of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := atomic.LoadUint64(&o.counts[i]); c > 0 {
			atomic.AddUint64(&h.counts[i], c)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	if o.total.Load() == 0 {
		return
	}
	for v := o.max.Load(); ; {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for v := o.min.Load(); ; {
		m := h.min.Load()
		if v >= m || h.min.CompareAndSwap(m, v) {
			break
		}
	}
}

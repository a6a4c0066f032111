package route

import (
	"sync/atomic"
)

// Budget bounds retries across the gateway so that a dead upstream does
// not see its load multiplied: retries in flight may not exceed Ratio of
// the requests in flight, with a floor of MinConcurrent retries (Envoy's
// retry budget semantics).
type Budget struct {
	// Ratio is the share of active requests that may be retries. Default 0.2.
	Ratio float64
	// MinConcurrent retries are always allowed. Default 3.
	MinConcurrent int64

	active  atomic.Int64
	retries atomic.Int64
}

// Begin counts an active request; call End when it finishes.
func (b *Budget) Begin() { b.active.Add(1) }

// End un-counts an active request.
func (b *Budget) End() { b.active.Add(-1) }

// TryRetry reserves a retry if the budget allows one; the caller calls
// RetryDone when that attempt finishes.
func (b *Budget) TryRetry() bool {
	ratio, floor := b.Ratio, b.MinConcurrent
	if ratio <= 0 {
		ratio = 0.2
	}
	if floor <= 0 {
		floor = 3
	}
	for {
		r := b.retries.Load()
		allowed := int64(ratio * float64(b.active.Load()))
		if allowed < floor {
			allowed = floor
		}
		if r >= allowed {
			return false
		}
		if b.retries.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// RetryDone releases a retry reserved by TryRetry.
func (b *Budget) RetryDone() { b.retries.Add(-1) }

// Retrying is the number of retries in flight.
func (b *Budget) Retrying() int64 { return b.retries.Load() }

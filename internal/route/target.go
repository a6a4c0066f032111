package route

import (
	"math"
	"sync/atomic"
	"time"
)

// Target is one place a model can be served: an upstream model at a
// provider. The gateway attaches its own data through Value.
type Target struct {
	// Name identifies the target in headers (x-sluice-target), logs and
	// metrics: "provider/model".
	Name string
	// Provider is the provider's configured name (x-sluice-provider).
	Provider string
	// Weight is the share of traffic under the weighted strategy; 0 means
	// never picked unless forced or everything else is unavailable.
	Weight int
	// TotalTimeout bounds a whole request to this target, from its start:
	// a retry wait that would end later is not made, and the request gives
	// up with its last failure. 0: unbounded.
	TotalTimeout time.Duration
	// Value is the gateway's own per-target data.
	Value any

	inflight atomic.Int64
	ewma     atomic.Uint64 // float64 bits: EWMA of time to first byte, seconds; 0 = no sample yet
	breaker  Breaker
}

// Breaker returns the target's circuit breaker.
func (t *Target) Breaker() *Breaker { return &t.breaker }

// InFlight is the number of requests in flight to the target.
func (t *Target) InFlight() int64 { return t.inflight.Load() }

// Begin marks a request in flight; call End when it finishes.
func (t *Target) Begin() { t.inflight.Add(1) }

// End marks a request finished.
func (t *Target) End() { t.inflight.Add(-1) }

// ewmaAlpha weighs a new time-to-first-byte sample (≈ the last 10 samples
// dominate).
const ewmaAlpha = 0.2

// ObserveTTFB feeds a time-to-first-byte sample to the latency EWMA.
func (t *Target) ObserveTTFB(d time.Duration) {
	s := d.Seconds()
	for {
		old := t.ewma.Load()
		prev := math.Float64frombits(old)
		next := s
		if old != 0 {
			next = prev + ewmaAlpha*(s-prev)
		}
		if t.ewma.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

// TTFB returns the EWMA of time to first byte (0 before any sample).
func (t *Target) TTFB() time.Duration {
	return time.Duration(math.Float64frombits(t.ewma.Load()) * float64(time.Second))
}

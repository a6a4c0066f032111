package route

import (
	"sync"
	"sync/atomic"
	"time"
)

// Breaker states, as exported in metrics.
const (
	StateClosed   = 0 // traffic flows
	StateOpen     = 1 // cooling down: skipped
	StateHalfOpen = 2 // one probe request allowed
)

// BreakerConfig sets when a target is set aside and for how long. Zero
// values mean the defaults.
type BreakerConfig struct {
	// Failures is the number of consecutive failures that opens the
	// breaker. Default 5 (the contract's routing default).
	Failures int
	// Cooldown is how long an open breaker skips the target before one
	// probe. Default 10s.
	Cooldown time.Duration
	// ErrorRate (0–1) over Window also opens the breaker once at least
	// MinRequests were seen in the window. 0 disables the rate rule.
	ErrorRate   float64
	Window      time.Duration // default 10s
	MinRequests int           // default 20
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Failures <= 0 {
		c.Failures = 5
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 10 * time.Second
	}
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 20
	}
	return c
}

const windowBuckets = 10

// Breaker is a per-target circuit breaker. Its zero value is usable with
// the defaults; Configure sets other thresholds before use.
type Breaker struct {
	// OnChange, when set before use, is called with the new state on every
	// state change (for a metric). It runs under the breaker's lock.
	OnChange func(state int)

	cfg   BreakerConfig
	state atomic.Int32
	fails atomic.Int32 // consecutive failures

	mu       sync.Mutex
	openedAt time.Time
	probing  bool // half-open: the probe is out

	// Error-rate window: buckets of Window/windowBuckets, indexed by
	// bucket number (time / bucket length) modulo windowBuckets.
	bucketLen time.Duration
	epoch     [windowBuckets]atomic.Int64 // bucket number the counts belong to
	total     [windowBuckets]atomic.Int32
	failed    [windowBuckets]atomic.Int32
	configed  bool
}

// Configure sets the thresholds. Call it before the breaker is used.
func (b *Breaker) Configure(c BreakerConfig) {
	b.cfg = c.withDefaults()
	b.bucketLen = b.cfg.Window / windowBuckets
	b.configed = true
}

func (b *Breaker) ensure() {
	if !b.configed {
		b.Configure(BreakerConfig{})
	}
}

// State returns StateClosed, StateOpen or StateHalfOpen.
func (b *Breaker) State() int { return int(b.state.Load()) }

// closed reports whether the breaker is closed: Available and Allow say
// yes without reading the time.
func (b *Breaker) closed() bool { return b.state.Load() == StateClosed }

// recordsTime reports whether Record(now, ok) reads now: for a failure,
// or when the error-rate window counts outcomes. A success on a breaker
// without one does not, so a plan need not read its clock for it.
func (b *Breaker) recordsTime(ok bool) bool {
	b.ensure()
	return !ok || b.cfg.ErrorRate > 0
}

// Available reports, without changing anything, whether Allow would admit
// a request now.
func (b *Breaker) Available(now time.Time) bool {
	switch b.state.Load() {
	case StateClosed:
		return true
	case StateOpen:
		b.ensure()
		b.mu.Lock()
		defer b.mu.Unlock()
		return now.Sub(b.openedAt) >= b.cfg.Cooldown
	default:
		b.mu.Lock()
		defer b.mu.Unlock()
		return !b.probing
	}
}

// Allow reports whether a request may go to the target now. A closed
// breaker costs one atomic load. An open breaker whose cooldown has passed
// turns half-open and admits exactly one probe; the probe's Record decides.
func (b *Breaker) Allow(now time.Time) bool {
	if b.state.Load() == StateClosed {
		return true
	}
	b.ensure()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state.Load() {
	case StateClosed:
		return true
	case StateOpen:
		if now.Sub(b.openedAt) < b.cfg.Cooldown {
			return false
		}
		b.state.Store(StateHalfOpen)
		b.probing = true
		if b.OnChange != nil {
			b.OnChange(StateHalfOpen)
		}
		return true
	default: // half-open
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
}

// Record reports the outcome of a request the breaker allowed. It returns
// the state after the outcome and whether the state changed.
func (b *Breaker) Record(now time.Time, ok bool) (state int, changed bool) {
	b.ensure()
	b.count(now, ok)
	if b.state.Load() == StateClosed {
		if ok {
			if b.fails.Load() != 0 {
				b.fails.Store(0)
			}
			return StateClosed, false
		}
		n := b.fails.Add(1)
		if int(n) < b.cfg.Failures && !b.rateTripped(now) {
			return StateClosed, false
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	before := int(b.state.Load())
	switch {
	case before == StateHalfOpen && ok:
		b.state.Store(StateClosed)
		b.fails.Store(0)
		b.probing = false
		b.resetWindow()
	case before == StateHalfOpen, before == StateClosed && !ok:
		b.state.Store(StateOpen)
		b.openedAt = now
		b.probing = false
	case before == StateOpen:
		// A request allowed before the breaker opened finished late: the
		// open state stands.
	}
	after := int(b.state.Load())
	if after != before && b.OnChange != nil {
		b.OnChange(after)
	}
	return after, after != before
}

// Release ends a request the breaker allowed without an outcome: one that
// says nothing about the target (its client went away, the target's own
// quota refused it, Sluice shed it, or the reply was caused by the request).
// A half-open breaker's probe is given back, so the next request probes;
// otherwise nothing changes.
func (b *Breaker) Release() {
	if b.state.Load() != StateHalfOpen {
		return
	}
	b.mu.Lock()
	if b.state.Load() == StateHalfOpen {
		b.probing = false
	}
	b.mu.Unlock()
}

func (b *Breaker) bucket(now time.Time) (int, int64) {
	n := now.UnixNano() / int64(b.bucketLen)
	return int(n % windowBuckets), n
}

func (b *Breaker) count(now time.Time, ok bool) {
	if b.cfg.ErrorRate <= 0 {
		return
	}
	i, n := b.bucket(now)
	if b.epoch[i].Load() != n {
		// A new period for this bucket: the first writer resets it. A
		// racing count may be lost, which only blurs the rate slightly.
		if old := b.epoch[i].Load(); old != n && b.epoch[i].CompareAndSwap(old, n) {
			b.total[i].Store(0)
			b.failed[i].Store(0)
		}
	}
	b.total[i].Add(1)
	if !ok {
		b.failed[i].Add(1)
	}
}

func (b *Breaker) rateTripped(now time.Time) bool {
	if b.cfg.ErrorRate <= 0 {
		return false
	}
	_, n := b.bucket(now)
	var total, failed int32
	for i := 0; i < windowBuckets; i++ {
		if e := b.epoch[i].Load(); e > n-windowBuckets && e <= n {
			total += b.total[i].Load()
			failed += b.failed[i].Load()
		}
	}
	return int(total) >= b.cfg.MinRequests && float64(failed) >= b.cfg.ErrorRate*float64(total)
}

func (b *Breaker) resetWindow() {
	for i := 0; i < windowBuckets; i++ {
		b.epoch[i].Store(0)
		b.total[i].Store(0)
		b.failed[i].Store(0)
	}
}

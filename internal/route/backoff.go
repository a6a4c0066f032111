package route

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Backoff computes waits between attempts: exponential with full jitter,
// unless the upstream said how long to wait.
type Backoff struct {
	// Base is the first retry's maximum wait. Default 100ms.
	Base time.Duration
	// Max caps the exponential wait. Default 2s.
	Max time.Duration
	// MaxRetryAfter caps an upstream's Retry-After: a longer one means the
	// target is not retried (a fallback may serve instead). Default 5s.
	MaxRetryAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 2 * time.Second
	}
	if b.MaxRetryAfter <= 0 {
		b.MaxRetryAfter = 5 * time.Second
	}
	return b
}

// Wait returns how long to wait before retry number retry (1 for the first
// retry). retryAfter is the upstream's own hint (0: none). ok is false when
// the hint exceeds MaxRetryAfter: do not retry this target.
func (b Backoff) Wait(retry int, retryAfter time.Duration) (wait time.Duration, ok bool) {
	b = b.withDefaults()
	if retryAfter > 0 {
		if retryAfter > b.MaxRetryAfter {
			return 0, false
		}
		return retryAfter, true
	}
	ceiling := b.Base
	for i := 1; i < retry && ceiling < b.Max; i++ {
		ceiling *= 2
	}
	if ceiling > b.Max {
		ceiling = b.Max
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1)), true
}

// ParseRetryAfter reads Retry-After-Ms (milliseconds) or Retry-After
// (delay-seconds, or an HTTP date) as upstreams send them. It returns 0
// when neither is usable.
func ParseRetryAfter(retryAfterMs, retryAfter []byte, now time.Time) time.Duration {
	if len(retryAfterMs) > 0 {
		if ms, err := strconv.ParseFloat(string(retryAfterMs), 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if len(retryAfter) == 0 {
		return 0
	}
	if s, err := strconv.ParseFloat(string(retryAfter), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := time.Parse(time.RFC1123, string(retryAfter)); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

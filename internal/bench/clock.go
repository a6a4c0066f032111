package bench

import (
	"runtime"
	"time"
)

// minTimerSleep is the shortest wait worth a timer: two syscalls and a wake-up cost
// more than yielding the processor until the next request is due, which at high rates
// batches several requests per wake-up.
const minTimerSleep = 30 * time.Microsecond

// Clock is the time source of the scheduler and of every timestamp a step takes. Times
// are durations since an arbitrary epoch fixed when the clock was made (monotonic).
// Tests substitute a fake clock, so that send times are exact and no test sleeps.
type Clock interface {
	// Now returns the time since the clock's epoch.
	Now() time.Duration
	// SleepUntil returns once Now() ≥ t (at once when t has passed). The scheduler
	// calls it from one goroutine at a time.
	SleepUntil(t time.Duration)
}

// realClock is the wall clock. Go's own timers wake at millisecond granularity while
// the process is otherwise idle, which would add up to a millisecond to every latency
// measured from a scheduled time, so on Linux SleepUntil sleeps on a timerfd (see
// timer), falling back to time.Sleep where that fails.
type realClock struct {
	epoch time.Time
	t     *timer // nil until the first sleep; nil after a timerfd failure
	tried bool
}

// NewRealClock returns a clock whose epoch is now. Close releases its timer.
func NewRealClock() Clock { return &realClock{epoch: time.Now()} }

func (c *realClock) Now() time.Duration { return time.Since(c.epoch) }

func (c *realClock) SleepUntil(t time.Duration) {
	if !c.tried {
		c.tried = true
		c.t, _ = newTimer()
	}
	for {
		d := t - c.Now()
		if d <= 0 {
			return
		}
		if d < minTimerSleep {
			runtime.Gosched()
			continue
		}
		if c.t != nil {
			if c.t.sleep(d) == nil {
				continue
			}
			_ = c.t.close()
			c.t = nil
		}
		time.Sleep(d)
	}
}

// Close releases the clock's timer; a later sleep makes a new one.
func (c *realClock) Close() error {
	if c.t == nil {
		return nil
	}
	err := c.t.close()
	c.t, c.tried = nil, false
	return err
}

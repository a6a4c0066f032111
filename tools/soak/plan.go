package main

import (
	"fmt"
	"time"
)

// plan is the soak's timeline, all derived from its duration (t = 0 when
// the soak load starts):
//
//	0 ─ quiet ─ round 1 of faults ─┬─ first window ─┬─ more rounds ─┬─ last window ─┐ duration
//	                               Warmup           ChaosFrom       LastFrom
//
// The warm-up holds one round of every fault kind, so that the first
// window already carries what each fault leaves behind for good (the
// largest heap a PostgreSQL outage needed, pools grown to their usual
// size) and the comparison is like with like. Growth is the last window's
// median against the first window's, both under the same load with no
// fault running or lingering; every fault ends early enough for its
// aftermath (faultKind.Tail) to be over before the window that follows.
type plan struct {
	Duration  time.Duration
	Quiet     time.Duration // the load alone before the first fault
	FaultGap  time.Duration // between fault starts
	Warmup    time.Duration // the first window starts here
	Window    time.Duration
	Interval  time.Duration // between samples
	ChaosFrom time.Duration // the first window ends here
	LastFrom  time.Duration
	// StallTail is how long a fault's aftermath may linger: a stall
	// makes the load client open connections (idle for 30 s before they
	// close) and the instances upstream ones (90 s); d/10 within 10 s to
	// 100 s, so runs under 17 minutes allow less than that.
	StallTail time.Duration
}

// minDuration is the shortest soak: with less, the first round of faults
// and its aftermath leave no room for the windows.
const minDuration = 3 * time.Minute

// newPlan derives the timeline from d: d/20 of load alone (15 s to
// 3 min), then the first round of faults d/20 apart (15 s to 60 s); the
// warm-up lasts until that round's aftermath is over, and at least 20 %
// of d; windows of 10 % each; a sample every d/100 (2 s to 10 s).
func newPlan(d time.Duration) (plan, error) {
	p := plan{Duration: d, Window: d / 10}
	p.Quiet = clampDur(d/20, 15*time.Second, 3*time.Minute)
	p.FaultGap = clampDur(d/20, 15*time.Second, time.Minute)
	p.Interval = clampDur(d/100, 2*time.Second, 10*time.Second)
	p.StallTail = clampDur(d/10, 10*time.Second, upstreamIdle+10*time.Second)
	p.Warmup = d / 5
	for _, sl := range p.firstRound(faultKinds) {
		p.Warmup = max(p.Warmup, sl.At+sl.Kind.Span+p.tail(sl.Kind))
	}
	p.ChaosFrom = p.Warmup + p.Window
	p.LastFrom = d - p.Window
	if d < minDuration || p.ChaosFrom > p.LastFrom {
		return plan{}, fmt.Errorf("duration %v: a soak needs at least %v", d, minDuration)
	}
	return p, nil
}

func clampDur(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// window names which comparison window t falls in: "first", "last" or "".
func (p plan) window(t time.Duration) string {
	switch {
	case t >= p.Warmup && t < p.ChaosFrom:
		return "first"
	case t >= p.LastFrom && t <= p.Duration:
		return "last"
	}
	return ""
}

// faultKind is one kind of background fault.
type faultKind struct {
	Name string
	// Span is how long the fault is expected to run, its own waits
	// included (a PostgreSQL outage waits for the spool to drain).
	Span time.Duration
	// Tail is how long its aftermath surely lingers in the sampled
	// resources once it has ended; 0: the plan's StallTail.
	Tail time.Duration
}

// upstreamIdle is how long a pooled upstream connection (and its fasthttp
// idle-connection cleaner goroutine) outlives its last request
// (MaxIdleConnDuration, internal/provider/upstream.go): a burst of
// concurrent streams leaves that many descriptors and goroutines this
// long.
const upstreamIdle = 90 * time.Second

// faultKinds is the cycle the faults are drawn from, in this order. The
// cancel burst surely opens upstream connections (50 per instance); any
// fault may stall requests for a moment, and the connections that stall
// opens linger the plan's StallTail.
var faultKinds = []faultKind{
	{"cancel", 10 * time.Second, upstreamIdle + 10*time.Second},
	{"postgres", pgDown + 15*time.Second, 0},
	{"redis", redisDown + 2*time.Second, 0},
	{"upstream", upstreamFor + time.Second, 0},
	{"reload", reloadRounds*reloadGap + 2*time.Second, 0},
}

// tail is how long k's aftermath may linger.
func (p plan) tail(k faultKind) time.Duration {
	if k.Tail > 0 {
		return k.Tail
	}
	return p.StallTail
}

// slot is one scheduled fault: it starts at At and must be over, its
// aftermath included, by Before (the next window's start).
type slot struct {
	At     time.Duration
	Kind   faultKind
	Before time.Duration
}

// firstRound is one fault of every kind, FaultGap apart, after Quiet.
func (p plan) firstRound(kinds []faultKind) []slot {
	out := make([]slot, len(kinds))
	for i, k := range kinds {
		out[i] = slot{At: p.Quiet + time.Duration(i)*p.FaultGap, Kind: k, Before: p.Warmup}
	}
	return out
}

// schedule is the first round, then a fault every FaultGap from
// ChaosFrom, drawing kinds in the cycle's order and skipping a kind (to
// the next that fits) when its span and tail would reach into the last
// window.
func (p plan) schedule(kinds []faultKind) []slot {
	out := p.firstRound(kinds)
	next := 0
	for at := p.ChaosFrom; at < p.LastFrom; at += p.FaultGap {
		for i := range kinds {
			k := kinds[(next+i)%len(kinds)]
			if p.fits(at, k, p.LastFrom) {
				out = append(out, slot{At: at, Kind: k, Before: p.LastFrom})
				next = (next + i + 1) % len(kinds)
				break
			}
		}
	}
	return out
}

// fits reports whether kind k, started at at, is over with its aftermath
// by before.
func (p plan) fits(at time.Duration, k faultKind, before time.Duration) bool {
	return at+k.Span+p.tail(k) <= before
}

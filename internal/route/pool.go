package route

import "time"

// maxStack is how many targets Pick filters without allocating.
const maxStack = 16

// Pool is the targets of one public model (of any wire format: the
// gateway translates a request to the format of the target that serves
// it), the strategy that picks among them, how a request retries them and where it
// falls back when they are spent. Plan walks it; Pick and Find are its
// steps.
type Pool struct {
	Targets  []*Target
	Strategy Strategy // nil: Weighted
	// Retry is the model's retry policy. Zero: no trigger, no retry.
	Retry Retry
	// Fallbacks are the pools of the model's fallback models, in the
	// order they are tried. A nil entry is entered (OnFallback) and passed
	// over.
	Fallbacks []*Pool
	// OnRetry, when set, is called for each attempt on one of Targets
	// after a request's first attempt (for a metric).
	OnRetry func()
	// OnFallback, when set, is called each time a request that started
	// here moves on to one of Fallbacks (for a metric).
	OnFallback func()
}

// Pick returns a target whose breaker admits a request now and that is not
// in tried (a bit per index of Targets), claiming the half-open probe when
// it picks a recovering target. It returns nil when no target can take the
// request. It does not allocate for pools of up to 16 targets.
func (p *Pool) Pick(now time.Time, tried uint64) *Target {
	return p.pickAt(&moment{t: now, read: true}, tried)
}

// pickAt is Pick reading the time from m only when a breaker that is not
// closed needs it: the common request reads no clock here.
func (p *Pool) pickAt(m *moment, tried uint64) *Target {
	var stack [maxStack]*Target
	for {
		avail := stack[:0]
		for i, t := range p.Targets {
			if tried&(1<<uint(i)) == 0 && (t.breaker.closed() || t.breaker.Available(m.now())) {
				avail = append(avail, t)
			}
		}
		if len(avail) == 0 {
			return nil
		}
		t := p.pick(avail)
		if t.breaker.closed() || t.breaker.Allow(m.now()) {
			return t
		}
		// Another request took the probe between Available and Allow.
		tried |= 1 << uint(p.index(t))
	}
}

// Find returns the target named name (provider/model) or, with byProvider,
// the first target of that provider whose breaker admits a request; nil
// when there is none. It is how x-sluice-target and x-sluice-provider force
// a choice.
func (p *Pool) Find(now time.Time, name string, byProvider bool) *Target {
	for _, t := range p.Targets {
		if (byProvider && t.Provider == name) || (!byProvider && t.Name == name) {
			if !byProvider || t.breaker.Allow(now) {
				return t
			}
		}
	}
	return nil
}

// Index returns t's position in Targets (for the tried mask), or -1.
func (p *Pool) Index(t *Target) int { return p.index(t) }

func (p *Pool) index(t *Target) int {
	for i, x := range p.Targets {
		if x == t {
			return i
		}
	}
	return -1
}

// pick calls the strategy. The built-in strategies are called on their
// concrete types so that avail (on Pick's stack) does not escape through
// the interface call; a custom strategy gets a heap copy.
func (p *Pool) pick(avail []*Target) *Target {
	switch s := p.Strategy.(type) {
	case Weighted:
		return s.Pick(avail)
	case LeastBusy:
		return s.Pick(avail)
	case Latency:
		return s.Pick(avail)
	case nil:
		return Weighted{}.Pick(avail)
	default:
		return s.Pick(append([]*Target(nil), avail...))
	}
}

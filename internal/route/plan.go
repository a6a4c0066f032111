package route

import "time"

// Plan is one request's way through a public model's targets: which target
// to try next; after a failed attempt, whether and when to try again
// (retries with backoff or the upstream's Retry-After, the retry budget,
// the target's total timeout); and when to move on to the model's next
// target and then to its fallback models. The caller sends each attempt
// and reports how it went; the plan does no I/O.
//
//	p.Start(pool, budget, clock, start)
//	for t := p.Next(); t != nil; t = p.Next() {
//		... send to t ...
//		p.Record(health)           // what the attempt says about t
//		if answered {
//			break
//		}
//		p.Fail(retryAfter)         // or p.Skip(): t cannot take it at all
//	}
//	... once the request has settled (a relayed stream included): p.End()
//
// Nothing is retried once a reply has reached the client: the caller stops
// asking. The zero Plan is ready for Start and End makes it zero again, so
// it can live in pooled request state; it allocates nothing. A Plan serves
// one request and is not safe for concurrent use.
type Plan struct {
	clock  Clock   // nil: time.Now and time.Sleep
	budget *Budget // nil: every retry is allowed
	start  time.Time

	first  *Pool   // the model's own targets; first.Fallbacks follow
	pool   *Pool   // the pool being tried
	forced *Target // Force: the only target
	cur    *Target // the target of the current attempt

	tried      uint64        // pool's targets picked, a bit per index
	retryAfter time.Duration // cur's last failure's hint
	fallbacks  int32         // fallbacks entered: pool is first.Fallbacks[fallbacks-1]
	try        int32         // retries of cur so far
	attempts   int32
	picks      int32
	moveOn     bool // cur is done with: pick another target
	stopped    bool // no further attempt may be made
	reserved   bool // the current attempt holds a retry from the budget
	begun      bool // counted in the budget's active requests
}

// Health is what one attempt says about its target, for the target's
// circuit breaker (docs/routing.md, "What counts against a target").
type Health int8

const (
	// HealthNone says nothing about the target: a request or its client
	// caused the outcome. A half-open breaker's probe is given back.
	HealthNone Health = iota
	// HealthOK: the target answered as a working target does.
	HealthOK
	// HealthFailed counts towards setting the target aside.
	HealthFailed
)

// Start begins a plan over pool (a model's targets in the request's wire
// format) and its fallbacks. The request counts as active in budget
// (nil: none) until End. start is when the request arrived, on clock's
// time (nil: the real clock): a retry wait that would end after start plus
// the target's TotalTimeout is not made.
func (p *Plan) Start(pool *Pool, budget *Budget, clock Clock, start time.Time) {
	*p = Plan{clock: clock, budget: budget, start: start, first: pool, pool: pool}
	if budget != nil {
		budget.Begin()
		p.begun = true
	}
}

// Force pins the plan to one target of the pool given to Start: the one
// named name or, with byProvider, the first target of that provider whose
// breaker admits a request now (claiming a half-open probe). A target
// forced by name is sent to whatever its breaker says. The target is
// retried by the usual rules; no other target and no fallback is tried.
// Force reports false when no target matches. Call it before Next.
func (p *Plan) Force(name string, byProvider bool) bool {
	t := p.first.Find(p.now(), name, byProvider)
	p.forced = t
	return t != nil
}

// Next returns the target of the next attempt, or nil when the request
// must give up: every target and fallback tried, the retry budget spent,
// or the next wait would outlast the target's total timeout. Before a
// retry of the same target it waits the backoff (or the upstream's
// Retry-After) on the plan's clock; a Retry-After longer than the policy's
// MaxRetryAfter moves on to the next target instead. Every attempt after
// the request's first takes a retry from the budget, held until Record.
func (p *Plan) Next() *Target {
	for !p.stopped {
		if p.cur != nil && !p.moveOn && int(p.try) < p.pool.Retry.Attempts {
			p.try++
			if p.admit(true) {
				p.attempts++
				return p.cur
			}
			continue
		}
		t := p.pick()
		if t == nil {
			return nil
		}
		p.cur, p.try, p.retryAfter, p.moveOn = t, 0, 0, false
		if p.attempts == 0 || p.admit(false) {
			p.attempts++
			return t
		}
		// Not sent: give back what picking t claimed (a half-open probe).
		t.breaker.Release()
	}
	return nil
}

// Record reports what the current attempt says about its target to the
// target's breaker, at the plan's clock's time, and ends the attempt: the
// retry it held from the budget is returned. Call it exactly once per
// attempt, whatever its outcome, before Fail or Skip.
func (p *Plan) Record(h Health) {
	if p.reserved {
		p.budget.RetryDone()
		p.reserved = false
	}
	switch h {
	case HealthOK, HealthFailed:
		b, ok := &p.cur.breaker, h == HealthOK
		var t time.Time
		if b.recordsTime(ok) {
			t = p.now()
		}
		b.Record(t, ok)
	default:
		p.cur.breaker.Release()
	}
}

// Fail reports that the current attempt failed with one of Triggers;
// retryAfter is the upstream's Retry-After (0: none). Next retries the
// target unless its retries are spent or its breaker has set it aside.
func (p *Plan) Fail(retryAfter time.Duration) {
	p.retryAfter = retryAfter
	if p.cur.breaker.State() != StateClosed {
		p.moveOn = true
	}
}

// Skip reports that the current target could not take the request at all
// (its own quota refused it before anything was sent): Next moves on to
// the next target without retrying it.
func (p *Plan) Skip() { p.moveOn = true }

// Triggers returns what makes the current attempt worth another try: the
// retry policy of the model whose target it is.
func (p *Plan) Triggers() *Triggers { return &p.pool.Retry.On }

// Fallback reports whether the current target is not the first one the
// plan picked: another target of the model, or a fallback model's.
func (p *Plan) Fallback() bool { return p.picks > 1 }

// End ends the plan once the request has settled: it no longer counts as
// active in the retry budget. The plan is zero again afterwards.
func (p *Plan) End() {
	if p.reserved {
		p.budget.RetryDone() // an attempt that never reported (a panic)
	}
	if p.begun {
		p.budget.End()
	}
	*p = Plan{}
}

// admit lets an attempt after the request's first go ahead: it reserves a
// retry from the budget and, for a retry of the same target (again), waits
// its backoff. When the budget is spent, or the wait would end after the
// target's total timeout, the plan stops; when the upstream asked for a
// longer pause than the policy honours, it moves on to the next target.
func (p *Plan) admit(again bool) bool {
	if p.budget != nil {
		if !p.budget.TryRetry() {
			p.stopped = true
			return false
		}
		p.reserved = true
	}
	if again {
		w, ok := p.pool.Retry.Backoff.Wait(int(p.try), p.retryAfter)
		if !ok {
			p.unreserve()
			p.moveOn = true
			return false
		}
		if w > 0 && !p.sleep(w) {
			p.unreserve()
			p.stopped = true
			return false
		}
	}
	if p.pool.OnRetry != nil {
		p.pool.OnRetry()
	}
	return true
}

func (p *Plan) unreserve() {
	if p.reserved {
		p.budget.RetryDone()
		p.reserved = false
	}
}

// pick claims the next target: the forced one, or one from the pool being
// tried, moving on through the fallbacks as each pool runs out.
func (p *Plan) pick() *Target {
	if p.forced != nil {
		if p.picks > 0 {
			return nil
		}
		p.picks = 1
		return p.forced
	}
	if p.first == nil {
		return nil
	}
	for {
		if p.pool != nil {
			if t := p.pool.pickAt(&moment{clock: p.clock}, p.tried); t != nil {
				p.tried |= 1 << uint(p.pool.Index(t))
				p.picks++
				return t
			}
		}
		if int(p.fallbacks) >= len(p.first.Fallbacks) {
			return nil
		}
		p.pool, p.tried = p.first.Fallbacks[p.fallbacks], 0
		p.fallbacks++
		if p.first.OnFallback != nil {
			p.first.OnFallback()
		}
	}
}

// sleep waits d unless that would end after the current target's total
// timeout; it reports whether it waited.
func (p *Plan) sleep(d time.Duration) bool {
	if to := p.cur.TotalTimeout; to > 0 && p.now().Add(d).After(p.start.Add(to)) {
		return false
	}
	if p.clock == nil {
		time.Sleep(d)
	} else {
		p.clock.Sleep(d)
	}
	return true
}

func (p *Plan) now() time.Time { return now(p.clock) }

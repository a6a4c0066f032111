package ratelimit

import (
	"math/bits"
	"time"
)

// maxChecks is the most scopes one decision touches. Reserve: the key's
// tokens, the key's use of a model, the team's tokens, the end user of the
// key and the end user of the team (5); Admit: the key and its team;
// AdmitTarget: one target.
const maxChecks = 5

// maxBudgets is the most budgets one decision checks: the key's, its
// team's, and its end user's under the key's and the team's limits.
const maxBudgets = 4

// check is what one decision asks of one scope. The limits are already
// clamped; a zero limit is not checked.
type check struct {
	s      scope
	rpm    uint64 // take one request
	tpm    uint64 // report the tokens bucket; reserve tokens when > 0
	tokens uint64 // ≤ tpm
	maxc   int64  // take a concurrency slot
	member string // Redis: the concurrency slot's member, when maxc > 0

	// Filled in by the backend.
	req, tok result
	inUse    int64  // concurrency slots in use after the decision
	e        *entry // memory backend: the scope's entry (preset by pin)
	sh       int    // memory backend: the index of its shard
	h        uint64 // memory backend: the scope's hash (0: not known yet)
}

// pin presets c's memory entry from a concurrency slot the ticket holds
// on the same scope (Admit's checks are the key's and its team's: the same
// kind is the same scope): the slot keeps the entry in its shard (holds >
// 0, so the janitor never sweeps it) until the ticket settles, so the
// decision skips the scope's hashing and map lookup.
func (c *check) pin(t *Ticket) {
	if t.admitRedis {
		return
	}
	for i := range t.nadmit {
		if a := &t.cs[admitAt+i]; a.maxc > 0 && a.s.kind == c.s.kind {
			c.e, c.sh = a.e, a.sh
			return
		}
	}
}

// budgetCheck refuses a scope (a key, a team, an end user) whose spend in
// its period reached its budget, or whose spend plus the estimated costs
// held by its requests in flight plus est would exceed it; when admitted,
// est is held until settle.
type budgetCheck struct {
	s    scope      // whose budget (Redis key names)
	id   string     // its id in book
	book *spendBook // where its spend is kept in memory; nil: in entry
	// entry: for an end user, 1 + the index of the check whose memory
	// entry keeps its spend (enduser.go); 0 for a book's.
	entry  int
	usd    float64
	period period
	known  float64 // Redis: spend this instance knows of (store + local)
	est    float64 // estimated cost of this request to hold (0: none)
	member string  // Redis: the hold's member, when est > 0
	// Filled in by the backend: the spend in the period and the costs
	// held by the scope's requests in flight (this one's not included);
	// memory: the book's entry holding est, or the end user's scope entry
	// (and its shard) holding it.
	spend, held float64
	ks          *keySpend
	e           *entry
	sh          int
}

// plan is one admission decision: every check passes and is applied, or
// none is applied. Its checks and budgets live in arrays of the caller's
// size (Admit needs 2 checks, AdmitTarget 1): a plan is built on every
// admission, and zeroing room it does not use costs time.
type plan struct {
	checks  []check // len: room; n in use
	n       int
	budgets []budgetCheck
	nb      int
	at      time.Time // the decision's time (memory: budget periods)
	cal     calDay    // at's day, for end users' budgets

	// Outcome.
	ok     bool
	fail   int    // index of the check that refused; budgetFail(j): budget j
	reason Reason // why it refused
	retry  time.Duration
}

// budgetFail is plan.fail for a refusal by budget j.
func budgetFail(j int) int { return -1 - j }

// holding reports whether an admitted budget check holds a cost until
// settle: with Redis, an estimate (its member); in memory, an entry.
func (b *budgetCheck) holding(redis bool) bool {
	if redis {
		return b.est > 0
	}
	return b.ks != nil || b.e != nil
}

// failedBudget returns the budget that refused p, or nil.
func (p *plan) failedBudget() *budgetCheck {
	if p.ok || p.fail >= 0 || p.reason != ReasonBudget {
		return nil
	}
	return &p.budgets[-1-p.fail]
}

// refuse records a refusal, keeping the one with the longest wait: a
// client that waits that long passes every check that refused.
func (p *plan) refuse(i int, r Reason, retry time.Duration) {
	if p.ok || retry > p.retry || p.reason == ReasonNone {
		p.fail, p.reason, p.retry = i, r, retry
	}
	p.ok = false
}

// budgetEpsilon absorbs the rounding of summed float spend: $0.10 five
// times reaches a $0.50 budget.
const budgetEpsilon = 1e-9

// concurrencyRetry is the Retry-After of a concurrency refusal: a slot
// frees when some request in flight ends, which the limiter cannot
// foresee.
const concurrencyRetry = time.Second

// exec runs p on the memory backend at now: it locks the shards of the
// scopes in index order (so two decisions never deadlock), checks every
// scope, and applies all or nothing.
func (m *memory) exec(p *plan, now int64) {
	var idx [maxChecks]int
	for i := 0; i < p.n; i++ {
		if c := &p.checks[i]; c.e != nil {
			idx[i] = c.sh // a pinned entry (pin): no lookup
		} else {
			if c.h == 0 {
				c.h = m.hashOf(c.s)
			}
			idx[i] = shardOf(c.h)
		}
	}
	set := lockSet(idx[:p.n])
	for s := set; s != 0; s &= s - 1 {
		m.shards[bits.TrailingZeros64(s)].mu.Lock()
	}
	m.run(p, now, &idx)
	for s := set; s != 0; s &= s - 1 {
		m.shards[bits.TrailingZeros64(s)].mu.Unlock()
	}
}

// run is exec with the shards locked.
func (m *memory) run(p *plan, now int64, idx *[maxChecks]int) {
	p.ok, p.reason, p.retry = true, ReasonNone, 0
	var req, tok [maxChecks]bucket
	for i := 0; i < p.n; i++ {
		c := &p.checks[i]
		if c.e == nil {
			c.e, c.sh = m.shards[idx[i]].get(c.s, c.h), idx[i]
		}
		e := c.e
		if c.maxc > 0 && e.conc >= c.maxc {
			p.refuse(i, ReasonConcurrency, concurrencyRetry)
		}
		req[i], tok[i] = e.req, e.tok
		if c.rpm > 0 {
			c.req = req[i].take(now, 1, c.rpm)
			if !c.req.ok {
				p.refuse(i, ReasonRPM, c.req.retry)
			}
		}
		if c.tpm > 0 {
			if c.tokens > 0 {
				c.tok = tok[i].take(now, c.tokens, c.tpm)
				if !c.tok.ok {
					p.refuse(i, ReasonTPM, c.tok.retry)
				}
			} else {
				c.tok = tok[i].peek(now, c.tpm)
			}
		}
	}
	if p.ok && p.nb > 0 {
		m.holdBudgets(p, now)
	}
	if !p.ok {
		// Nothing is applied; report the scopes as they are.
		for i := 0; i < p.n; i++ {
			c := &p.checks[i]
			if c.rpm > 0 && c.req.ok {
				c.req = c.e.req.peek(now, c.rpm)
			}
			if c.tpm > 0 && c.tok.ok {
				c.tok = c.e.tok.peek(now, c.tpm)
			}
			if c.maxc > 0 {
				c.inUse = c.e.conc
			}
		}
		return
	}
	for i := 0; i < p.n; i++ {
		c := &p.checks[i]
		e := c.e
		e.req, e.tok = req[i], tok[i]
		if c.maxc > 0 {
			e.conc++
			e.holds++
			c.inUse = e.conc
		}
		if c.tokens > 0 {
			e.holds++
		}
	}
}

// holdBudgets decides p's budgets, after its other checks passed (so that
// a refusal holds nothing): each holds in turn, and a refusal gives back
// the holds taken before it (in between, another decision may see them:
// it errs towards refusing, never towards overspending). An end user's
// budget is kept in its check's entry, whose shard is locked; the others
// in a spend book, locked once for all of them (shards, then book: the
// order settle takes too).
func (m *memory) holdBudgets(p *plan, now int64) {
	var book *spendBook // locked
	for j := 0; j < p.nb; j++ {
		b := &p.budgets[j]
		var ok bool
		if b.entry > 0 {
			c := &p.checks[b.entry-1]
			b.spend, b.held, ok = c.e.holdUser(b.period, p.cal, now, b.usd, b.est)
			if ok {
				b.e, b.sh = c.e, c.sh
			}
		} else {
			if book != b.book {
				if book != nil {
					book.mu.Unlock()
				}
				book = b.book
				book.mu.Lock()
			}
			b.spend, b.held, ok, b.ks = book.holdLocked(b.id, b.period, p.at, b.usd, b.est)
		}
		if !ok {
			for k := 0; k < j; k++ {
				switch h := &p.budgets[k]; {
				case h.e != nil:
					h.e.user.unhold(h.est)
					h.e.holds--
					h.e = nil
				case h.ks != nil && h.book == book:
					book.unholdLocked(h.ks, h.est)
				case h.ks != nil:
					h.book.unholdEntry(h.ks, h.est)
				}
			}
			p.refuse(budgetFail(j), ReasonBudget, 0)
			break
		}
	}
	if book != nil {
		book.mu.Unlock()
	}
}

// lockSet returns the distinct shard indexes of idx as a bit set: taken
// lowest bit first, they are locked in ascending order, so two decisions
// never deadlock.
func lockSet(idx []int) uint64 {
	var set uint64
	for _, i := range idx {
		set |= 1 << uint(i)
	}
	return set
}

// The shards of a decision fit a lockSet.
var _ [64 - numShards]struct{}

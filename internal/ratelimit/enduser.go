package ratelimit

import (
	"sync/atomic"
	"time"
)

// End users' spend lives in the memory entry of their scope (scopeKeyUser,
// scopeTeamUser), beside their rate buckets, instead of in a spend book:
// a request's end-user checks then take no lock, map lookup or name
// building beyond the scope's own, and its settlement charges the cost and
// releases the hold under the shard lock it takes anyway. With Redis the
// counters live there; the entry's spend is what this instance knows of,
// the floor of Redis's counter (as a key's spend book is) and the state
// fail_mode local falls back to. An entry with spend is kept until its
// end user has been idle for limits.end_users.idle_ttl.

// userSpend is an end user's spend in the current UTC day and month and in
// total, and the estimated costs held by its requests in flight. Guarded
// by the shard's mutex.
type userSpend struct {
	day, month int64 // the day and the month (its first day) dayUSD and monthUSD are of
	dayUSD     float64
	monthUSD   float64
	total      float64
	held       float64
	holds      int
	last       int64 // unix ns of the last charge or hold
}

// calDay is a UTC day and the first day of its month, as day numbers.
type calDay struct{ day, month int64 }

// calendar caches the first day of the current month: time.Date costs
// ~400 instructions, on every end-user budget check.
type calendar struct{ packed atomic.Uint64 } // day<<32 | month start, + 1<<31 bias

const calBias = 1 << 31

// at returns now's calDay.
func (c *calendar) at(now time.Time) calDay {
	day := dayOf(now)
	if v := c.packed.Load(); v != 0 && int64(v>>32)-calBias == day {
		return calDay{day, int64(v&0xffffffff) - calBias}
	}
	cd := calDay{day, monthStartDay(now)}
	c.packed.Store(uint64(day+calBias)<<32 | uint64(cd.month+calBias))
	return cd
}

// spent returns the spend in period p on day cd.
func (u *userSpend) spent(p period, cd calDay) float64 {
	switch p {
	case periodDay:
		if u.day == cd.day {
			return u.dayUSD
		}
		return 0
	case periodMonth:
		if u.month == cd.month {
			return u.monthUSD
		}
		return 0
	}
	return u.total
}

// add records usd spent on day cd at now (unix ns). Periods only move
// forward: a cost settled late with the day before's date (two settles
// straddling midnight, a clock stepped back) counts in total, and in the
// month when it is the same, never resetting the newer period's sum.
func (u *userSpend) add(usd float64, cd calDay, now int64) {
	if cd.day > u.day {
		u.day, u.dayUSD = cd.day, 0
	}
	if cd.month > u.month {
		u.month, u.monthUSD = cd.month, 0
	}
	if cd.day == u.day {
		u.dayUSD += usd
	}
	if cd.month == u.month {
		u.monthUSD += usd
	}
	u.total += usd
	u.last = max(u.last, now)
}

// newUserSpend is an end user's spend starting on day cd.
func newUserSpend(cd calDay) *userSpend { return &userSpend{day: cd.day, month: cd.month} }

// unhold releases est held by a request.
func (u *userSpend) unhold(est float64) {
	if u.holds == 0 {
		return
	}
	u.holds--
	u.held -= est
	if u.holds == 0 || u.held < 0 {
		u.held = 0 // no drift of summed floats outlives the holds
	}
}

// holdUser decides an end user's budget check on e (the shard locked): it
// refuses when the spend in the period reached budget, or spend + the
// costs held + est exceed it; otherwise it holds est and pins e (holds)
// until releaseUser. It returns the spend and the costs held before it.
func (e *entry) holdUser(p period, cd calDay, now int64, budget, est float64) (spend, held float64, ok bool) {
	u := e.user
	if u != nil {
		spend, held = u.spent(p, cd), u.held
	}
	if spend >= budget-budgetEpsilon || spend+held+est > budget+budgetEpsilon {
		return spend, held, false
	}
	if u == nil {
		u = newUserSpend(cd)
		e.user = u
	}
	u.held += est
	u.holds++
	u.last = now
	e.holds++
	return spend, held, true
}

// releaseUser charges usd to the end user of e and releases a hold of est
// taken by holdUser (the shard locked).
func (e *entry) releaseUser(usd, est float64, cd calDay, now int64) {
	u := e.user
	if usd > 0 {
		u.add(usd, cd, now)
	}
	u.unhold(est)
	e.holds--
}

// userSpent returns the spend in period p of the end user of scope s as
// this instance knows it (Redis: the floor of Redis's counter); 0 when it
// has none.
func (m *memory) userSpent(s scope, p period, cd calDay) float64 {
	h := m.hashOf(s)
	sh := &m.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.lookup(s, h); e != nil && e.user != nil {
		return e.user.spent(p, cd)
	}
	return 0
}

// chargeUser adds usd to the spend of the end user of scope s, which
// holds nothing on this instance (Redis decided its budget).
func (m *memory) chargeUser(s scope, usd float64, cd calDay, now int64) {
	h := m.hashOf(s)
	sh := &m.shards[shardOf(h)]
	sh.mu.Lock()
	e := sh.get(s, h)
	if e.user == nil {
		e.user = newUserSpend(cd)
	}
	e.user.add(usd, cd, now)
	sh.mu.Unlock()
}

package ratelimit

import (
	"math/bits"
	"time"
)

// settle does the work of Ticket.Settle. In memory, the shards of every
// entry the ticket holds something on are locked once, together (in the
// order memory.exec locks them), and each entry's reservations, slot and
// end-user budget are settled in that one pass. With Redis, everything the
// ticket holds there is settled by one script call, written off the
// request path.
func (l *Limiter) settle(t *Ticket, u Usage) {
	actual := u.Tokens()
	now := l.now()
	ns := now.UnixNano()
	var op *settleOp
	redisOp := func() *settleOp {
		if op == nil {
			op = &settleOp{}
		}
		return op
	}
	cost := 0.0
	if t.hasKey {
		pu := u.Pricing()
		var ok bool
		cost, ok = t.prices.Cost(t.model, pu)
		if !ok && t.upModel != "" {
			cost, _ = t.prices.Cost(t.upModel, pu)
		}
	}
	var cd calDay
	if t.nusers > 0 {
		cd = l.cal.at(now)
	}
	adm := t.cs[admitAt : admitAt+t.nadmit]
	res := t.cs[reserveAt : reserveAt+t.nres]
	bud := t.bs[:t.nresb]
	var tgt []check
	if t.target {
		tgt = t.cs[targetAt:numChecks]
	}

	var set uint64
	if !t.admitRedis {
		for i := range adm {
			if c := &adm[i]; c.maxc > 0 {
				set |= 1 << uint(c.sh)
			}
		}
	}
	if !t.resRedis {
		for i := range res {
			if c := &res[i]; c.tokens > 0 {
				set |= 1 << uint(c.sh)
			}
		}
		for j := range bud {
			if b := &bud[j]; b.e != nil {
				set |= 1 << uint(b.sh)
			}
		}
	}
	if t.target && !t.tgtRedis {
		set |= 1 << uint(tgt[0].sh)
	}
	var released [maxBudgets]bool // holds released with their charge
	var charged [maxUsers]bool    // end users charged in memory, by kind
	if set != 0 {
		for s := set; s != 0; s &= s - 1 {
			l.mem.shards[bits.TrailingZeros64(s)].mu.Lock()
		}
		if !t.admitRedis {
			for i := range adm {
				if c := &adm[i]; c.maxc > 0 {
					c.e.conc--
					c.e.holds--
				}
			}
		}
		if !t.resRedis {
			for i := range res {
				if c := &res[i]; c.tokens > 0 {
					c.e.tok.adjust(ns, actual-int64(c.tokens), c.tpm)
					c.e.holds--
				}
			}
			for j := range bud {
				if b := &bud[j]; b.e != nil {
					// The cost is there before the hold goes: no
					// admission sees neither.
					b.e.releaseUser(cost, b.est, cd, ns)
					released[j] = true
					charged[b.s.kind-scopeKeyUser] = true
				}
			}
		}
		if t.target && !t.tgtRedis {
			c := &tgt[0]
			c.e.tok.adjust(ns, actual-int64(c.tokens), c.tpm)
			c.e.holds--
		}
		for s := set; s != 0; s &= s - 1 {
			l.mem.shards[bits.TrailingZeros64(s)].mu.Unlock()
		}
	}
	if t.admitRedis {
		for i := range adm {
			if c := &adm[i]; c.maxc > 0 {
				redisOp().release(l.rds, c.s, c.member)
			}
		}
	}
	if t.resRedis {
		for i := range res {
			if c := &res[i]; c.tokens > 0 {
				redisOp().bucket(l.rds, c.s, c.tpm, actual-int64(c.tokens))
			}
		}
	}
	if t.target && t.tgtRedis {
		redisOp().bucket(l.rds, tgt[0].s, tgt[0].tpm, actual-int64(tgt[0].tokens))
	}
	if cost > 0 {
		k := &t.key
		tm := &k.Team
		l.book.mu.Lock()
		l.chargeLocked(bud, k.ID, cost, now, &released)
		if tm.ID != "" {
			l.chargeLocked(bud, tm.SpendID, cost, now, &released)
		}
		l.book.mu.Unlock()
		if l.rds != nil && k.BudgetUSD > 0 {
			redisOp().spend(l.rds, scope{kind: scopeKey, id: k.ID}, parsePeriod(k.BudgetPeriod), cost, now, 0)
		}
		if l.rds != nil && tm.ID != "" && tm.BudgetUSD > 0 {
			redisOp().spend(l.rds, scope{kind: scopeTeam, id: tm.ID}, parsePeriod(tm.BudgetPeriod), cost, now, 0)
		}
		for i := 0; i < t.nusers; i++ {
			ub := &t.users[i]
			if !charged[ub.s.kind-scopeKeyUser] {
				l.mem.chargeUser(ub.s, cost, cd, ns)
			}
			if l.rds != nil {
				redisOp().spend(l.rds, ub.s, ub.period, cost, now, now.Add(l.userTTL).UnixMilli())
			}
		}
	}
	// The holds go after the actual cost is added, so that no admission
	// in between sees neither.
	for j := range bud {
		b := &bud[j]
		switch {
		case released[j] || !b.holding(t.resRedis):
		case t.resRedis:
			redisOp().unhold(l.rds, b.s, b.member)
		default:
			b.book.unholdEntry(b.ks, b.est)
		}
	}
	if op != nil {
		l.rds.enqueue(op)
	}
}

// chargeLocked adds cost to id's spend in the limiter's spend book, whose
// lock is held; when a budget check of the ticket (bud) holds a cost on
// that entry in memory, the hold is released in the same step (and marked
// in released): the cost is there before the hold goes, so no admission
// sees neither.
func (l *Limiter) chargeLocked(bud []budgetCheck, id string, cost float64, now time.Time, released *[maxBudgets]bool) {
	for j := range bud {
		if b := &bud[j]; b.ks != nil && b.id == id {
			b.ks.addLocked(cost, now)
			l.book.unholdLocked(b.ks, b.est)
			released[j] = true
			return
		}
	}
	l.book.addLocked(id, cost, now)
}

// settleCheck reconciles the token reservation of c, decided by Redis or
// in memory, to actual tokens and drops its hold.
func (l *Limiter) settleCheck(c *check, redis bool, actual int64, now time.Time) {
	if redis {
		op := &settleOp{}
		op.bucket(l.rds, c.s, c.tpm, actual-int64(c.tokens))
		l.rds.enqueue(op)
		return
	}
	sh := &l.mem.shards[c.sh]
	sh.mu.Lock()
	c.e.tok.adjust(now.UnixNano(), actual-int64(c.tokens), c.tpm)
	c.e.holds--
	sh.mu.Unlock()
}

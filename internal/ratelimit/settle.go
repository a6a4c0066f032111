package ratelimit

import "time"

// settle does the work of Ticket.Settle. With Redis, everything the ticket
// holds there is settled by one script call, written off the request path.
func (l *Limiter) settle(t *Ticket, u Usage) {
	actual := u.Tokens()
	now := l.now()
	var op *settleOp
	redisOp := func() *settleOp {
		if op == nil {
			op = &settleOp{}
		}
		return op
	}
	for i := 0; i < t.nholds; i++ {
		h := &t.holds[i]
		if h.redis {
			redisOp().bucket(l.rds, h.s, h.limit, actual-h.reserved)
			continue
		}
		l.settleHold(h, actual, now)
	}
	for i := 0; i < t.nslots; i++ {
		s := &t.slots[i]
		if s.redis {
			redisOp().release(l.rds, s.s, s.member)
			continue
		}
		sh := &l.mem.shards[s.sh]
		sh.mu.Lock()
		s.e.conc--
		s.e.holds--
		sh.mu.Unlock()
	}
	var released [maxBudgets]bool // memory holds released with their charge
	if t.hasKey {
		pu := u.Pricing()
		cost, ok := t.prices.Cost(t.model, pu)
		if !ok && t.upModel != "" {
			cost, _ = t.prices.Cost(t.upModel, pu)
		}
		if cost > 0 {
			k := &t.key
			l.charge(t, l.book, k.ID, cost, now, &released)
			if l.rds != nil && k.BudgetUSD > 0 {
				redisOp().spend(l.rds, scope{kind: scopeKey, id: k.ID}, parsePeriod(k.BudgetPeriod), cost, now, 0)
			}
			if tm := &k.Team; tm.ID != "" {
				l.charge(t, l.book, tm.SpendID, cost, now, &released)
				if l.rds != nil && tm.BudgetUSD > 0 {
					redisOp().spend(l.rds, scope{kind: scopeTeam, id: tm.ID}, parsePeriod(tm.BudgetPeriod), cost, now, 0)
				}
			}
			for i := 0; i < t.nusers; i++ {
				ub := &t.users[i]
				l.charge(t, l.users, ub.id, cost, now, &released)
				if l.rds != nil {
					redisOp().spend(l.rds, ub.s, parsePeriod(ub.period), cost, now, now.Add(l.userTTL).UnixMilli())
				}
			}
		}
	}
	// The holds go after the actual cost is added, so that no admission
	// in between sees neither.
	for i := 0; i < t.nbudgets; i++ {
		b := &t.budgets[i]
		if released[i] {
			continue
		}
		if b.redis {
			redisOp().unhold(l.rds, b.s, b.member)
		} else {
			b.book.unholdEntry(b.ks, b.usd)
		}
	}
	if op != nil {
		l.rds.enqueue(op)
	}
}

// charge adds cost to id's spend in book; when the ticket holds a cost on
// that entry in memory, the hold is released in the same step (and marked
// in released).
func (l *Limiter) charge(t *Ticket, book *spendBook, id string, cost float64, now time.Time, released *[maxBudgets]bool) {
	for i := 0; i < t.nbudgets; i++ {
		if b := &t.budgets[i]; !b.redis && b.book == book && b.id == id {
			book.chargeEntry(b.ks, cost, now, b.usd)
			released[i] = true
			return
		}
	}
	book.add(id, cost, now)
}

// settleHold reconciles one memory reservation to actual tokens and drops
// its hold; a Redis reservation is reconciled through its own settle op.
func (l *Limiter) settleHold(h *tokenHold, actual int64, now time.Time) {
	if h.redis {
		op := &settleOp{}
		op.bucket(l.rds, h.s, h.limit, actual-h.reserved)
		l.rds.enqueue(op)
		return
	}
	sh := &l.mem.shards[h.sh]
	sh.mu.Lock()
	h.e.tok.adjust(now.UnixNano(), actual-h.reserved, h.limit)
	h.e.holds--
	sh.mu.Unlock()
}

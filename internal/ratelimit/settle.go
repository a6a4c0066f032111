package ratelimit

import "time"

// settle does the work of Ticket.Settle.
func (l *Limiter) settle(t *Ticket, u Usage) {
	actual := u.Tokens()
	now := l.now()
	var op *settleOp
	for i := 0; i < t.nholds; i++ {
		h := &t.holds[i]
		if h.redis && !h.target {
			// A target's keys live in another Redis hash slot than the
			// key's: it settles through its own op (settleHold).
			if op == nil {
				op = l.rds.newSettle(scope{kind: scopeKey, id: t.key.ID})
			}
			op.bucket(l.rds, h.s, h.limit, actual-h.reserved)
			continue
		}
		l.settleHold(h, actual, now)
	}
	if s := &t.slot; s.active {
		if s.redis {
			if op == nil {
				op = l.rds.newSettle(scope{kind: scopeKey, id: t.key.ID})
			}
			op.release(s.member)
		} else {
			sh := &l.mem.shards[s.sh]
			sh.mu.Lock()
			s.e.conc--
			s.e.holds--
			sh.mu.Unlock()
		}
	}
	if t.hasKey {
		pu := u.Pricing()
		cost, ok := t.prices.Cost(t.model, pu)
		if !ok && t.upModel != "" {
			cost, _ = t.prices.Cost(t.upModel, pu)
		}
		if cost > 0 {
			l.book.add(t.key.ID, cost, now)
			if l.rds != nil && t.key.BudgetUSD > 0 {
				if op == nil {
					op = l.rds.newSettle(scope{kind: scopeKey, id: t.key.ID})
				}
				op.spend(l.rds, parsePeriod(t.key.BudgetPeriod), cost, now)
			}
		}
	}
	// The hold goes after the actual cost is added, so that no admission
	// in between sees neither.
	if b := &t.budget; b.usd > 0 {
		if b.redis {
			if op == nil {
				op = l.rds.newSettle(scope{kind: scopeKey, id: t.key.ID})
			}
			op.unhold(b.member)
		} else {
			l.book.unhold(t.key.ID, b.usd)
		}
	}
	if op != nil {
		l.rds.enqueue(op)
	}
}

// settleHold reconciles one memory reservation to actual tokens and drops
// its hold; a Redis reservation is reconciled through its own settle op.
func (l *Limiter) settleHold(h *tokenHold, actual int64, now time.Time) {
	if h.redis {
		op := l.rds.newSettle(h.s)
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

package ratelimit

import "github.com/sluice-gw/sluice/internal/pricing"

// Reserve is ReserveTokens with an estimate of tokens output tokens (the
// budget's cost estimate prices them all at the output rate).
func (l *Limiter) Reserve(t *Ticket, model string, ml ModelLimit, tokens int64) Decision {
	return l.ReserveTokens(t, model, ml, TokenEstimate{Output: tokens})
}

// ReserveTokens checks what needs the model, the end user and the token
// estimate (pipeline stage 5): the key's tokens per minute, the key's own
// limits for model (ml, from the key's model_limits; zero: none), the
// team's tokens per minute, the end user's limits (of the key and of the
// team, when the ticket has an end user: SetEndUser), and the budgets of
// the key, the team and the end user. est is the estimate (see
// EstimateTokens); each tpm limit reserves at most its own size. Each
// budget also holds the estimate's cost at model's price (none when model
// has no price): the request is refused when the spend in the period plus
// the costs held by requests in flight plus this one exceed the budget.
// The reservations are reconciled to actual usage, and the held costs
// replaced by the actual cost, by Settle. Call it at most once per ticket,
// after Admit.
func (l *Limiter) ReserveTokens(t *Ticket, model string, ml ModelLimit, est TokenEstimate) Decision {
	if !t.hasKey {
		return allowed
	}
	tokens := est.Total()
	t.model = model
	k := &t.key
	tm := &k.Team
	_, tpm, _ := l.keyLimits(k)
	p := plan{checks: t.cs[reserveAt:targetAt], budgets: t.bs[:]}
	// Memory only: the scopes' hashes are built from the ids' and names'
	// (Redis names its keys instead).
	mem := l.rds == nil
	if tpm > 0 {
		lim := clampLimit(tpm)
		c := &p.checks[p.n]
		*c = check{s: scope{kind: scopeKey, id: k.ID}, tpm: lim, tokens: reserve(tokens, lim)}
		c.pin(t)
		p.n++
	}
	if ml.RPM > 0 || ml.TPM > 0 {
		c := p.addTokens(scope{kind: scopeKeyModel, id: k.ID, model: model}, ml.RPM, ml.TPM, tokens)
		if mem && model != "" { // as hashOf: an empty model hashes as none
			c.h = mixHash(t.idHash(l.mem, scopeKey), l.mem.str(model), scopeKeyModel)
		}
	}
	if tm.ID != "" && tm.TPM > 0 {
		lim := clampLimit(tm.TPM)
		c := &p.checks[p.n]
		*c = check{s: scope{kind: scopeTeam, id: tm.ID}, tpm: lim, tokens: reserve(tokens, lim)}
		c.pin(t)
		p.n++
	}
	// An end user with limits gets a check even without rates: its
	// entry keeps the end user's spend (enduser.go).
	var uchk [maxUsers]int // 1 + the index of the check of the key's end user, the team's
	if t.user != "" {
		var hu uint64
		if mem {
			hu = l.mem.str(t.user)
		}
		if eu := &k.EndUsers; eu.any() {
			c := p.addTokens(scope{kind: scopeKeyUser, id: k.ID, model: t.user}, eu.RPM, eu.TPM, tokens)
			uchk[0] = p.n
			if mem {
				c.h = mixHash(t.idHash(l.mem, scopeKey), hu, scopeKeyUser)
			}
		}
		if eu := &tm.EndUsers; tm.ID != "" && eu.any() {
			c := p.addTokens(scope{kind: scopeTeamUser, id: tm.ID, model: t.user}, eu.RPM, eu.TPM, tokens)
			uchk[1] = p.n
			if mem {
				c.h = mixHash(t.idHash(l.mem, scopeTeam), hu, scopeTeamUser)
			}
		}
	}
	now := l.now()
	p.at = now
	if k.BudgetUSD > 0 || tm.ID != "" && tm.BudgetUSD > 0 || t.nusers > 0 {
		cost, _ := t.prices.Cost(model, pricing.Usage{Input: max(est.Input, 0), Output: max(est.Output, 0)})
		if k.BudgetUSD > 0 {
			l.budget(&p, scope{kind: scopeKey, id: k.ID}, k.ID, l.book, k.BudgetUSD, k.BudgetPeriod, cost)
		}
		if tm.ID != "" && tm.BudgetUSD > 0 {
			l.budget(&p, scope{kind: scopeTeam, id: tm.ID}, tm.SpendID, l.book, tm.BudgetUSD, tm.BudgetPeriod, cost)
		}
		if t.nusers > 0 {
			p.cal = l.cal.at(now)
		}
		for i := 0; i < t.nusers; i++ {
			u := &t.users[i]
			l.userBudget(&p, u, uchk[u.s.kind-scopeKeyUser], cost)
		}
	}
	if p.n == 0 && p.nb == 0 {
		return allowed
	}
	redis, ok := l.exec(&p, now)
	if !ok {
		return l.unavailable()
	}
	t.note(&p)
	if !p.ok {
		return l.refusal(&p, t)
	}
	// The checks with tokens > 0 hold a reservation, the budgets a cost
	// (budgetCheck.holding).
	t.nres, t.nresb, t.resRedis = p.n, p.nb, redis
	return allowed
}

// budget adds to p the check of one budget: a key's or a team's, whose
// spend is kept under id in book; est is the request's estimated cost to
// hold.
func (l *Limiter) budget(p *plan, s scope, id string, book *spendBook, usd float64, per string, est float64) {
	b := &p.budgets[p.nb]
	p.nb++
	*b = budgetCheck{s: s, id: id, book: book, usd: usd, period: parsePeriod(per), est: est}
	if l.rds != nil {
		b.known = book.spend(id, b.period, p.at)
		if b.est > 0 {
			b.member = holdMember(l.slotMember(), b.est)
		}
	}
}

// userBudget adds to p the check of an end user's budget, whose spend
// the memory entry of check chk-1 keeps; est is the request's estimated
// cost to hold.
func (l *Limiter) userBudget(p *plan, u *userBudget, chk int, est float64) {
	b := &p.budgets[p.nb]
	p.nb++
	*b = budgetCheck{s: u.s, entry: chk, usd: u.usd, period: u.period, est: est}
	if l.rds != nil {
		b.known = l.mem.userSpent(u.s, u.period, p.cal)
		if b.est > 0 {
			b.member = holdMember(l.slotMember(), b.est)
		}
	}
}

// addTokens adds a check of ReserveTokens or AdmitTarget for a scope with
// its own request and token limits (a key's model, an end user, a target),
// written in place.
func (p *plan) addTokens(s scope, rpm, tpm, tokens int64) *check {
	c := &p.checks[p.n]
	p.n++
	*c = check{s: s, rpm: clampLimit(max(rpm, 0))}
	if tpm > 0 {
		c.tpm = clampLimit(tpm)
		c.tokens = reserve(tokens, c.tpm)
	}
	return c
}

// reserve bounds a reservation by the limit (and by at least one token).
func reserve(tokens int64, limit uint64) uint64 {
	if tokens < 1 {
		tokens = 1
	}
	return min(uint64(tokens), limit)
}

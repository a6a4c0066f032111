package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"

	"github.com/sluice-gw/sluice/internal/pricing"
)

// Ticket states.
const (
	ticketIdle    uint32 = iota // nothing held
	ticketOpen                  // holds something or carries a key: Settle has work
	ticketSettled               // settled; further Settle calls do nothing
)

// The ticket's scratch room for checks is split by decision, so that a
// decision's checks stay where they are until settle, which reads its
// holds from them (a token reservation: tokens > 0; a concurrency slot:
// maxc > 0), instead of copying them out: Admit's (the key, its team),
// ReserveTokens' (maxChecks), and AdmitTarget's (one).
const (
	admitAt   = 0
	reserveAt = admitAt + 2
	targetAt  = reserveAt + maxChecks
	numChecks = targetAt + 1
)

// maxUsers bounds the end-user budgets of one ticket: under the key's
// end_user_limits and under the team's.
const maxUsers = 2

// maxUserLen is the longest end-user name kept as it is; a longer one is
// keyed by its SHA-256, so that state per end user stays small.
const maxUserLen = 128

// Ticket carries one request's holds (a concurrency slot, token
// reservations) from admission to settlement, and the state of the key's
// limits for the response headers. The zero value is ready to use; it
// does not allocate and can live inside a pooled request struct (call
// Reset before reuse). Admission methods must be called from one goroutine;
// Settle and Release may race with each other: exactly one of them
// settles.
type Ticket struct {
	limiter *Limiter
	prices  *pricing.Table // in force when the key was admitted
	state   atomic.Uint32
	key     Key
	hasKey  bool
	model   string // public model, for pricing
	upModel string // upstream model, for pricing when model has no price
	// What the decisions hold, in cs and bs: Admit's first nadmit
	// checks (slots), ReserveTokens' first nres checks (token
	// reservations) and nresb budgets (held costs), AdmitTarget's check
	// when target; and whether Redis decided each (its holds are there).
	nadmit, nres, nresb            int
	target                         bool
	admitRedis, resRedis, tgtRedis bool
	user                           string // the end user, when the key or team limits end users
	users                          [maxUsers]userBudget
	nusers                         int
	req                            Window
	tok                            Window

	// Scratch room for the plans of this ticket's decisions (admitAt,
	// reserveAt, targetAt): a plan writes each entry it uses in full, so
	// Reset leaves them alone (zeroing them on every decision cost ~300
	// instructions a request). What they keep alive until overwritten is
	// bounded: a few entries and names per pooled ticket.
	cs [numChecks]check
	bs [maxBudgets]budgetCheck
}

// userBudget is an end user's budget: under the key's end_user_limits or
// the team's. Its spend lives in the memory entry of s (enduser.go).
type userBudget struct {
	s      scope
	usd    float64
	period period
}

// Reset empties a settled (or never used) ticket for reuse. Resetting a
// ticket that still holds something leaks those holds: Settle first.
func (t *Ticket) Reset() {
	t.limiter, t.prices = nil, nil
	t.state.Store(ticketIdle)
	t.key = Key{}
	t.hasKey = false
	t.model, t.upModel = "", ""
	// The checks and budgets live in the scratch room (cs, bs), which
	// each decision overwrites; the end users' budgets name the request's
	// user, which the GC must not keep alive: zero those in use.
	for i := range t.nusers {
		t.users[i] = userBudget{}
	}
	t.nadmit, t.nres, t.nresb, t.target, t.nusers = 0, 0, 0, false, 0
	t.admitRedis, t.resRedis, t.tgtRedis = false, false, false
	t.user = ""
	t.req, t.tok = Window{}, Window{}
}

// Requests returns the state of the key's requests-per-minute limit for
// the x-ratelimit-*-requests headers: the tightest of the key's own and
// its per-model limit. Limit 0: the key has none.
func (t *Ticket) Requests() Window { return t.req }

// Tokens is Requests for tokens per minute (x-ratelimit-*-tokens).
func (t *Ticket) Tokens() Window { return t.tok }

// Reserved returns the tokens reserved for the key (its own tpm limit, or
// its model's when only that has one); 0 when none.
func (t *Ticket) Reserved() int64 {
	for i := range t.nres {
		if c := &t.cs[reserveAt+i]; c.tokens > 0 {
			return int64(c.tokens)
		}
	}
	return 0
}

func (t *Ticket) attach(l *Limiter, k *Key) {
	t.limiter = l
	t.prices = l.set.Load().prices
	t.key = *k
	t.hasKey = true
	t.state.CompareAndSwap(ticketIdle, ticketOpen)
}

// SetEndUser names the request's end user (its "user" field; Anthropic:
// metadata.user_id) for ReserveTokens and Settle. Call it after Admit and
// before ReserveTokens. It does nothing unless the key or its team has
// end-user limits. user is referenced, not copied (as Reserve's model):
// it must stay unchanged until Settle or Release returns; a name longer
// than maxUserLen is keyed by its SHA-256. An empty user is no end user:
// no end-user limit applies.
func (t *Ticket) SetEndUser(user string) {
	if !t.hasKey || len(user) == 0 {
		return
	}
	k := &t.key
	tm := &k.Team
	keyEU, teamEU := k.EndUsers.any(), tm.ID != "" && tm.EndUsers.any()
	if !keyEU && !teamEU {
		return
	}
	t.user = userName(user)
	if keyEU && k.EndUsers.BudgetUSD > 0 {
		t.users[t.nusers] = userBudget{s: scope{kind: scopeKeyUser, id: k.ID, model: t.user},
			usd: k.EndUsers.BudgetUSD, period: parsePeriod(k.EndUsers.BudgetPeriod)}
		t.nusers++
	}
	if teamEU && tm.EndUsers.BudgetUSD > 0 {
		t.users[t.nusers] = userBudget{s: scope{kind: scopeTeamUser, id: tm.ID, model: t.user},
			usd: tm.EndUsers.BudgetUSD, period: parsePeriod(tm.EndUsers.BudgetPeriod)}
		t.nusers++
	}
}

// userName is the name end-user state is kept under: user (not copied), or
// "sha256:" and its hex digest when it is longer than maxUserLen.
func userName(user string) string {
	if len(user) <= maxUserLen {
		return user
	}
	sum := sha256.Sum256([]byte(user))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// note records the key's windows from a plan's checks.
func (t *Ticket) note(p *plan) {
	for i := 0; i < p.n; i++ {
		c := &p.checks[i]
		if c.s.kind == scopeTarget {
			continue
		}
		if c.rpm > 0 && c.req != (result{}) {
			tighter(&t.req, Window{Limit: int64(c.rpm), Remaining: c.req.remaining, Reset: c.req.reset})
		}
		if c.tpm > 0 && c.tok != (result{}) {
			tighter(&t.tok, Window{Limit: int64(c.tpm), Remaining: c.tok.remaining, Reset: c.tok.reset})
		}
	}
}

// tighter replaces w by n unless w is set and has fewer units left.
func tighter(w *Window, n Window) {
	if w.Limit == 0 || n.Remaining <= w.Remaining {
		*w = n
	}
}

// idHash returns the memory backend m's hash of the id of the key (kind
// scopeKey) or its team (scopeTeam): recovered from Admit's check of that
// scope when memory decided it, else hashed now.
func (t *Ticket) idHash(m *memory, kind scopeKind) uint64 {
	if !t.admitRedis {
		for i := range t.nadmit {
			if a := &t.cs[admitAt+i]; a.s.kind == kind && a.h != 0 {
				return a.h ^ mixHash(0, 0, kind)
			}
		}
	}
	if kind == scopeTeam {
		return m.str(t.key.Team.ID)
	}
	return m.str(t.key.ID)
}

// dropTarget refunds and forgets the ticket's target reservation.
func (t *Ticket) dropTarget() {
	if t.target {
		t.target = false
		t.limiter.settleCheck(&t.cs[targetAt], t.tgtRedis, 0, t.limiter.now())
	}
}

// Settle ends the request (pipeline stage 9): it reconciles every token
// reservation to u's actual tokens (refunding or charging the
// difference), releases the concurrency slot, and adds the request's cost
// (from the price table) to the key's spend. Call it on every exit path;
// only the first call of Settle or Release does anything. u is the
// upstream's reported usage; when it reported none, pass the best
// estimate (Reserved() keeps the reservation as it is).
func (t *Ticket) Settle(u Usage) {
	if !t.state.CompareAndSwap(ticketOpen, ticketSettled) {
		return
	}
	t.limiter.settle(t, u)
}

// Release settles a request that consumed nothing (refused, or failed
// before any upstream reply): reservations are refunded in full and the
// slot is released. Only the first call of Settle or Release does
// anything.
func (t *Ticket) Release() { t.Settle(Usage{}) }

package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync/atomic"

	"github.com/sluice-gw/sluice/internal/pricing"
)

// Ticket states.
const (
	ticketIdle    uint32 = iota // nothing held
	ticketOpen                  // holds something or carries a key: Settle has work
	ticketSettled               // settled; further Settle calls do nothing
)

// maxHolds bounds the token reservations of one ticket: the key, the key's
// model, the team, two end users, and one target.
const maxHolds = 6

// maxSlots bounds the concurrency slots of one ticket: the key's and its
// team's.
const maxSlots = 2

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
	limiter  *Limiter
	prices   *pricing.Table // in force when the key was admitted
	state    atomic.Uint32
	key      Key
	hasKey   bool
	model    string // public model, for pricing
	upModel  string // upstream model, for pricing when model has no price
	slots    [maxSlots]slotHold
	nslots   int
	holds    [maxHolds]tokenHold
	nholds   int
	budgets  [maxBudgets]budgetHold
	nbudgets int
	user     string // the end user, when the key or team limits end users
	users    [maxUsers]userBudget
	nusers   int
	req      Window
	tok      Window

	// Scratch room for the plans of this ticket's decisions: a plan
	// writes each entry it uses in full, so Reset leaves them alone
	// (zeroing them on every decision cost ~300 instructions a request).
	// What they keep alive until overwritten is bounded: a few entries
	// and names per pooled ticket.
	cs [maxChecks]check
	bs [maxBudgets]budgetCheck
}

// userBudget is an end user's budget: under the key's end_user_limits or
// the team's.
type userBudget struct {
	s      scope
	id     string // in the limiter's end-user spend book
	usd    float64
	period string
}

// slotHold is a held concurrency slot.
type slotHold struct {
	redis  bool
	s      scope
	e      *entry // memory
	sh     int    // memory: e's shard
	member string
}

// budgetHold is the estimated cost held against a budget from Reserve to
// settle.
type budgetHold struct {
	usd    float64
	redis  bool
	member string // Redis: the hold's member
	s      scope  // whose budget
	id     string // its id in book
	book   *spendBook
	ks     *keySpend // memory: the entry holding usd
}

// tokenHold is a token reservation to reconcile.
type tokenHold struct {
	s        scope
	limit    uint64
	reserved int64
	redis    bool
	e        *entry // memory
	sh       int    // memory: e's shard
	target   bool
}

// Reset empties a settled (or never used) ticket for reuse. Resetting a
// ticket that still holds something leaks those holds: Settle first.
func (t *Ticket) Reset() {
	t.limiter, t.prices = nil, nil
	t.state.Store(ticketIdle)
	t.key = Key{}
	t.hasKey = false
	t.model, t.upModel = "", ""
	// Only the entries in use hold anything (pointers and strings, which
	// the GC must not keep alive): zero those, one by one (cheaper than
	// zeroing the arrays, or clear's call, for the one to three in use).
	for i := range t.nslots {
		t.slots[i] = slotHold{}
	}
	for i := range t.nholds {
		t.holds[i] = tokenHold{}
	}
	for i := range t.nbudgets {
		t.budgets[i] = budgetHold{}
	}
	for i := range t.nusers {
		t.users[i] = userBudget{}
	}
	t.nslots, t.nholds, t.nbudgets, t.nusers = 0, 0, 0, 0
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
	for i := 0; i < t.nholds; i++ {
		if !t.holds[i].target {
			return t.holds[i].reserved
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
// end-user limits; then it copies user (a name longer than maxUserLen is
// keyed by its SHA-256). An empty user is no end user: no end-user limit
// applies.
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
	// One allocation: the first budget's id holds the name (user may view
	// a request's buffer, which does not outlive the request's handler).
	name := userName(user)
	if keyEU && k.EndUsers.BudgetUSD > 0 {
		id := "k\x00" + k.ID + "\x00" + name
		t.user = id[len(id)-len(name):]
		t.users[t.nusers] = userBudget{s: scope{kind: scopeKeyUser, id: k.ID, model: t.user},
			id: id, usd: k.EndUsers.BudgetUSD, period: k.EndUsers.BudgetPeriod}
		t.nusers++
	}
	if teamEU && tm.EndUsers.BudgetUSD > 0 {
		id := "t\x00" + tm.ID + "\x00" + name
		if t.user == "" {
			t.user = id[len(id)-len(name):]
		}
		t.users[t.nusers] = userBudget{s: scope{kind: scopeTeamUser, id: tm.ID, model: t.user},
			id: id, usd: tm.EndUsers.BudgetUSD, period: tm.EndUsers.BudgetPeriod}
		t.nusers++
	}
	if t.user == "" {
		t.user = strings.Clone(name)
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

func (t *Ticket) hold(h tokenHold) {
	t.state.CompareAndSwap(ticketIdle, ticketOpen)
	if t.nholds == maxHolds {
		// Cannot happen through the API (Reserve once, one target at a
		// time); give it back rather than lose track of it.
		t.limiter.settleHold(&h, h.reserved, t.limiter.now())
		return
	}
	t.holds[t.nholds] = h
	t.nholds++
}

// dropTarget refunds and forgets the ticket's target reservation.
func (t *Ticket) dropTarget() {
	for i := 0; i < t.nholds; i++ {
		if t.holds[i].target {
			h := t.holds[i]
			t.limiter.settleHold(&h, 0, t.limiter.now())
			t.holds[i] = t.holds[t.nholds-1]
			t.holds[t.nholds-1] = tokenHold{}
			t.nholds--
			return
		}
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

package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/pricing"
)

// Key is what the limiter needs of a virtual key; the gateway fills it
// from the key's policy. A zero RPM, TPM or MaxConcurrent means the
// configured default for keys (limits.defaults), itself 0 (unlimited)
// unless configured. Strings are referenced, not copied.
type Key struct {
	ID            string
	RPM           int64
	TPM           int64
	MaxConcurrent int64
	// BudgetUSD is 0 for no budget; BudgetPeriod is day, month or total
	// (UTC); "" with a budget is total.
	BudgetUSD    float64
	BudgetPeriod string
	// EndUsers are the limits of each end user of this key (zero: none).
	EndUsers EndUserLimits
	// Team is the key's team; a zero ID is none. A request must pass the
	// key's limits and its team's.
	Team Team
}

// Team is what the limiter needs of a team: limits shared by all its keys
// (on every instance, with Redis). Zero limits are none: teams have no
// defaults.
type Team struct {
	ID string
	// SpendID is the id the team's spend is kept under in the spend store
	// (auth.TeamSpendID); the team's spend is recorded whenever ID is set.
	SpendID       string
	RPM           int64
	TPM           int64
	MaxConcurrent int64
	BudgetUSD     float64
	BudgetPeriod  string
	// EndUsers are the limits of each end user across the team's keys.
	EndUsers EndUserLimits
}

// EndUserLimits are per-end-user limits, keyed by the request's user
// field within a key or a team. Zero fields: none. An end user's state is
// forgotten after limits.end_users.idle_ttl without a request.
type EndUserLimits struct {
	RPM          int64
	TPM          int64
	BudgetUSD    float64
	BudgetPeriod string
}

// rates reports whether e limits requests or tokens.
func (e *EndUserLimits) rates() bool { return e.RPM > 0 || e.TPM > 0 }

// any reports whether e sets any limit.
func (e *EndUserLimits) any() bool { return e.RPM > 0 || e.TPM > 0 || e.BudgetUSD > 0 }

// ModelLimit is a key's own limit for one model, in addition to the key's
// limits (a sub-limit: a request must pass both). Zero fields: none.
type ModelLimit struct {
	RPM int64
	TPM int64
}

// Reason says which limit refused a request.
type Reason uint8

const (
	// ReasonNone: the request was admitted.
	ReasonNone Reason = iota
	// ReasonRPM: a requests-per-minute limit (429 rate_limit_exceeded).
	ReasonRPM
	// ReasonTPM: a tokens-per-minute limit (429 rate_limit_exceeded).
	ReasonTPM
	// ReasonConcurrency: max_concurrent requests are in flight (429
	// rate_limit_exceeded).
	ReasonConcurrency
	// ReasonBudget: the key's budget for its period is spent (429
	// insufficient_quota).
	ReasonBudget
	// ReasonUnavailable: Redis cannot be reached and limits.redis.fail_mode
	// is closed (503 overloaded).
	ReasonUnavailable
)

// String names the limit as the contract does: rpm, tpm, concurrency,
// budget, unavailable ("" for ReasonNone).
func (r Reason) String() string {
	switch r {
	case ReasonRPM:
		return "rpm"
	case ReasonTPM:
		return "tpm"
	case ReasonConcurrency:
		return "concurrency"
	case ReasonBudget:
		return "budget"
	case ReasonUnavailable:
		return "unavailable"
	}
	return ""
}

// Scope kinds of a Decision: whose limit refused.
const (
	ScopeKey      = "key"       // the key's own limit
	ScopeKeyModel = "key_model" // the key's limit for one model
	ScopeTarget   = "target"    // a provider's limit for one upstream model
	ScopeTeam     = "team"      // the key's team's limit, shared by its keys
	ScopeEndUser  = "end_user"  // the limit of one end user (of the key, or of the team when Team is set)
)

// Decision is the outcome of one admission call. When Allowed is false,
// the other fields say why, for the 429 (or 503) and its Retry-After.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Scope is whose limit refused: ScopeKey, ScopeKeyModel, ScopeTarget,
	// ScopeTeam or ScopeEndUser (budgets: ScopeKey, ScopeTeam or
	// ScopeEndUser).
	Scope string
	// Team is the team's id for ScopeTeam, and for ScopeEndUser when the
	// end-user limit is the team's.
	Team string
	// Limit is the value of the limit that refused (requests or tokens per
	// minute, or requests in flight).
	Limit int64
	// Model is the model of a per-model or target limit; Provider the
	// provider of a target limit.
	Model    string
	Provider string
	// Tokens is what the refused request needed (tpm refusals).
	Tokens int64
	// RetryAfter is how long until the request would be admitted; 0 when
	// waiting will not help (a total budget).
	RetryAfter time.Duration
	// Budget refusals: the budget, the spend in the period, the period
	// (day, month, total) and when it resets (zero for total).
	BudgetUSD float64
	SpendUSD  float64
	Period    string
	ResetAt   time.Time
	// HeldUSD is the estimated cost of the key's requests in flight and
	// EstimateUSD this request's (its prompt and max_tokens at the
	// model's price), when those, not the spend alone, refused it.
	HeldUSD     float64
	EstimateUSD float64
}

var allowed = Decision{Allowed: true}

// Window is the state of one rate limit for the x-ratelimit-* headers.
// Limit 0 means the key has no such limit (send no header).
type Window struct {
	Limit     int64
	Remaining int64
	// Reset is the time until the limit is fully available again.
	Reset time.Duration
}

// Deps are the limiter's collaborators.
type Deps struct {
	// Logger receives state changes of the Redis backend; nil discards.
	Logger *slog.Logger
	// Registerer receives the limiter's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Spend persists spend so that it survives restarts (the key store);
	// nil keeps spend in memory only (or in Redis when configured).
	Spend SpendStore
	// Now is the clock of the memory backend and of budget periods; nil
	// is time.Now. The Redis backend uses the Redis server's clock for
	// limits, so that instances agree.
	Now func() time.Time
}

// Limiter enforces rate limits, concurrency limits and budgets. It is safe
// for concurrent use; Close stops its background work.
type Limiter struct {
	now      func() time.Time
	log      *slog.Logger
	set      atomic.Pointer[Settings] // what reloads: defaults, targets, prices
	mem      *memory
	rds      *redisBackend // nil: memory only
	failMode string
	book     *spendBook // keys' and teams' spend (persisted with a SpendStore)
	users    *spendBook // end users' spend: in memory only, forgotten when idle
	userTTL  time.Duration
	met      *metricSet
	instance string // random id of this process, for Redis slot members
	slotSeq  atomic.Uint64

	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

// janitorEvery is how often idle memory entries are dropped.
const janitorEvery = 30 * time.Second

// New builds a limiter for cfg's limits and pricing sections and its
// providers' limits. With limits.redis.url set it connects to Redis
// lazily: New does not fail when Redis is down (fail_mode applies until it
// is up). It starts a janitor for idle in-memory state and, when
// deps.Spend is set, the loop that loads and persists spend.
func New(cfg *config.Config, deps Deps) (*Limiter, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	lc := cfg.Limits
	set, err := NewSettings(cfg)
	if err != nil {
		return nil, err
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	l := &Limiter{
		now:      deps.Now,
		log:      deps.Logger.With("component", "ratelimit"),
		mem:      newMemory(),
		failMode: lc.Redis.FailMode,
		instance: hex.EncodeToString(idb[:]),
		stop:     make(chan struct{}),
	}
	l.set.Store(set)
	if l.failMode == "" {
		l.failMode = config.FailLocal
	}
	switch l.failMode {
	case config.FailLocal, config.FailOpen, config.FailClosed:
	default:
		return nil, fmt.Errorf("ratelimit: limits.redis.fail_mode: unknown mode %q", l.failMode)
	}
	l.met, err = newMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: register metrics: %w", err)
	}
	l.book = newSpendBook(deps.Spend, l.log)
	l.users = newSpendBook(nil, l.log)
	l.userTTL = lc.EndUsers.IdleTTL.D()
	if l.userTTL <= 0 {
		l.userTTL = config.DefaultEndUserIdleTTL
	}
	if u := lc.Redis.URL.Reveal(); u != "" {
		l.rds, err = newRedis(u, lc.Redis, l.now, l.log, l.met)
		if err != nil {
			return nil, err
		}
	}
	l.wg.Add(1)
	go l.janitor()
	if deps.Spend != nil {
		l.wg.Add(1)
		go l.book.run(l.stop, &l.wg, l.now)
	}
	return l, nil
}

// Close stops background work, settles what is queued for Redis, writes
// pending spend to the spend store and closes the Redis client. ctx bounds
// the final writes.
func (l *Limiter) Close(ctx context.Context) error {
	var err error
	l.closed.Do(func() {
		close(l.stop)
		l.wg.Wait()
		var errs []error
		if l.rds != nil {
			errs = append(errs, l.rds.close(ctx))
		}
		if l.book.store != nil {
			errs = append(errs, l.book.flush(ctx, l.now()))
		}
		err = errors.Join(errs...)
	})
	return err
}

func (l *Limiter) janitor() {
	defer l.wg.Done()
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			now := l.now()
			l.mem.sweep(now.UnixNano())
			l.users.forget(now, l.userTTL)
		}
	}
}

// keyLimits returns k's effective limits: its own, else the defaults.
func (l *Limiter) keyLimits(k *Key) (rpm, tpm, maxc int64) {
	rpm, tpm, maxc = k.RPM, k.TPM, k.MaxConcurrent
	if rpm <= 0 || tpm <= 0 || maxc <= 0 {
		d := &l.set.Load().defaults
		if rpm <= 0 {
			rpm = d.RPM
		}
		if tpm <= 0 {
			tpm = d.TPM
		}
		if maxc <= 0 {
			maxc = d.MaxConcurrent
		}
	}
	return rpm, tpm, maxc
}

// TokenEstimate is what a request may consume, as estimated at admission:
// its prompt and its most output tokens.
type TokenEstimate struct {
	Input  int64
	Output int64
}

// Total is what the estimate reserves against tokens-per-minute limits.
func (e TokenEstimate) Total() int64 { return e.Input + e.Output }

// EstimateTokens returns the tokens to reserve for a request: its prompt
// size estimated from the body (one token per 4 bytes, rounded up: an
// over-estimate, since the body holds JSON syntax too) and its max_tokens,
// or limits.default_max_tokens when it sets none (maxTokens ≤ 0).
func (l *Limiter) EstimateTokens(bodyBytes int, maxTokens int64) TokenEstimate {
	if maxTokens <= 0 {
		maxTokens = l.set.Load().maxTokens
	}
	return TokenEstimate{Input: int64(bodyBytes+3) / 4, Output: maxTokens}
}

// Estimate is EstimateTokens's total. Each limit reserves at most its own
// size, so a small limit still admits its first request.
func (l *Limiter) Estimate(bodyBytes int, maxTokens int64) int64 {
	return l.EstimateTokens(bodyBytes, maxTokens).Total()
}

// Admit checks the limits that need only the key (pipeline stage 3): its
// requests per minute and its concurrency, and its team's. On success the
// ticket holds a concurrency slot of each that has max_concurrent until
// Settle or Release. Either way the ticket's Requests and Tokens windows
// are set for the response headers. Call it once per ticket, first.
func (l *Limiter) Admit(t *Ticket, k *Key) Decision {
	t.attach(l, k)
	rpm, tpm, maxc := l.keyLimits(k)
	tm := &k.Team
	team := tm.ID != "" && (tm.RPM > 0 || tm.TPM > 0 || tm.MaxConcurrent > 0)
	if rpm <= 0 && tpm <= 0 && maxc <= 0 && !team {
		return allowed
	}
	p := plan{checks: t.cs[:2]}
	if rpm > 0 || tpm > 0 || maxc > 0 {
		l.addRate(&p, scope{kind: scopeKey, id: k.ID}, rpm, tpm, maxc)
	}
	if team {
		l.addRate(&p, scope{kind: scopeTeam, id: tm.ID}, tm.RPM, tm.TPM, tm.MaxConcurrent)
	}
	redis, ok := l.exec(&p, l.now())
	if !ok {
		return l.unavailable()
	}
	t.note(&p)
	if !p.ok {
		return l.refusal(&p, t)
	}
	for i := 0; i < p.n; i++ {
		if c := &p.checks[i]; c.maxc > 0 { // 0 when fail_mode open admitted it
			t.slots[t.nslots] = slotHold{redis: redis, s: c.s, e: c.e, sh: c.sh, member: c.member}
			t.nslots++
		}
	}
	return allowed
}

// addRate adds Admit's check of one scope, written in place: a request,
// the tokens window reported, a concurrency slot.
func (l *Limiter) addRate(p *plan, s scope, rpm, tpm, maxc int64) {
	c := &p.checks[p.n]
	p.n++
	*c = check{s: s, rpm: clampLimit(max(rpm, 0)), tpm: clampLimit(max(tpm, 0)), maxc: max(maxc, 0)}
	if c.maxc > 0 && l.rds != nil {
		c.member = l.slotMember()
	}
}

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
	p := plan{checks: t.cs[:], budgets: t.bs[:]}
	if tpm > 0 {
		lim := clampLimit(tpm)
		c := &p.checks[p.n]
		*c = check{s: scope{kind: scopeKey, id: k.ID}, tpm: lim, tokens: reserve(tokens, lim)}
		c.pin(t)
		p.n++
	}
	if ml.RPM > 0 || ml.TPM > 0 {
		p.addTokens(scope{kind: scopeKeyModel, id: k.ID, model: model}, ml.RPM, ml.TPM, tokens)
	}
	if tm.ID != "" && tm.TPM > 0 {
		lim := clampLimit(tm.TPM)
		c := &p.checks[p.n]
		*c = check{s: scope{kind: scopeTeam, id: tm.ID}, tpm: lim, tokens: reserve(tokens, lim)}
		c.pin(t)
		p.n++
	}
	if t.user != "" {
		if eu := &k.EndUsers; eu.rates() {
			p.addTokens(scope{kind: scopeKeyUser, id: k.ID, model: t.user}, eu.RPM, eu.TPM, tokens)
		}
		if eu := &tm.EndUsers; tm.ID != "" && eu.rates() {
			p.addTokens(scope{kind: scopeTeamUser, id: tm.ID, model: t.user}, eu.RPM, eu.TPM, tokens)
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
		for i := 0; i < t.nusers; i++ {
			u := &t.users[i]
			l.budget(&p, u.s, u.id, l.users, u.usd, u.period, cost)
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
	for i := 0; i < p.n; i++ {
		c := &p.checks[i]
		if c.tokens > 0 {
			t.hold(tokenHold{s: c.s, limit: c.tpm, reserved: int64(c.tokens), redis: redis, e: c.e, sh: c.sh})
		}
	}
	for j := 0; j < p.nb; j++ {
		if b := &p.budgets[j]; b.est > 0 {
			t.budgets[t.nbudgets] = budgetHold{usd: b.est, redis: redis, member: b.member, s: b.s, id: b.id, book: b.book, ks: b.ks}
			t.nbudgets++
		}
	}
	return allowed
}

// budget adds to p the check of one budget: a key's, a team's or an end
// user's, whose spend is kept under id in book; est is the request's
// estimated cost to hold.
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

// addTokens adds a check of ReserveTokens or AdmitTarget for a scope with
// its own request and token limits (a key's model, an end user, a target),
// written in place.
func (p *plan) addTokens(s scope, rpm, tpm, tokens int64) {
	c := &p.checks[p.n]
	p.n++
	*c = check{s: s, rpm: clampLimit(max(rpm, 0))}
	if tpm > 0 {
		c.tpm = clampLimit(tpm)
		c.tokens = reserve(tokens, c.tpm)
	}
}

// AdmitTarget checks the limits of the upstream model a request is about
// to be sent to (providers[].limits; pipeline stage 7): one request and
// the token estimate against that provider's allowance for model (the
// upstream model name). It needs no key. When a ticket already holds a
// target (a retry or fallback to another target), that earlier
// reservation is refunded first: the attempt it paid for produced no
// reply. model is also used to price the request when the public model
// has no price.
func (l *Limiter) AdmitTarget(t *Ticket, provider, model string, tokens int64) Decision {
	t.upModel = model
	t.dropTarget()
	lim, ok := l.set.Load().targets[provider]
	if !ok {
		return allowed
	}
	t.limiter = l
	p := plan{checks: t.cs[:1]}
	p.addTokens(scope{kind: scopeTarget, id: provider, model: model}, lim.RPM, lim.TPM, tokens)
	redis, ok := l.exec(&p, l.now())
	if !ok {
		return l.unavailable()
	}
	if !p.ok {
		return l.refusal(&p, nil)
	}
	if c := &p.checks[0]; c.tokens > 0 {
		t.hold(tokenHold{s: c.s, limit: c.tpm, reserved: int64(c.tokens), redis: redis, e: c.e, sh: c.sh, target: true})
	}
	return allowed
}

// reserve bounds a reservation by the limit (and by at least one token).
func reserve(tokens int64, limit uint64) uint64 {
	if tokens < 1 {
		tokens = 1
	}
	return min(uint64(tokens), limit)
}

// exec runs p on Redis when it is configured and up, else as the fail mode
// says. redis reports whether Redis decided; ok is false when the decision
// could not be made (fail mode closed).
func (l *Limiter) exec(p *plan, now time.Time) (redis, ok bool) {
	if l.rds != nil {
		if l.rds.up() {
			err := l.rds.exec(p)
			if err == nil {
				return true, true
			}
			l.rds.failed(err)
		}
		l.met.fallback(l.failMode)
		switch l.failMode {
		case config.FailOpen:
			p.ok = true
			for i := 0; i < p.n; i++ {
				// Nothing is held: there is nothing to reconcile.
				p.checks[i].tokens, p.checks[i].maxc = 0, 0
				p.checks[i].req, p.checks[i].tok = result{}, result{}
			}
			for j := 0; j < p.nb; j++ {
				p.budgets[j].est = 0
			}
			return false, true
		case config.FailClosed:
			return false, false
		}
	}
	l.mem.exec(p, now.UnixNano())
	return false, true
}

func (l *Limiter) unavailable() Decision {
	l.met.refused(ReasonUnavailable)
	return Decision{Reason: ReasonUnavailable, RetryAfter: concurrencyRetry}
}

// refusal turns a refused plan into a Decision.
func (l *Limiter) refusal(p *plan, t *Ticket) Decision {
	l.met.refused(p.reason)
	d := Decision{Reason: p.reason, RetryAfter: p.retry}
	if b := p.failedBudget(); b != nil {
		now := l.now() // a refusal: off the fast path
		d.Scope, d.Team = scopeName(b.s)
		d.BudgetUSD, d.SpendUSD, d.Period = b.usd, b.spend, b.period.String()
		d.ResetAt = b.period.end(now)
		if !d.ResetAt.IsZero() {
			d.RetryAfter = d.ResetAt.Sub(now)
		}
		if d.SpendUSD < d.BudgetUSD-budgetEpsilon {
			d.HeldUSD, d.EstimateUSD = b.held, b.est
			if d.HeldUSD > 0 && d.SpendUSD+d.EstimateUSD <= d.BudgetUSD+budgetEpsilon {
				// Requests in flight hold what this one needs: it may
				// pass once one of them settles below its estimate.
				d.RetryAfter = concurrencyRetry
			}
		}
		return d
	}
	c := &p.checks[p.fail]
	d.Scope, d.Team = scopeName(c.s)
	switch c.s.kind {
	case scopeKeyModel:
		d.Model = c.s.model
	case scopeTarget:
		d.Provider, d.Model = c.s.id, c.s.model
	}
	switch p.reason {
	case ReasonRPM:
		d.Limit = int64(c.rpm)
	case ReasonTPM:
		d.Limit, d.Tokens = int64(c.tpm), int64(c.tokens)
	case ReasonConcurrency:
		d.Limit = c.maxc
	}
	return d
}

// scopeName returns the Decision's Scope and Team for s.
func scopeName(s scope) (name, team string) {
	switch s.kind {
	case scopeKeyModel:
		return ScopeKeyModel, ""
	case scopeTarget:
		return ScopeTarget, ""
	case scopeTeam:
		return ScopeTeam, s.id
	case scopeKeyUser:
		return ScopeEndUser, ""
	case scopeTeamUser:
		return ScopeEndUser, s.id
	}
	return ScopeKey, ""
}

// slotMember returns a new, unique Redis member for a concurrency slot.
func (l *Limiter) slotMember() string {
	var b [16 + 1 + 20]byte
	out := append(b[:0], l.instance...)
	out = append(out, ':')
	out = appendUint(out, l.slotSeq.Add(1))
	return string(out)
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

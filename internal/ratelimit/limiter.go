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
	book     *spendBook    // keys' and teams' spend (persisted with a SpendStore)
	userTTL  time.Duration // end users' spend (in their entries) is forgotten after this idle time
	cal      calendar
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
			l.mem.sweep(now.UnixNano(), now.Add(-l.userTTL).UnixNano())
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
	p := plan{checks: t.cs[admitAt:reserveAt]}
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
	// The checks with maxc > 0 hold a slot (0 when fail_mode open
	// admitted them).
	t.nadmit, t.admitRedis = p.n, redis
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
	p := plan{checks: t.cs[targetAt:numChecks]}
	p.addTokens(scope{kind: scopeTarget, id: provider, model: model}, lim.RPM, lim.TPM, tokens)
	redis, ok := l.exec(&p, l.now())
	if !ok {
		return l.unavailable()
	}
	if !p.ok {
		return l.refusal(&p, nil)
	}
	if p.checks[0].tokens > 0 {
		t.state.CompareAndSwap(ticketIdle, ticketOpen)
		t.target, t.tgtRedis = true, redis
	}
	return allowed
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

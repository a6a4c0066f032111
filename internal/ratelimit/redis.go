package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluice-gw/sluice/internal/config"
)

const (
	// tripAfter consecutive failed Redis calls open the breaker: decisions
	// are then made as the fail mode says, without asking Redis, until a
	// probe succeeds.
	tripAfter = 3
	// probeEvery spaces the probes of a Redis that is down.
	probeEvery = 250 * time.Millisecond
	// probeTimeout bounds one probe (PING).
	probeTimeout = 250 * time.Millisecond
	// slotLease is how long a concurrency slot held in Redis lives if its
	// release never arrives (the instance died): longer than any request
	// (providers' total timeout defaults to 10 minutes).
	slotLease = 15 * time.Minute
	// settleQueue bounds the settlements waiting for the writer; when it
	// is full a settlement is written by its caller.
	settleQueue = 8192
	// settleBatch is the most settlements written in one pipeline.
	settleBatch = 128
	// settleTimeout bounds one pipeline of settlements.
	settleTimeout = 2 * time.Second
	// maxPending bounds the settlements kept while Redis is down; beyond
	// it they are dropped and counted (slots then expire with their lease,
	// reservations drain with time).
	maxPending = 100_000
	// periodMicros is Period in µs, as the scripts take it.
	periodMicros = int64(Period / time.Microsecond)
)

// redisBackend keeps limit state in Redis, shared by every instance. One
// admission is one script call: one round trip.
type redisBackend struct {
	client   *redis.Client
	prefix   string
	timeout  time.Duration
	failMode string
	now      func() time.Time // names budget periods; limits use Redis's TIME
	log      *slog.Logger
	met      *metricSet

	healthy atomic.Bool
	fails   atomic.Int32
	probing atomic.Bool

	queue   chan *settleOp
	pmu     sync.Mutex
	pending []*settleOp // settlements that failed while Redis was down
	stop    chan struct{}
	wg      sync.WaitGroup
}

// redisMaxIdle is the idle connections kept to Redis unless the URL says
// otherwise (max_idle_conns).
const redisMaxIdle = 16

func newRedis(url string, cfg config.LimitsRedis, now func() time.Time, log *slog.Logger, met *metricSet) (*redisBackend, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: do not quote it.
		return nil, errors.New("ratelimit: invalid limits.redis.url: want a redis://, rediss:// or unix:// URL")
	}
	to := cfg.Timeout.D()
	if to <= 0 {
		to = config.DefaultRedisTimeout
	}
	opt.MaxRetries = -1 // a decision gets one try; the fail mode covers the rest
	opt.DialTimeout = probeTimeout
	opt.DialerRetries = 1
	opt.ReadTimeout, opt.WriteTimeout = settleTimeout, settleTimeout
	opt.ContextTimeoutEnabled = true // admissions are bounded by their context
	opt.PoolTimeout = to
	opt.PoolSize = max(opt.PoolSize, 256)
	opt.MinIdleConns = 0 // no background dialing of a Redis that is down
	if opt.MaxIdleConns == 0 {
		// go-redis keeps every connection a burst opened idle (up to the
		// pool's 256) for 30 minutes: after a Redis restart under load the
		// pool grew to 47 and stayed (the soak). A decision holds a
		// connection for one round trip, so a few serve thousands a second;
		// the URL's max_idle_conns overrides this.
		opt.MaxIdleConns = redisMaxIdle
	}
	opt.DisableIdentity = true
	r := &redisBackend{
		client:   redis.NewClient(opt),
		prefix:   cfg.Prefix,
		timeout:  to,
		failMode: cfg.FailMode,
		now:      now,
		log:      log.With("backend", "redis"),
		met:      met,
		queue:    make(chan *settleOp, settleQueue),
		stop:     make(chan struct{}),
	}
	if r.prefix == "" {
		r.prefix = config.DefaultRedisPrefix
	}
	r.healthy.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	err = r.loadScripts(ctx)
	cancel()
	if err != nil {
		r.trip(err)
	}
	r.wg.Add(1)
	go r.writer()
	return r, nil
}

// up reports whether decisions go to Redis (the breaker is closed).
func (r *redisBackend) up() bool { return r.healthy.Load() }

// ok resets the count of consecutive failures after a call succeeded.
func (r *redisBackend) ok() {
	if r.fails.Load() != 0 {
		r.fails.Store(0)
	}
}

// failed counts a failed call; tripAfter in a row open the breaker.
func (r *redisBackend) failed(err error) {
	if r.fails.Add(1) >= tripAfter {
		r.trip(err)
	}
}

// trip opens the breaker and starts probing.
func (r *redisBackend) trip(err error) {
	if !r.healthy.CompareAndSwap(true, false) {
		return
	}
	r.met.redisUp.Set(0)
	r.log.Warn("redis unreachable: limits follow limits.redis.fail_mode until it is back",
		"fail_mode", r.failMode, "err", err)
	if r.probing.CompareAndSwap(false, true) {
		r.wg.Add(1)
		go r.probe()
	}
}

// probe pings Redis until it answers, then closes the breaker and writes
// the settlements that waited.
func (r *redisBackend) probe() {
	defer r.wg.Done()
	defer r.probing.Store(false)
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		err := r.loadScripts(ctx)
		cancel()
		if err != nil {
			continue
		}
		r.fails.Store(0)
		r.healthy.Store(true)
		r.met.redisUp.Set(1)
		r.log.Info("redis reachable again: limits are shared through it")
		r.writePending()
		return
	}
}

// loadScripts loads the scripts into Redis's script cache (a restarted
// Redis has lost them); it doubles as the probe of a Redis that was down.
func (r *redisBackend) loadScripts(ctx context.Context) error {
	for _, s := range []*redis.Script{admitScript, settleScript, peekScript} {
		if err := s.Load(ctx, r.client).Err(); err != nil {
			return fmt.Errorf("ratelimit: redis: load scripts: %w", err)
		}
	}
	return nil
}

// writePending writes the settlements kept while Redis was down.
func (r *redisBackend) writePending() {
	r.pmu.Lock()
	ops := r.pending
	r.pending = nil
	r.pmu.Unlock()
	for len(ops) > 0 && r.up() {
		n := min(len(ops), settleBatch)
		r.write(ops[:n])
		ops = ops[n:]
	}
	if len(ops) > 0 {
		r.keep(ops)
	}
}

// Key names (see lua.go).

func (r *redisBackend) tag(s scope) string {
	switch s.kind {
	case scopeTarget:
		return r.prefix + "{t:" + s.id + "/" + s.model + "}"
	case scopeTeam:
		return r.prefix + "{T:" + s.id + "}"
	case scopeKeyUser:
		return r.prefix + "{ku:" + s.id + ":" + s.model + "}"
	case scopeTeamUser:
		return r.prefix + "{tu:" + s.id + ":" + s.model + "}"
	}
	return r.prefix + "{k:" + s.id + "}"
}

func (r *redisBackend) bucketKey(s scope, which string) string {
	switch s.kind {
	case scopeKeyModel:
		return r.tag(s) + ":m:" + which + ":" + s.model
	default:
		return r.tag(s) + ":" + which
	}
}

func (r *redisBackend) spendKey(tag string, p period, now time.Time) string {
	now = now.UTC()
	switch p {
	case periodDay:
		return tag + ":$:d:" + now.Format("20060102")
	case periodMonth:
		return tag + ":$:m:" + now.Format("200601")
	}
	return tag + ":$:t"
}

// spendExpiry is when a period's counter may go: a day after the period
// ends (so that a read at the boundary still finds it); never for total.
func spendExpiry(p period, now time.Time) int64 {
	end := p.end(now)
	if end.IsZero() {
		return 0
	}
	return end.Add(24 * time.Hour).UnixMilli()
}

// holdMember names a held cost in the key's held set: a unique id, '|',
// and the amount (which the scripts read back).
func holdMember(id string, usd float64) string {
	return id + "|" + strconv.FormatFloat(usd, 'g', -1, 64)
}

// bucketRef says which check and which bucket of it a script bucket is.
type bucketRef struct {
	check int
	tok   bool
}

// exec runs p as one admitScript call.
func (r *redisBackend) exec(p *plan) error {
	var refs [2 * maxChecks]bucketRef
	var sets [maxChecks]int // the checks that take a slot
	nb, nc := 0, 0
	keys := make([]string, 0, 2*maxChecks+maxChecks+3*maxBudgets)
	args := make([]any, 5, 5+4*maxChecks+2*maxChecks+4*maxBudgets)
	args[0], args[1] = periodMicros, int64(slotLease/time.Microsecond)
	for i := 0; i < p.n; i++ {
		c := &p.checks[i]
		if c.rpm > 0 {
			keys = append(keys, r.bucketKey(c.s, "r"))
			args = append(args, c.rpm, uint64(1))
			refs[nb] = bucketRef{i, false}
			nb++
		}
		if c.tpm > 0 {
			keys = append(keys, r.bucketKey(c.s, "t"))
			args = append(args, c.tpm, c.tokens)
			refs[nb] = bucketRef{i, true}
			nb++
		}
	}
	for i := 0; i < p.n; i++ {
		if c := &p.checks[i]; c.maxc > 0 {
			keys = append(keys, r.tag(c.s)+":c")
			args = append(args, c.maxc, c.member)
			sets[nc] = i
			nc++
		}
	}
	now := r.now()
	for j := 0; j < p.nb; j++ {
		b := &p.budgets[j]
		tag := r.tag(b.s)
		keys = append(keys, r.spendKey(tag, b.period, now), tag+":$h", tag+":$hs")
		args = append(args, b.usd, b.known, b.est, b.member)
	}
	args[2], args[3], args[4] = nb, nc, p.nb
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	res, err := admitScript.Run(ctx, r.client, keys, args...).Slice()
	if err != nil {
		return fmt.Errorf("ratelimit: redis admit: %w", err)
	}
	if want := 3 + nc + 2*p.nb + 2*nb; len(res) != want {
		return fmt.Errorf("ratelimit: redis admit: %d values returned, want %d", len(res), want)
	}
	r.ok()
	okv, fail, retry := toInt(res[0]), toInt(res[1]), toInt(res[2])
	p.ok, p.reason, p.retry = okv == 1, ReasonNone, time.Duration(retry)*time.Microsecond
	at := 3
	for j := 0; j < nc; j++ {
		p.checks[sets[j]].inUse = toInt(res[at])
		at++
	}
	for j := 0; j < p.nb; j++ {
		b := &p.budgets[j]
		b.spend, _ = strconv.ParseFloat(toString(res[at]), 64)
		b.held, _ = strconv.ParseFloat(toString(res[at+1]), 64)
		at += 2
	}
	for j := 0; j < nb; j++ {
		ref := refs[j]
		c := &p.checks[ref.check]
		rs := result{ok: true, remaining: toInt(res[at+2*j]), reset: time.Duration(toInt(res[at+1+2*j])) * time.Microsecond}
		if !p.ok && fail == int64(j+1) {
			rs.ok, rs.retry = false, p.retry
			p.fail = ref.check
			if ref.tok {
				p.reason = ReasonTPM
			} else {
				p.reason = ReasonRPM
			}
		}
		if ref.tok {
			c.tok = rs
		} else {
			c.req = rs
		}
	}
	switch {
	case p.ok:
	case fail <= -100:
		p.reason, p.fail = ReasonBudget, budgetFail(int(-fail-100)-1)
	case fail < 0:
		p.reason, p.fail = ReasonConcurrency, sets[-fail-1]
	}
	return nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

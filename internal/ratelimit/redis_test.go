package ratelimit

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluice-gw/sluice/internal/config"
)

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

func TestRedisNPlusK(t *testing.T) {
	url, prefix := testRedis(t)
	l, _, _ := newRedisLimiter(t, redisConfig(url, prefix, config.FailClosed, time.Second))
	for _, n := range []int64{1, 10, 37} {
		k := &Key{ID: "nk" + string(rune('a'+n%26)), RPM: n}
		refused := 0
		var last Decision
		for range n + 3 {
			var tk Ticket
			if d := l.Admit(&tk, k); !d.Allowed {
				refused++
				last = d
			}
			tk.Release()
		}
		if refused != 3 {
			t.Errorf("rpm %d: %d+3 at once: %d refused, want 3", n, n, refused)
		}
		if last.Reason != ReasonRPM || last.Limit != n || last.RetryAfter <= 0 || last.RetryAfter > Period/time.Duration(n)+time.Millisecond {
			t.Errorf("rpm %d refusal: %+v", n, last)
		}
	}
	// Tokens: a burst of the whole limit, then nothing.
	k := &Key{ID: "tok", TPM: 1000}
	for i, want := range []bool{true, true, false} {
		var tk Ticket
		l.Admit(&tk, k)
		d := l.Reserve(&tk, "m", ModelLimit{}, 500)
		if d.Allowed != want {
			t.Errorf("reservation %d of 500 on 1000 tpm: %+v", i, d)
		}
		if i == 0 && (tk.Tokens().Limit != 1000 || tk.Tokens().Remaining != 500 || tk.Tokens().Reset < 29*time.Second) {
			t.Errorf("tokens window %+v", tk.Tokens())
		}
		if !d.Allowed && d.Reason != ReasonTPM {
			t.Errorf("refusal %+v", d)
		}
	}
}

func TestRedisOneRoundTrip(t *testing.T) {
	url, prefix := testRedis(t)
	l, _, _ := newRedisLimiter(t, redisConfig(url, prefix, config.FailClosed, time.Second))
	h := &roundTrips{}
	l.rds.client.AddHook(h)
	k := &Key{ID: "rt", RPM: 100, TPM: 100_000, MaxConcurrent: 5, BudgetUSD: 10, BudgetPeriod: "day"}
	var tk Ticket
	for _, step := range []struct {
		name string
		call func() Decision
	}{
		{"Admit (rpm, concurrency)", func() Decision { return l.Admit(&tk, k) }},
		{"Reserve (tpm, model rpm and tpm, budget)", func() Decision {
			return l.Reserve(&tk, "gpt-4o-mini", ModelLimit{RPM: 10, TPM: 1000}, 300)
		}},
	} {
		before := h.n.Load()
		if d := step.call(); !d.Allowed {
			t.Fatalf("%s refused: %+v", step.name, d)
		}
		if n := h.n.Load() - before; n != 1 {
			t.Errorf("%s: %d round trips, want 1", step.name, n)
		}
	}
	tk.Settle(Usage{Input: 10, Output: 20})
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := l.Snapshot(context.Background(), k)
	if !s.Shared || s.InFlight != 0 || s.Tokens.Remaining < 100_000-31 || s.Requests.Remaining != 99 || s.SpendUSD <= 0 {
		t.Errorf("snapshot after settling %+v", s)
	}
}

func TestRedisOvershoot(t *testing.T) {
	url, prefix := testRedis(t)
	l, _, _ := newRedisLimiter(t, redisConfig(url, prefix, config.FailClosed, time.Second))
	k := &Key{ID: "over", TPM: 1000}
	var admitted, used atomic.Int64
	var reserved, wg sync.WaitGroup
	reserved.Add(50)
	finish := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			var tk Ticket
			l.Admit(&tk, k)
			d := l.Reserve(&tk, "m", ModelLimit{}, l.Estimate(0, 100))
			reserved.Done()
			if !d.Allowed {
				tk.Release()
				return
			}
			admitted.Add(1)
			<-finish
			u := Usage{Input: 5, Output: int64(i % 40)}
			used.Add(u.Tokens())
			tk.Settle(u)
		})
	}
	reserved.Wait()
	close(finish)
	wg.Wait()
	if n := admitted.Load(); n != 10 {
		t.Errorf("admitted %d, want 10", n)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The bucket drains 1000 tokens a minute in real time: allow what
	// the test's own duration refilled.
	s := l.Snapshot(context.Background(), k)
	want := 1000 - used.Load()
	if s.Tokens.Remaining < want || s.Tokens.Remaining > want+5 {
		t.Errorf("remaining %d after settling, want %d (1000 - used)", s.Tokens.Remaining, want)
	}
}

// TestRedisTwoInstances: the same traffic admitted by one instance, and
// split over two sharing Redis, gives the same count within ±2; slots and
// budgets are shared too.
func TestRedisTwoInstances(t *testing.T) {
	url, prefix := testRedis(t)
	one, _, _ := newRedisLimiter(t, redisConfig(url, prefix+"one:", config.FailClosed, time.Second))
	a, _, _ := newRedisLimiter(t, redisConfig(url, prefix+"two:", config.FailClosed, time.Second))
	b, _, _ := newRedisLimiter(t, redisConfig(url, prefix+"two:", config.FailClosed, time.Second))
	k := &Key{ID: "shared", RPM: 120, TPM: 20_000}
	run := func(ls ...*Limiter) int {
		var n atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 40 {
					l := ls[(w+i)%len(ls)]
					var tk Ticket
					if l.Admit(&tk, k).Allowed && l.Reserve(&tk, "m", ModelLimit{}, 150).Allowed {
						n.Add(1)
					}
					tk.Settle(Usage{Input: 100, Output: 50})
				}
			})
		}
		wg.Wait()
		return int(n.Load())
	}
	single, split := run(one), run(a, b)
	if single < 100 || math.Abs(float64(single-split)) > 2 {
		t.Errorf("admitted %d by one instance, %d split over two: want the same within ±2", single, split)
	}

	kc := &Key{ID: "slots", MaxConcurrent: 3}
	var t1, t2, t3, t4 Ticket
	if !a.Admit(&t1, kc).Allowed || !b.Admit(&t2, kc).Allowed || !a.Admit(&t3, kc).Allowed {
		t.Fatal("the first three slots were refused")
	}
	if d := b.Admit(&t4, kc); d.Allowed || d.Reason != ReasonConcurrency {
		t.Errorf("a fourth slot on the other instance: %+v", d)
	}
	t2.Release()
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	t4.Reset()
	if !a.Admit(&t4, kc).Allowed {
		t.Error("a slot released on b is not free on a")
	}
	for _, tk := range []*Ticket{&t1, &t3, &t4} {
		tk.Release()
	}

	kb := &Key{ID: "budget", BudgetUSD: 1, BudgetPeriod: "day"}
	var tb Ticket
	a.Admit(&tb, kb)
	a.Reserve(&tb, "gpt-4o-mini", ModelLimit{}, 1)
	tb.Settle(Usage{Output: 500_000}) // $1
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var tb2 Ticket
	b.Admit(&tb2, kb)
	if d := b.Reserve(&tb2, "gpt-4o-mini", ModelLimit{}, 1); d.Allowed || d.Reason != ReasonBudget {
		t.Errorf("spend on a does not count on b: %+v", d)
	}
}

// TestRedisSteadyRate: a steady 6,000 rpm offered to a 3,000-rpm key split
// over two instances is admitted at the limit (after the initial burst)
// within ±2%. Scaled down in time: 2 s of traffic.
func TestRedisSteadyRate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2s")
	}
	url, prefix := testRedis(t)
	a, _, _ := newRedisLimiter(t, redisConfig(url, prefix, config.FailClosed, time.Second))
	b, _, _ := newRedisLimiter(t, redisConfig(url, prefix, config.FailClosed, time.Second))
	k := &Key{ID: "steady", RPM: 3000}
	// Spend the initial burst first.
	for {
		var tk Ticket
		if !a.Admit(&tk, k).Allowed {
			break
		}
	}
	const dur = 2 * time.Second
	const every = 10 * time.Millisecond // 100/s = 6,000 rpm, over two instances
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	admitted, i := 0, 0
	for time.Since(start) < dur {
		<-tick.C
		l := a
		if i%2 == 1 {
			l = b
		}
		i++
		var tk Ticket
		if l.Admit(&tk, k).Allowed {
			admitted++
		}
	}
	want := float64(3000) * time.Since(start).Seconds() / 60
	if math.Abs(float64(admitted)-want) > math.Max(0.02*want, 2) {
		t.Errorf("admitted %d in %s, want %.0f ±2%%", admitted, time.Since(start).Round(time.Millisecond), want)
	}
}

func TestRedisFailModes(t *testing.T) {
	for _, mode := range []string{config.FailLocal, config.FailOpen, config.FailClosed} {
		t.Run(mode, func(t *testing.T) {
			srv := startPrivateRedis(t)
			l, reg, logs := newRedisLimiter(t, redisConfig(srv.url(), "fm:", mode, 20*time.Millisecond))
			k := &Key{ID: "fm", RPM: 5, MaxConcurrent: 100}
			admit := func() (Decision, time.Duration) {
				var tk Ticket
				start := time.Now()
				d := l.Admit(&tk, k)
				took := time.Since(start)
				tk.Release()
				return d, took
			}
			if d, _ := admit(); !d.Allowed {
				t.Fatalf("with Redis up: %+v", d)
			}
			srv.stop()
			var got []Decision
			for range 12 {
				d, took := admit()
				if took > 50*time.Millisecond {
					t.Errorf("a decision with Redis down took %s", took)
				}
				got = append(got, d)
			}
			if l.rds.up() {
				t.Error("the breaker did not open")
			}
			fallbacks := counter(t, reg, "sluice_ratelimit_fallback_total", map[string]string{"mode": mode})
			if fallbacks != 12 {
				t.Errorf("fallback decisions counted: %v, want 12", fallbacks)
			}
			allowedN := 0
			for _, d := range got {
				if d.Allowed {
					allowedN++
				} else if mode == config.FailClosed && d.Reason != ReasonUnavailable {
					t.Errorf("closed: refusal %+v", d)
				}
			}
			switch mode {
			case config.FailLocal: // this instance's own 5 rpm
				if allowedN != 5 {
					t.Errorf("local: %d of 12 admitted, want 5", allowedN)
				}
			case config.FailOpen:
				if allowedN != 12 {
					t.Errorf("open: %d of 12 admitted", allowedN)
				}
			case config.FailClosed:
				if allowedN != 0 {
					t.Errorf("closed: %d of 12 admitted", allowedN)
				}
			}
			// The breaker may have been opened by the settlement writer,
			// which logs on its own goroutine.
			eventually(t, time.Second, "a log line for the outage", func() bool {
				return strings.Contains(logs.String(), "redis unreachable")
			})
			srv.start()
			eventually(t, 5*time.Second, "the breaker closes once Redis is back", l.rds.up)
			eventually(t, time.Second, "a log line for the recovery", func() bool {
				return strings.Contains(logs.String(), "redis reachable again")
			})
			if n := strings.Count(logs.String(), "redis unreachable"); n != 1 {
				t.Errorf("%d outage lines for one outage:\n%s", n, logs)
			}
			before := counter(t, reg, "sluice_ratelimit_fallback_total", map[string]string{"mode": mode})
			for range 5 {
				if d, _ := admit(); !d.Allowed {
					t.Errorf("after recovery (a fresh Redis): %+v", d)
				}
			}
			if d, _ := admit(); d.Allowed || d.Reason != ReasonRPM {
				t.Errorf("the sixth request after recovery: %+v, want the Redis rpm refusal", d)
			}
			if after := counter(t, reg, "sluice_ratelimit_fallback_total", map[string]string{"mode": mode}); after != before {
				t.Errorf("fallbacks after recovery: %v → %v", before, after)
			}
			if up := counter(t, reg, "sluice_ratelimit_redis_up", nil); up != 1 {
				t.Errorf("redis_up = %v", up)
			}
		})
	}
}

// TestRedisDownAtStart: a limiter whose Redis is not there yet starts, uses
// its fail mode, and switches to Redis when it appears.
func TestRedisDownAtStart(t *testing.T) {
	srv := startPrivateRedis(t)
	srv.stop()
	l, reg, _ := newRedisLimiter(t, redisConfig(srv.url(), "ds:", config.FailLocal, 20*time.Millisecond))
	if l.rds.up() {
		t.Fatal("up with Redis down")
	}
	var tk Ticket
	if d := l.Admit(&tk, &Key{ID: "x", RPM: 1}); !d.Allowed {
		t.Fatalf("local fallback refused the first request: %+v", d)
	}
	tk.Release()
	if counter(t, reg, "sluice_ratelimit_fallback_total", map[string]string{"mode": "local"}) != 1 {
		t.Error("fallback not counted")
	}
	srv.start()
	eventually(t, 5*time.Second, "Redis is used once it appears", l.rds.up)
}

// TestRedisSettleWhileDown: slot releases made while Redis is down wait
// and are written when it is back. The private server keeps an
// append-only file synced on every write, so the slots survive its crash.
func TestRedisSettleWhileDown(t *testing.T) {
	srv := startPrivateRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	l, _, _ := newRedisLimiter(t, redisConfig(srv.url(), "sd:", config.FailClosed, 50*time.Millisecond))
	k := &Key{ID: "sd", MaxConcurrent: 2}
	var a, b Ticket
	if !l.Admit(&a, k).Allowed || !l.Admit(&b, k).Allowed {
		t.Fatal("refused")
	}
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1})
	defer c.Close()
	slots := func() int64 {
		n, err := c.ZCard(ctx, "sd:{k:sd}:c").Result()
		if err != nil {
			return -1
		}
		return n
	}
	if n := slots(); n != 2 {
		t.Fatalf("%d slots in Redis, want 2", n)
	}
	srv.stop()
	a.Release()
	b.Release()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the breaker opens", func() bool { return !l.rds.up() })
	l.rds.pmu.Lock()
	kept := len(l.rds.pending)
	l.rds.pmu.Unlock()
	if kept == 0 {
		t.Fatal("no settlement kept while Redis is down")
	}
	srv.start()
	if n := slots(); n != 2 {
		t.Fatalf("%d slots in Redis after its restart, want the 2 it had", n)
	}
	eventually(t, 5*time.Second, "the kept releases reach Redis", func() bool { return slots() == 0 })
}

// TestRedisHung: a Redis that accepts connections but never answers
// (stopped with SIGSTOP, like a partition) costs each decision at most
// the timeout until the breaker opens, and is used again once it resumes.
func TestRedisHung(t *testing.T) {
	srv := startPrivateRedis(t)
	l, reg, _ := newRedisLimiter(t, redisConfig(srv.url(), "hung:", config.FailLocal, 20*time.Millisecond))
	k := &Key{ID: "h", RPM: 1000}
	admit := func() time.Duration {
		var tk Ticket
		start := time.Now()
		d := l.Admit(&tk, k)
		took := time.Since(start)
		if !d.Allowed {
			t.Errorf("refused: %+v", d)
		}
		tk.Release()
		return took
	}
	admit()
	if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = srv.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	defer resume()
	var slowest time.Duration
	for range 20 {
		slowest = max(slowest, admit())
	}
	if slowest > 50*time.Millisecond {
		t.Errorf("slowest decision with Redis hung: %s", slowest)
	}
	if l.rds.up() {
		t.Error("the breaker did not open")
	}
	if n := counter(t, reg, "sluice_ratelimit_fallback_total", map[string]string{"mode": "local"}); n != 20 {
		t.Errorf("fallbacks counted: %v, want 20", n)
	}
	resume()
	eventually(t, 5*time.Second, "Redis is used again once it resumes", l.rds.up)
}

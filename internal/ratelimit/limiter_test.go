package ratelimit

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

func TestAdmitNPlusK(t *testing.T) {
	for _, tt := range []struct {
		name     string
		rpm      int64
		defaults int64
		extra    int
	}{
		{"rpm 1", 1, 0, 3},
		{"rpm 10", 10, 0, 5},
		{"rpm 600", 600, 0, 1},
		{"rpm from defaults", 0, 25, 4},
		{"key limit wins over defaults", 7, 1000, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(0, 0)
			cfg.Limits.Defaults.RPM = tt.defaults
			l := newTestLimiter(t, cfg, newClock(), nil)
			k := &Key{ID: "k1", RPM: tt.rpm}
			n := tt.rpm
			if n == 0 {
				n = tt.defaults
			}
			refused := 0
			var last Decision
			for i := 0; i < int(n)+tt.extra; i++ {
				var tk Ticket
				d := l.Admit(&tk, k)
				if !d.Allowed {
					refused++
					last = d
				}
				tk.Settle(Usage{})
			}
			if refused != tt.extra {
				t.Fatalf("%d+%d requests: %d refused, want %d", n, tt.extra, refused, tt.extra)
			}
			if tt.extra > 0 {
				if last.Reason != ReasonRPM || last.Scope != ScopeKey || last.Limit != n ||
					last.RetryAfter != (Period+time.Duration(n)-1)/time.Duration(n) {
					t.Errorf("refusal = %+v", last)
				}
				if !strings.Contains(last.Message(), "(rpm)") {
					t.Errorf("message %q does not name rpm", last.Message())
				}
			}
		})
	}
}

func TestUnlimitedKeyTouchesNothing(t *testing.T) {
	l := newTestLimiter(t, testConfig(0, 0), newClock(), nil)
	var tk Ticket
	if d := l.Admit(&tk, &Key{ID: "free"}); !d.Allowed {
		t.Fatal(d)
	}
	if d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 100); !d.Allowed {
		t.Fatal(d)
	}
	if tk.Requests().Limit != 0 || tk.Tokens().Limit != 0 {
		t.Errorf("windows for an unlimited key: %+v %+v", tk.Requests(), tk.Tokens())
	}
	tk.Settle(Usage{Input: 10, Output: 10})
	if n := l.mem.size(); n != 0 {
		t.Errorf("%d scopes hold state for an unlimited key", n)
	}
}

func TestWindows(t *testing.T) {
	clock := newClock()
	l := newTestLimiter(t, testConfig(0, 0), clock, nil)
	k := &Key{ID: "w", RPM: 10, TPM: 1000}
	var tk Ticket
	l.Admit(&tk, k)
	if got := tk.Requests(); got != (Window{Limit: 10, Remaining: 9, Reset: 6 * time.Second}) {
		t.Errorf("requests window %+v", got)
	}
	if got := tk.Tokens(); got != (Window{Limit: 1000, Remaining: 1000}) {
		t.Errorf("tokens window before the reservation %+v", got)
	}
	l.Reserve(&tk, "m", ModelLimit{RPM: 5}, 250)
	if got := tk.Tokens(); got != (Window{Limit: 1000, Remaining: 750, Reset: 15 * time.Second}) {
		t.Errorf("tokens window after reserving 250: %+v", got)
	}
	if got := tk.Requests(); got != (Window{Limit: 5, Remaining: 4, Reset: 12 * time.Second}) {
		t.Errorf("requests window is not the tighter per-model one: %+v", got)
	}
	if tk.Reserved() != 250 {
		t.Errorf("Reserved = %d", tk.Reserved())
	}
	tk.Settle(Usage{Input: 20, Output: 30})
	s := l.Snapshot(context.Background(), k)
	if s.Tokens != (Window{Limit: 1000, Remaining: 950, Reset: 3 * time.Second}) {
		t.Errorf("after settling 50 tokens: %+v", s.Tokens)
	}
}

// TestTokenOvershoot is the case: 50 concurrent requests with
// max_tokens 100 on a fresh 1,000-tpm key admit at most 10, and the
// counter equals actual usage once they finish.
func TestTokenOvershoot(t *testing.T) {
	clock := newClock() // frozen: nothing refills during the test
	l := newTestLimiter(t, testConfig(0, 0), clock, nil)
	k := &Key{ID: "tpm", TPM: 1000}
	var admitted atomic.Int64
	var used atomic.Int64
	var reserved sync.WaitGroup
	reserved.Add(50)
	start, finish := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			var tk Ticket
			<-start
			if d := l.Admit(&tk, k); !d.Allowed {
				t.Errorf("Admit refused: %+v", d)
			}
			// An empty body: the estimate is max_tokens alone.
			d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, l.Estimate(0, 100))
			reserved.Done()
			if !d.Allowed {
				if d.Reason != ReasonTPM || d.Tokens != 100 || d.Limit != 1000 {
					t.Errorf("refusal %+v", d)
				}
				tk.Release()
				return
			}
			admitted.Add(1)
			<-finish // all 50 are in flight together
			u := Usage{Input: 10, Output: int64(1 + i%60)}
			used.Add(u.Tokens())
			tk.Settle(u)
		})
	}
	close(start)
	reserved.Wait()
	close(finish)
	wg.Wait()
	if n := admitted.Load(); n != 10 {
		t.Errorf("admitted %d requests, want 10", n)
	}
	s := l.Snapshot(context.Background(), k)
	if want := 1000 - used.Load(); s.Tokens.Remaining != want {
		t.Errorf("remaining %d tokens after settling, want 1000 - %d used = %d", s.Tokens.Remaining, used.Load(), want)
	}
}

func TestSmallLimitAdmitsFirstRequest(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  Key
		ml   ModelLimit
		tgt  int64
	}{
		{"key tpm", Key{ID: "a", TPM: 10}, ModelLimit{}, 0},
		{"model tpm", Key{ID: "b"}, ModelLimit{TPM: 5}, 0},
		{"target tpm", Key{ID: "c"}, ModelLimit{}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLimiter(t, testConfig(0, tt.tgt), newClock(), nil)
			tokens := l.Estimate(4000, 0) // a large prompt and default max_tokens: far above every limit
			var tk Ticket
			l.Admit(&tk, &tt.key)
			if d := l.Reserve(&tk, "gpt-4o-mini", tt.ml, tokens); !d.Allowed {
				t.Fatalf("first request refused: %+v", d)
			}
			if d := l.AdmitTarget(&tk, "openai", "gpt-4o-mini", tokens); !d.Allowed {
				t.Fatalf("first request refused by the target: %+v", d)
			}
			var tk2 Ticket
			l.Admit(&tk2, &tt.key)
			d := l.Reserve(&tk2, "gpt-4o-mini", tt.ml, tokens)
			if d.Allowed {
				d = l.AdmitTarget(&tk2, "openai", "gpt-4o-mini", tokens)
			}
			if d.Allowed || d.Reason != ReasonTPM {
				t.Errorf("second request: %+v, want a tpm refusal", d)
			}
			tk.Settle(Usage{Input: 1, Output: 1})
			tk2.Release()
		})
	}
}

func TestConcurrency(t *testing.T) {
	l := newTestLimiter(t, testConfig(0, 0), newClock(), nil)
	k := &Key{ID: "c", MaxConcurrent: 2}
	var a, b, c Ticket
	if !l.Admit(&a, k).Allowed || !l.Admit(&b, k).Allowed {
		t.Fatal("first two refused")
	}
	d := l.Admit(&c, k)
	if d.Allowed || d.Reason != ReasonConcurrency || d.Limit != 2 || d.RetryAfterSeconds() != 1 {
		t.Fatalf("third: %+v", d)
	}
	if !strings.Contains(d.Message(), "(concurrency)") {
		t.Errorf("message %q", d.Message())
	}
	if s := l.Snapshot(context.Background(), k); s.InFlight != 2 || s.MaxConcurrent != 2 {
		t.Errorf("snapshot %+v", s)
	}
	a.Settle(Usage{})
	a.Settle(Usage{}) // a second settle changes nothing
	a.Release()
	c.Reset()
	if d := l.Admit(&c, k); !d.Allowed {
		t.Fatalf("after a release: %+v", d)
	}
	b.Release()
	c.Release()
	if s := l.Snapshot(context.Background(), k); s.InFlight != 0 {
		t.Errorf("in flight after all released: %d", s.InFlight)
	}
}

// TestNoLeak runs thousands of requests with mixed outcomes — refused at
// each stage, settled, released, settled twice, settled and released
// from two goroutines at once, retried on another target — and requires
// every slot and reservation to be returned.
func TestNoLeak(t *testing.T) {
	clock := newClock()
	l := newTestLimiter(t, testConfig(500, 20_000), clock, nil)
	keys := []*Key{
		{ID: "a", RPM: 300, TPM: 50_000, MaxConcurrent: 8},
		{ID: "b", MaxConcurrent: 3},
		{ID: "c", TPM: 2_000, MaxConcurrent: 5},
		{ID: "d", RPM: 100},
	}
	var wg sync.WaitGroup
	var settledBoth atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for range 1500 {
				var tk Ticket
				k := keys[rng.IntN(len(keys))]
				if !l.Admit(&tk, k).Allowed {
					tk.Release()
					continue
				}
				ml := ModelLimit{}
				if rng.IntN(3) == 0 {
					ml = ModelLimit{RPM: 50, TPM: 3000}
				}
				if !l.Reserve(&tk, "gpt-4o-mini", ml, 1+rng.Int64N(400)).Allowed {
					tk.Release()
					continue
				}
				if !l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 200).Allowed {
					tk.Release()
					continue
				}
				if rng.IntN(4) == 0 && !l.AdmitTarget(&tk, "openai", "fallback", 200).Allowed { // a retry elsewhere
					tk.Release()
					continue
				}
				u := Usage{Input: rng.Int64N(300), Output: rng.Int64N(300)}
				switch rng.IntN(5) {
				case 0:
					tk.Release()
				case 1:
					tk.Settle(u)
					tk.Settle(u)
				case 2: // two exit paths race
					var inner sync.WaitGroup
					inner.Go(func() { tk.Settle(u) })
					inner.Go(func() { tk.Release() })
					inner.Wait()
					settledBoth.Add(1)
				default:
					tk.Settle(u)
				}
				if rng.IntN(50) == 0 {
					clock.Add(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if settledBoth.Load() == 0 {
		t.Fatal("the racing exit paths never ran")
	}
	for i := range l.mem.shards {
		sh := &l.mem.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if e.conc != 0 || e.holds != 0 {
				t.Errorf("scope %+v: %d slots, %d holds left", e.s, e.conc, e.holds)
			}
		}
		sh.mu.Unlock()
	}
	// Once every bucket is full again, nothing is left to keep.
	clock.Add(maxDebtPeriods * Period)
	l.mem.sweep(clock.Now().UnixNano(), clock.Now().UnixNano())
	if n := l.mem.size(); n != 0 {
		t.Errorf("%d scopes left after the sweep", n)
	}
}

func TestModelAndTargetLimits(t *testing.T) {
	l := newTestLimiter(t, testConfig(2, 0), newClock(), nil)
	k := &Key{ID: "m"}
	var refusals []Decision
	for range 4 {
		var tk Ticket
		l.Admit(&tk, k)
		d := l.Reserve(&tk, "gpt-4o", ModelLimit{RPM: 3}, 10)
		if !d.Allowed {
			refusals = append(refusals, d)
		}
		tk.Release()
	}
	if len(refusals) != 1 || refusals[0].Scope != ScopeKeyModel || refusals[0].Model != "gpt-4o" ||
		!strings.Contains(refusals[0].Message(), `model "gpt-4o"`) {
		t.Errorf("per-model refusals: %+v", refusals)
	}
	// Other models are not affected by gpt-4o's limit.
	var tk Ticket
	l.Admit(&tk, k)
	if d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 10); !d.Allowed {
		t.Errorf("another model refused: %+v", d)
	}
	// The target allows 2 rpm for each upstream model, across keys.
	for i, want := range []bool{true, true, false} {
		var tk Ticket
		d := l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 1)
		if d.Allowed != want {
			t.Errorf("target request %d: %+v", i, d)
		}
		if !d.Allowed && (d.Scope != ScopeTarget || d.Provider != "openai" || !strings.Contains(d.Message(), "openai/gpt-4o-mini")) {
			t.Errorf("target refusal %+v: %s", d, d.Message())
		}
	}
	if d := l.AdmitTarget(&tk, "openai", "other", 1); !d.Allowed {
		t.Errorf("another upstream model refused: %+v", d)
	}
	if d := l.AdmitTarget(&tk, "unlimited-provider", "x", 1); !d.Allowed {
		t.Errorf("a provider without limits refused: %+v", d)
	}
}

func TestTargetRetryRefunds(t *testing.T) {
	clock := newClock()
	l := newTestLimiter(t, testConfig(0, 1000), clock, nil)
	var tk Ticket
	if !l.AdmitTarget(&tk, "openai", "a", 600).Allowed {
		t.Fatal("refused")
	}
	// Retrying on another upstream model refunds the first reservation.
	if !l.AdmitTarget(&tk, "openai", "b", 600).Allowed {
		t.Fatal("refused")
	}
	var other Ticket
	if d := l.AdmitTarget(&other, "openai", "a", 1000); !d.Allowed {
		t.Errorf("the first target's reservation was not refunded: %+v", d)
	}
	tk.Settle(Usage{Input: 100})
	other.Release()
	var again Ticket
	if d := l.AdmitTarget(&again, "openai", "b", 900); !d.Allowed {
		t.Errorf("b after settling 100 of 600: %+v", d)
	}
	again.Release()
}

func TestEstimate(t *testing.T) {
	cfg := testConfig(0, 0)
	cfg.Limits.DefaultMaxTokens = 512
	l := newTestLimiter(t, cfg, newClock(), nil)
	for _, tt := range []struct {
		body int
		max  int64
		want int64
	}{{0, 0, 512}, {1, 0, 513}, {400, 100, 200}, {401, 100, 201}, {0, 7, 7}} {
		if got := l.Estimate(tt.body, tt.max); got != tt.want {
			t.Errorf("Estimate(%d, %d) = %d, want %d", tt.body, tt.max, got, tt.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, mut := range map[string]func(*config.Config){
		"negative default": func(c *config.Config) { c.Limits.Defaults.TPM = -1 },
		"fail mode":        func(c *config.Config) { c.Limits.Redis.FailMode = "maybe" },
		"negative price":   func(c *config.Config) { c.Pricing["x"] = config.Price{Input: -1} },
		"redis url":        func(c *config.Config) { c.Limits.Redis.URL = "http://x" },
	} {
		t.Run(name, func(t *testing.T) {
			c := testConfig(0, 0)
			mut(c)
			if l, err := New(c, Deps{}); err == nil {
				_ = l.Close(context.Background())
				t.Error("New accepted it")
			}
		})
	}
}

package ratelimit

import (
	"math"
	"testing"
	"time"
)

// TestBudgetHolds: a key with a budget holds each admitted request's
// estimated cost until it settles; spend + held + estimate over the
// budget is refused, on both backends.
func TestBudgetHolds(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testBudgetHolds(t, newTestLimiter(t, testConfig(0, 0), newClock(), nil)) })
	t.Run("redis", func(t *testing.T) {
		url, prefix := testRedis(t)
		l, _, _ := newRedisLimiter(t, redisConfig(url, prefix, "closed", time.Second))
		testBudgetHolds(t, l)
	})
}

func testBudgetHolds(t *testing.T, l *Limiter) {
	k := &Key{ID: "holds", BudgetUSD: 1e-3}
	est := TokenEstimate{Input: 100, Output: 200} // $1/$2 per M: $0.0005
	reserve := func(tk *Ticket, e TokenEstimate) Decision {
		tk.Reset()
		if d := l.Admit(tk, k); !d.Allowed {
			t.Fatalf("admit: %+v", d)
		}
		return l.ReserveTokens(tk, "gpt-4o-mini", ModelLimit{}, e)
	}
	var a, b, c Ticket
	if d := reserve(&a, est); !d.Allowed {
		t.Fatalf("first: %+v", d)
	}
	if d := reserve(&b, est); !d.Allowed {
		t.Fatalf("second: %+v", d)
	}
	d := reserve(&c, est)
	if d.Allowed || d.Reason != ReasonBudget || math.Abs(d.HeldUSD-1e-3) > 1e-12 ||
		math.Abs(d.EstimateUSD-5e-4) > 1e-12 || d.SpendUSD != 0 || d.RetryAfter != concurrencyRetry {
		t.Fatalf("third, with two held: %+v", d)
	}
	c.Release()
	a.Release()                                  // refused upstream: nothing spent, the hold goes
	if err := l.Flush(t.Context()); err != nil { // Redis settles in the background
		t.Fatal(err)
	}
	if d := reserve(&c, est); !d.Allowed {
		t.Fatalf("after a release: %+v", d)
	}
	b.Settle(Usage{Input: 100, Output: 100}) // $0.0003 spent, hold released
	c.Settle(Usage{Input: 100, Output: 100}) // $0.0006
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// $0.0004 left: an estimate of $0.0005 alone is refused, without holds.
	d = reserve(&a, est)
	if d.Allowed || d.HeldUSD != 0 || math.Abs(d.SpendUSD-6e-4) > 1e-12 || d.RetryAfter != 0 {
		t.Fatalf("estimate over the rest: %+v", d)
	}
	a.Release()
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := reserve(&a, TokenEstimate{Input: 100, Output: 100}); !d.Allowed {
		t.Fatalf("$0.0003 of $0.0004 left: %+v", d)
	}
	a.Release()
}

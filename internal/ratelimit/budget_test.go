package ratelimit

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/pricing"
)

func ptr(f float64) *float64 { return &f }

// TestCost: budgets charge by the price table (internal/pricing, where the
// arithmetic is tested against worked examples); Usage maps onto it field
// by field.
func TestCost(t *testing.T) {
	p, err := pricing.New(map[string]config.Price{
		"m":      {Input: 2, Output: 8, CachedInput: ptr(0.5), CacheWrite: ptr(2.5)},
		"freebe": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		model string
		u     Usage
		want  float64
		ok    bool
	}{
		{"m", Usage{Input: 1_000_000, CachedInput: 200_000, CacheWrite: 300_000, Output: 10}, 0.5*2 + 0.2*0.5 + 0.3*2.5 + 10*8e-6, true},
		{"freebe", Usage{Input: 99}, 0, true},
		{"gpt-4o-mini", Usage{Input: 1_000_000}, 0.15, true}, // the catalog's price
		{"unknown", Usage{Input: 99}, 0, false},
	} {
		got, ok := p.Cost(tt.model, tt.u.Pricing())
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Cost(%s, %+v) = %v, %t; want %v, %t", tt.model, tt.u, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPeriods(t *testing.T) {
	at := time.Date(2030, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, tt := range []struct {
		p          period
		start, end time.Time
	}{
		{periodDay, time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
		{periodMonth, time.Date(2030, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
		{periodTotal, time.Time{}, time.Time{}},
	} {
		if s, e := tt.p.start(at), tt.p.end(at); !s.Equal(tt.start) || !e.Equal(tt.end) {
			t.Errorf("%s: [%s, %s), want [%s, %s)", tt.p, s, e, tt.start, tt.end)
		}
	}
	if dayOf(time.Unix(-1, 0)) != -1 || dayOf(time.Unix(86399, 0)) != 0 || dayOf(time.Unix(86400, 0)) != 1 {
		t.Error("dayOf does not floor")
	}
}

// spendUntilRefused settles requests of $0.10 (50,000 output tokens at
// $2/M) until the budget refuses one, and returns the refusal.
func spendUntilRefused(t *testing.T, l *Limiter, k *Key, max int) (Decision, int) {
	t.Helper()
	for i := 0; i < max; i++ {
		var tk Ticket
		l.Admit(&tk, k)
		if d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 10); !d.Allowed {
			tk.Release()
			return d, i
		}
		tk.Settle(Usage{Output: 50_000})
	}
	t.Fatalf("no refusal in %d requests", max)
	return Decision{}, 0
}

func TestBudgetPeriods(t *testing.T) {
	for _, tt := range []struct {
		period  string
		advance time.Duration // to the next period
		reset   time.Time
	}{
		{"day", 22 * time.Hour, time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)},
		{"month", 30 * 24 * time.Hour, time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"total", 365 * 24 * time.Hour, time.Time{}},
	} {
		t.Run(tt.period, func(t *testing.T) {
			clock := newClock() // 2030-01-02T03:04:05Z
			l := newTestLimiter(t, testConfig(0, 0), clock, nil)
			k := &Key{ID: "b-" + tt.period, BudgetUSD: 0.5, BudgetPeriod: tt.period}
			d, n := spendUntilRefused(t, l, k, 100)
			if n != 5 {
				t.Errorf("refused after %d requests of $0.10 on a $0.50 budget, want 5", n)
			}
			if d.Reason != ReasonBudget || d.BudgetUSD != 0.5 || math.Abs(d.SpendUSD-0.5) > 1e-9 ||
				d.Period != tt.period || !d.ResetAt.Equal(tt.reset) {
				t.Errorf("refusal %+v", d)
			}
			msg := d.Message()
			if tt.reset.IsZero() {
				if d.RetryAfter != 0 || !strings.Contains(msg, "total budget") {
					t.Errorf("total: retry %s, message %q", d.RetryAfter, msg)
				}
			} else if d.RetryAfter != tt.reset.Sub(clock.Now()) || !strings.Contains(msg, tt.reset.Format(time.RFC3339)) {
				t.Errorf("retry %s, message %q", d.RetryAfter, msg)
			}
			s := l.Snapshot(context.Background(), k)
			if math.Abs(s.SpendUSD-0.5) > 1e-9 || s.RemainingUSD != 0 || s.Period != tt.period || !s.ResetsAt.Equal(tt.reset) {
				t.Errorf("snapshot %+v", s)
			}
			clock.Add(tt.advance)
			var tk Ticket
			l.Admit(&tk, k)
			d = l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 10)
			if tt.period == "total" {
				if d.Allowed {
					t.Error("a total budget reset")
				}
			} else if !d.Allowed {
				t.Errorf("not reset in the next period: %+v", d)
			}
			tk.Release()
		})
	}
}

func TestBudgetPricedByUpstreamModel(t *testing.T) {
	l := newTestLimiter(t, testConfig(0, 0), newClock(), nil)
	k := &Key{ID: "up", BudgetUSD: 1}
	var tk Ticket
	l.Admit(&tk, k)
	l.Reserve(&tk, "unpriced-public", ModelLimit{}, 1)
	l.AdmitTarget(&tk, "openai", "upstream-m", 1)
	tk.Settle(Usage{Input: 500, Output: 500}) // $1000/M × 1000 = $1
	if s := l.Snapshot(context.Background(), k); math.Abs(s.SpendUSD-1) > 1e-9 {
		t.Errorf("spend %v, want 1 (priced by the upstream model)", s.SpendUSD)
	}
}

// TestSpendSurvivesRestart: spend written to the store is loaded by the
// next limiter; two limiters on one store see each other's spend after a
// sync; a store that is down loses nothing.
func TestSpendSurvivesRestart(t *testing.T) {
	store := newMemStore()
	clock := newClock()
	ctx := context.Background()
	k := &Key{ID: "persist", BudgetUSD: 0.35, BudgetPeriod: "month"}
	a := newTestLimiter(t, testConfig(0, 0), clock, store)
	if err := a.Flush(ctx); err != nil { // the first load
		t.Fatal(err)
	}
	_, n := spendUntilRefused(t, a, k, 10)
	if n != 4 {
		t.Fatalf("refused after %d", n)
	}
	store.setFail(true)
	if err := a.Flush(ctx); err == nil {
		t.Fatal("Flush with the store down succeeded")
	}
	if s := a.Snapshot(ctx, k); math.Abs(s.SpendUSD-0.4) > 1e-9 {
		t.Errorf("spend while the store is down: %v", s.SpendUSD)
	}
	store.setFail(false)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.SpendSince(ctx, time.Time{}); math.Abs(got["persist"]-0.4) > 1e-9 {
		t.Fatalf("store holds %v", got)
	}

	b := newTestLimiter(t, testConfig(0, 0), clock, store)
	c := newTestLimiter(t, testConfig(0, 0), clock, store)
	for _, l := range []*Limiter{b, c} {
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var tk Ticket
	b.Admit(&tk, k)
	if d := b.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 1); d.Allowed || d.Reason != ReasonBudget {
		t.Errorf("after a restart: %+v, want the budget refusal", d)
	}
	// A monthly key with room: spend on c shows on b after both sync.
	k2 := &Key{ID: "shared", BudgetUSD: 10, BudgetPeriod: "month"}
	var t2 Ticket
	c.Admit(&t2, k2)
	c.Reserve(&t2, "gpt-4o-mini", ModelLimit{}, 1)
	t2.Settle(Usage{Output: 1_000_000}) // $2
	for _, l := range []*Limiter{c, b} {
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s := b.Snapshot(ctx, k2); math.Abs(s.SpendUSD-2) > 1e-9 {
		t.Errorf("b sees %v of c's spend, want 2", s.SpendUSD)
	}
	if s := c.Snapshot(ctx, k2); math.Abs(s.SpendUSD-2) > 1e-9 {
		t.Errorf("c counts its own spend as %v, want 2", s.SpendUSD)
	}
	// Next month the monthly spend starts again.
	clock.Set(time.Date(2030, 2, 1, 0, 0, 1, 0, time.UTC))
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := b.Snapshot(ctx, k2); s.SpendUSD != 0 {
		t.Errorf("spend in a new month: %v", s.SpendUSD)
	}
}

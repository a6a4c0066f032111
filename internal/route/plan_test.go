package route

import (
	"reflect"
	"testing"
	"time"
)

// fakeClock is virtual time: Sleep records the wait and advances at once.
type fakeClock struct {
	t     time.Time
	slept []time.Duration
	reads int // calls to Now
}

func newFakeClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.reads++
	return c.t
}

func (c *fakeClock) Sleep(d time.Duration) {
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
}

// policy retries a target twice on 5xx and connect errors, with the
// given waits.
func policy(attempts int, b Backoff) Retry {
	return Retry{Attempts: attempts, Backoff: b, On: NewTriggers([]string{"connect", "5xx"})}
}

// counter is a hook that counts its calls.
type counter int

func (c *counter) inc() { *c++ }

// run drives p to the end, failing every attempt (HealthFailed, no
// Retry-After), and returns the targets tried in order.
func run(p *Plan) []string {
	var got []string
	for t := p.Next(); t != nil; t = p.Next() {
		got = append(got, t.Name)
		p.Record(HealthFailed)
		p.Fail(0)
	}
	return got
}

func TestPlanRetriesTargetsThenFallbacks(t *testing.T) {
	var retriesA, retriesB, fallbacks counter
	b := Backoff{Base: 100 * time.Millisecond, Max: 150 * time.Millisecond}
	fb := &Pool{Targets: []*Target{{Name: "b"}}, Retry: policy(1, b), OnRetry: retriesB.inc}
	other := &Pool{Targets: []*Target{{Name: "c"}}, Retry: policy(0, b)}
	pool := &Pool{
		Targets:    []*Target{{Name: "a1", Weight: 1}, {Name: "a2"}},
		Retry:      policy(2, b),
		Fallbacks:  []*Pool{nil, fb, other}, // nil: a fallback without a target in this format
		OnRetry:    retriesA.inc,
		OnFallback: fallbacks.inc,
	}
	clock := newFakeClock()
	var p Plan
	p.Start(pool, nil, clock, clock.Now())
	var got []string
	var moved []bool
	for tg := p.Next(); tg != nil; tg = p.Next() {
		got = append(got, tg.Name)
		moved = append(moved, p.Fallback())
		p.Record(HealthOK) // keep the breakers closed
		p.Fail(0)
	}
	want := []string{"a1", "a1", "a1", "a2", "a2", "a2", "b", "b", "c"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("tried %v, want %v", got, want)
	}
	if !reflect.DeepEqual(moved, []bool{false, false, false, true, true, true, true, true, true}) {
		t.Errorf("Fallback() per attempt %v", moved)
	}
	// Attempts after the first: 2 on a1, 3 on a2 (first included), then
	// 2 on b and 1 on c.
	if retriesA != 5 || retriesB != 2 || fallbacks != 3 {
		t.Errorf("OnRetry a %d b %d, OnFallback %d; want 5, 2, 3", retriesA, retriesB, fallbacks)
	}
	// Retries of the same target wait: up to 100ms, then up to 150ms (the
	// doubled 200ms, capped). Moving to another target waits nothing.
	if len(clock.slept) != 5 {
		t.Fatalf("waits %v, want 5 (2 on a1, 2 on a2, 1 on b)", clock.slept)
	}
	for i, ceiling := range []time.Duration{100, 150, 100, 150, 100} {
		if w := clock.slept[i]; w < 0 || w > ceiling*time.Millisecond {
			t.Errorf("wait %d = %v, beyond [0, %vms]", i, w, ceiling)
		}
	}
}

func TestPlanRetryAfter(t *testing.T) {
	pool := &Pool{
		Targets: []*Target{{Name: "a", Weight: 1}, {Name: "b"}},
		Retry:   policy(2, Backoff{MaxRetryAfter: 5 * time.Second}),
	}
	clock := newFakeClock()
	var p Plan
	p.Start(pool, nil, clock, clock.Now())
	if tg := p.Next(); tg.Name != "a" {
		t.Fatalf("first pick %s", tg.Name)
	}
	p.Record(HealthFailed)
	p.Fail(3 * time.Second) // honoured exactly
	if tg := p.Next(); tg.Name != "a" || !reflect.DeepEqual(clock.slept, []time.Duration{3 * time.Second}) {
		t.Fatalf("after Retry-After 3s: %s, waits %v", tg.Name, clock.slept)
	}
	p.Record(HealthFailed)
	p.Fail(6 * time.Second) // longer than MaxRetryAfter: next target at once
	if tg := p.Next(); tg.Name != "b" || len(clock.slept) != 1 {
		t.Fatalf("after Retry-After 6s: %s, waits %v", tg.Name, clock.slept)
	}
}

// A wait that would end after the target's total timeout is not made, and
// the request gives up with no other target and no fallback.
func TestPlanWaitBeyondTotalTimeoutStops(t *testing.T) {
	fb := &Pool{Targets: []*Target{{Name: "fb"}}, Retry: policy(2, Backoff{})}
	pool := &Pool{
		Targets:   []*Target{{Name: "a", Weight: 1, TotalTimeout: 10 * time.Second}, {Name: "b"}},
		Retry:     policy(2, Backoff{MaxRetryAfter: time.Minute}),
		Fallbacks: []*Pool{fb},
	}
	clock := newFakeClock()
	var p Plan
	p.Start(pool, nil, clock, clock.Now())
	p.Next()
	p.Record(HealthFailed)
	p.Fail(4 * time.Second)
	p.Next() // waits 4s: ends at 4s of 10s
	p.Record(HealthFailed)
	p.Fail(7 * time.Second) // would end at 11s
	if tg := p.Next(); tg != nil {
		t.Fatalf("tried %s after a wait past the total timeout", tg.Name)
	}
	if !reflect.DeepEqual(clock.slept, []time.Duration{4 * time.Second}) {
		t.Fatalf("waits %v", clock.slept)
	}
}

func TestPlanRetryBudget(t *testing.T) {
	budget := &Budget{Ratio: 0.01, MinConcurrent: 1}
	pool := func() *Pool {
		return &Pool{Targets: []*Target{{Name: "a"}}, Retry: policy(2, Backoff{Base: time.Millisecond})}
	}
	clock := newFakeClock()
	var p, q Plan
	p.Start(pool(), budget, clock, clock.Now())
	q.Start(pool(), budget, clock, clock.Now())
	p.Next()
	q.Next()
	p.Record(HealthFailed)
	p.Fail(0)
	q.Record(HealthFailed)
	q.Fail(0)
	if p.Next() == nil || budget.Retrying() != 1 {
		t.Fatalf("the first retry was refused (%d retrying)", budget.Retrying())
	}
	// The budget's one retry is out: q's retry is refused and q gives up.
	for i := 0; i < 2; i++ { // and stays given up
		if q.Next() != nil {
			t.Fatal("a retry beyond the budget was made")
		}
	}
	p.Record(HealthFailed) // ends p's retry: its reservation is returned
	if budget.Retrying() != 0 {
		t.Fatalf("%d retries in flight after Record", budget.Retrying())
	}
	p.Fail(0)
	if p.Next() == nil {
		t.Fatal("the budget freed by Record was not available")
	}
	// End returns a reservation that no Record did, and the active count.
	p.End()
	q.End()
	if budget.Retrying() != 0 || budget.active.Load() != 0 {
		t.Fatalf("after End: %d retrying, %d active", budget.Retrying(), budget.active.Load())
	}
	if !reflect.DeepEqual(p, Plan{}) {
		t.Fatal("End did not make the plan zero")
	}
}

// A target whose breaker opens is not retried: the next target is.
func TestPlanMovesOnWhenBreakerOpens(t *testing.T) {
	a, b := &Target{Name: "a", Weight: 1}, &Target{Name: "b"}
	a.Breaker().Configure(BreakerConfig{Failures: 2, Cooldown: 10 * time.Second})
	pool := &Pool{Targets: []*Target{a, b}, Retry: policy(5, Backoff{Base: time.Millisecond})}
	clock := newFakeClock()
	var p Plan
	p.Start(pool, nil, clock, clock.Now())
	got := run(&p)
	// b would get 1 + 5 attempts, but its own breaker (the default: 5
	// failures in a row) sets it aside after the fifth.
	if want := []string{"a", "a", "b", "b", "b", "b", "b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("tried %v, want %v", got, want)
	}
	if a.Breaker().State() != StateOpen {
		t.Fatal("a's breaker did not open")
	}
}

// Skip (the target's own quota refused the attempt) moves on without a
// retry, and gives a half-open probe back through Record.
func TestPlanSkip(t *testing.T) {
	pool := &Pool{Targets: []*Target{{Name: "a", Weight: 1}, {Name: "b"}}, Retry: policy(2, Backoff{})}
	clock := newFakeClock()
	var p Plan
	p.Start(pool, nil, clock, clock.Now())
	var got []string
	for tg := p.Next(); tg != nil; tg = p.Next() {
		got = append(got, tg.Name)
		p.Record(HealthNone)
		p.Skip()
	}
	if !reflect.DeepEqual(got, []string{"a", "b"}) || len(clock.slept) != 0 {
		t.Fatalf("tried %v, waits %v", got, clock.slept)
	}
}

// Cooldown, probe and recovery on the plan's clock: no real time passes.
func TestPlanCooldownAndProbe(t *testing.T) {
	a, b := &Target{Name: "a", Weight: 1}, &Target{Name: "b"} // b only when a is set aside
	a.Breaker().Configure(BreakerConfig{Failures: 1, Cooldown: 10 * time.Second})
	pool := &Pool{Targets: []*Target{a, b}, Retry: policy(0, Backoff{})}
	clock := newFakeClock()
	first := func(p *Plan) *Target {
		p.Start(pool, nil, clock, clock.Now())
		return p.Next()
	}
	var p, q Plan
	if first(&p) != a {
		t.Fatal("a not picked first")
	}
	p.Record(HealthFailed) // opens a
	p.End()
	clock.Sleep(9 * time.Second)
	if first(&p) != b {
		t.Fatal("a cooling target was picked")
	}
	p.Record(HealthOK)
	p.End()
	clock.Sleep(time.Second)
	if first(&p) != a || a.Breaker().State() != StateHalfOpen {
		t.Fatal("no probe of a after its cooldown")
	}
	if first(&q) != b {
		t.Fatal("a second request probed a")
	}
	q.End()
	p.Record(HealthNone) // the probe says nothing: given back
	p.End()
	if first(&p) != a {
		t.Fatal("a probe given back was not taken again")
	}
	p.Record(HealthOK)
	p.End()
	if a.Breaker().State() != StateClosed {
		t.Fatal("a successful probe did not close a's breaker")
	}
}

func TestPlanForce(t *testing.T) {
	a, b, c := &Target{Name: "p1/a", Provider: "p1", Weight: 1}, &Target{Name: "p2/b", Provider: "p2"}, &Target{Name: "p2/c", Provider: "p2"}
	b.Breaker().Configure(BreakerConfig{Failures: 1, Cooldown: time.Hour})
	b.Breaker().Record(t0, false) // b is set aside
	fb := &Pool{Targets: []*Target{{Name: "fb"}}}
	pool := &Pool{Targets: []*Target{a, b, c}, Retry: policy(1, Backoff{}), Fallbacks: []*Pool{fb}}
	clock := newFakeClock()
	for _, tc := range []struct {
		name       string
		byProvider bool
		want       []string // nil: Force reports false
	}{
		{"p1/a", false, []string{"p1/a", "p1/a"}},
		{"p2/b", false, []string{"p2/b"}}, // by name, whatever its breaker; set aside after the failure
		{"p2", true, []string{"p2/c", "p2/c"}},
		{"p3", true, nil},
		{"nope", false, nil},
	} {
		var p Plan
		p.Start(pool, nil, clock, clock.Now())
		if ok := p.Force(tc.name, tc.byProvider); ok != (tc.want != nil) {
			t.Fatalf("Force(%q, %v) = %v", tc.name, tc.byProvider, ok)
		}
		if tc.want == nil {
			continue
		}
		if got := run(&p); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Force(%q, %v): tried %v, want %v (no other target, no fallback)", tc.name, tc.byProvider, got, tc.want)
		}
		if p.Fallback() {
			t.Errorf("Force(%q): Fallback() is true", tc.name)
		}
	}
}

// Without a Clock the plan reads the real time: a target cooling for an
// hour on the real clock is passed over.
func TestPlanRealClock(t *testing.T) {
	a, b := &Target{Name: "a", Weight: 1}, &Target{Name: "b"}
	a.Breaker().Configure(BreakerConfig{Failures: 1, Cooldown: time.Hour})
	a.Breaker().Record(time.Now(), false)
	var p Plan
	p.Start(&Pool{Targets: []*Target{a, b}}, nil, nil, time.Now())
	if p.Next() != b {
		t.Fatal("a target cooling on the real clock was picked")
	}
}

// A request its first target serves reads no clock: closed breakers decide
// without the time. A failure, a breaker that is not closed and an
// error-rate window do read it.
func TestPlanReadsClockOnlyWhenNeeded(t *testing.T) {
	a := &Target{Name: "a", Weight: 1}
	pool := &Pool{Targets: []*Target{a}, Retry: policy(1, Backoff{Base: time.Millisecond})}
	clock := newFakeClock()
	var p Plan
	p.Start(pool, nil, clock, t0)
	p.Next()
	p.Record(HealthOK)
	p.End()
	if clock.reads != 0 {
		t.Fatalf("a served request read the clock %d times", clock.reads)
	}
	p.Start(pool, nil, clock, t0)
	p.Next()
	p.Record(HealthFailed) // the breaker counts a failure at a time
	if clock.reads != 1 {
		t.Fatalf("a failure read the clock %d times, want 1", clock.reads)
	}
	p.End()
	w := &Target{Name: "w", Weight: 1}
	w.Breaker().Configure(BreakerConfig{ErrorRate: 0.5, MinRequests: 1, Window: time.Second})
	p.Start(&Pool{Targets: []*Target{w}}, nil, clock, t0)
	p.Next()
	p.Record(HealthOK) // counted in the window of its time
	if clock.reads != 2 {
		t.Fatalf("a success on an error-rate breaker read the clock %d times, want 2 in all", clock.reads)
	}
}

func TestPlanAllocates(t *testing.T) {
	budget := &Budget{}
	pool := &Pool{Targets: []*Target{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}}, Retry: policy(2, Backoff{})}
	var p Plan
	allocs := testing.AllocsPerRun(1000, func() {
		p.Start(pool, budget, nil, time.Time{})
		p.Next()
		p.Record(HealthOK)
		p.End()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}

func BenchmarkPlan(b *testing.B) {
	budget := &Budget{}
	pool := &Pool{Targets: []*Target{{Name: "a", Weight: 2}, {Name: "b", Weight: 1}}, Retry: policy(2, Backoff{})}
	var p Plan
	b.ReportAllocs()
	for b.Loop() {
		p.Start(pool, budget, nil, time.Time{})
		if p.Next() == nil {
			b.Fatal("nil")
		}
		p.Record(HealthOK)
		p.End()
	}
}

// A target picked for an attempt that the retry budget then refuses gives
// back what picking it claimed: a half-open probe stays free for the next
// request instead of being held until a restart.
func TestPlanBudgetRefusalGivesProbeBack(t *testing.T) {
	clock := newFakeClock()
	budget := &Budget{Ratio: 0.01, MinConcurrent: 1}
	// r holds the budget's only retry.
	var r Plan
	r.Start(&Pool{Targets: []*Target{{Name: "r"}}, Retry: policy(1, Backoff{})}, budget, clock, clock.Now())
	r.Next()
	r.Record(HealthFailed)
	r.Fail(0)
	if r.Next() == nil {
		t.Fatal("the budget's one retry was refused")
	}
	a, b := &Target{Name: "a", Weight: 1}, &Target{Name: "b"}
	a.Breaker().Configure(BreakerConfig{Failures: 1, Cooldown: 10 * time.Second})
	b.Breaker().Configure(BreakerConfig{Failures: 1, Cooldown: 10 * time.Second})
	b.Breaker().Record(clock.Now(), false) // b opens
	clock.Sleep(10 * time.Second)          // and may be probed now
	var p Plan
	p.Start(&Pool{Targets: []*Target{a, b}, Retry: policy(0, Backoff{})}, budget, clock, clock.Now())
	if p.Next() != a {
		t.Fatal("a not picked first")
	}
	p.Record(HealthFailed)
	p.Fail(0)
	if tg := p.Next(); tg != nil {
		t.Fatalf("%s was tried beyond the retry budget", tg.Name)
	}
	p.End()
	r.Record(HealthFailed)
	r.End()
	if b.Breaker().State() != StateHalfOpen || !b.Breaker().Allow(clock.Now()) {
		t.Fatalf("b's probe stayed claimed (state %d)", b.Breaker().State())
	}
}

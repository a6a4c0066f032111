package route

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestBreakerConsecutiveFailuresCooldownProbe(t *testing.T) {
	var b Breaker
	b.Configure(BreakerConfig{Failures: 3, Cooldown: 10 * time.Second})
	now := t0
	for i := 0; i < 2; i++ {
		if !b.Allow(now) {
			t.Fatal("closed breaker refused")
		}
		if st, _ := b.Record(now, false); st != StateClosed {
			t.Fatalf("opened after %d failures", i+1)
		}
	}
	// A success resets the count.
	b.Record(now, true)
	for i := 0; i < 3; i++ {
		b.Record(now, false)
	}
	if b.State() != StateOpen || b.Allow(now.Add(9*time.Second)) || b.Available(now.Add(9*time.Second)) {
		t.Fatal("breaker not open for its cooldown")
	}
	probeAt := now.Add(10 * time.Second)
	if !b.Available(probeAt) || !b.Allow(probeAt) {
		t.Fatal("no probe after the cooldown")
	}
	if b.Allow(probeAt) || b.Available(probeAt) {
		t.Fatal("a second request got through while the probe is out")
	}
	// The probe fails: open again for a whole cooldown.
	if st, changed := b.Record(probeAt, false); st != StateOpen || !changed {
		t.Fatalf("failed probe: state %d changed %v", st, changed)
	}
	if b.Allow(probeAt.Add(9 * time.Second)) {
		t.Fatal("reopened breaker admitted before its cooldown")
	}
	at := probeAt.Add(10 * time.Second)
	if !b.Allow(at) {
		t.Fatal("no second probe")
	}
	if st, changed := b.Record(at, true); st != StateClosed || !changed {
		t.Fatal("successful probe did not close the breaker")
	}
	for i := 0; i < 2; i++ { // a closed breaker admits every request, not one probe
		if !b.Allow(at) {
			t.Fatal("closed breaker refused")
		}
	}
}

// A request that ends without an outcome (its client left, the target's
// quota refused it, Sluice shed it) gives a half-open breaker's probe back
// and changes nothing else.
func TestBreakerRelease(t *testing.T) {
	var b Breaker
	b.Configure(BreakerConfig{Failures: 3, Cooldown: 10 * time.Second})
	b.Record(t0, false)
	b.Record(t0, false)
	b.Release() // closed: the two failures still count
	if st, _ := b.Record(t0, false); st != StateOpen {
		t.Fatal("Release reset the failure count")
	}
	probeAt := t0.Add(10 * time.Second)
	if !b.Allow(probeAt) || b.Available(probeAt) {
		t.Fatal("no probe, or a second one available")
	}
	b.Release() // the probe ended without an outcome
	if b.State() != StateHalfOpen || !b.Available(probeAt) {
		t.Fatal("released probe not given back")
	}
	if !b.Allow(probeAt) || b.Allow(probeAt) {
		t.Fatal("want exactly one new probe")
	}
	if st, changed := b.Record(probeAt, true); st != StateClosed || !changed {
		t.Fatal("the new probe's success did not close the breaker")
	}
	// An open breaker stays open for its cooldown.
	for i := 0; i < 3; i++ {
		b.Record(probeAt, false)
	}
	b.Release()
	if b.State() != StateOpen || b.Available(probeAt.Add(time.Second)) {
		t.Fatal("Release changed an open breaker")
	}
}

func TestBreakerErrorRate(t *testing.T) {
	var b Breaker
	b.Configure(BreakerConfig{Failures: 1000, ErrorRate: 0.5, Window: 10 * time.Second, MinRequests: 20})
	now := t0
	// 10 ok, 9 failed: under MinRequests.
	for i := 0; i < 10; i++ {
		b.Record(now, true)
	}
	for i := 0; i < 9; i++ {
		b.Record(now, false)
	}
	if b.State() != StateClosed {
		t.Fatal("opened below MinRequests")
	}
	b.Record(now, false) // 10/20 = 50 %
	if b.State() != StateOpen {
		t.Fatal("not opened at the error rate")
	}
	// Old outcomes fall out of the window.
	var c Breaker
	c.Configure(BreakerConfig{Failures: 1000, ErrorRate: 0.5, Window: 10 * time.Second, MinRequests: 20})
	for i := 0; i < 15; i++ {
		c.Record(now, false)
	}
	later := now.Add(30 * time.Second)
	for i := 0; i < 19; i++ {
		c.Record(later, true)
	}
	c.Record(later, false)
	if c.State() != StateClosed {
		t.Fatal("failures from outside the window counted")
	}
}

func TestBudget(t *testing.T) {
	var b Budget
	// Few active requests: the floor of 3 concurrent retries applies.
	b.Begin()
	for i := 0; i < 3; i++ {
		if !b.TryRetry() {
			t.Fatalf("retry %d refused under the floor", i)
		}
	}
	if b.TryRetry() {
		t.Fatal("a 4th concurrent retry was allowed with 1 active request")
	}
	b.RetryDone()
	if !b.TryRetry() {
		t.Fatal("a finished retry did not free the budget")
	}
	// 100 active requests: 20 % may be retries.
	for i := 0; i < 99; i++ {
		b.Begin()
	}
	n := 3
	for b.TryRetry() {
		n++
	}
	if n != 20 {
		t.Fatalf("%d concurrent retries allowed with 100 active, want 20", n)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second, MaxRetryAfter: 5 * time.Second}
	for retry, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 9: time.Second} {
		for i := 0; i < 200; i++ {
			w, ok := b.Wait(retry, 0)
			if !ok || w < 0 || w > ceiling {
				t.Fatalf("retry %d: wait %v beyond [0, %v]", retry, w, ceiling)
			}
		}
	}
	if w, ok := b.Wait(1, 3*time.Second); !ok || w != 3*time.Second {
		t.Fatalf("Retry-After not honoured: %v %v", w, ok)
	}
	if _, ok := b.Wait(1, 6*time.Second); ok {
		t.Fatal("Retry-After beyond the cap should not be retried")
	}
	now := t0
	tests := []struct {
		ms, s string
		want  time.Duration
	}{
		{"250", "9", 250 * time.Millisecond},
		{"", "2", 2 * time.Second},
		{"", now.Add(3 * time.Second).Format(time.RFC1123), 3 * time.Second},
		{"x", "", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter([]byte(tt.ms), []byte(tt.s), now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q, %q) = %v, want %v", tt.ms, tt.s, got, tt.want)
		}
	}
}

func TestWeightedSplit(t *testing.T) {
	a, b := &Target{Name: "a", Weight: 3}, &Target{Name: "b", Weight: 1}
	p := Pool{Targets: []*Target{a, b}, Strategy: Weighted{}}
	const n = 10000
	got := 0
	for i := 0; i < n; i++ {
		if p.Pick(t0, 0) == a {
			got++
		}
	}
	// Binomial(10000, 0.75): sd ≈ 43; allow 5 sd.
	if math.Abs(float64(got)-7500) > 5*math.Sqrt(n*0.75*0.25) {
		t.Fatalf("a got %d of %d, want ≈ 7500", got, n)
	}
}

func TestLatencyPrefersFaster(t *testing.T) {
	fast, slow := &Target{Name: "fast"}, &Target{Name: "slow"}
	fast.ObserveTTFB(20 * time.Millisecond)
	slow.ObserveTTFB(200 * time.Millisecond)
	p := Pool{Targets: []*Target{fast, slow}, Strategy: Latency{}}
	for i := 0; i < 1000; i++ {
		if p.Pick(t0, 0) != fast {
			t.Fatal("latency picked the slower of two")
		}
	}
	// With many targets, the slowest is never picked (it loses every pair).
	ts := []*Target{slow}
	for i := 0; i < 4; i++ {
		x := &Target{Name: "x"}
		x.ObserveTTFB(time.Duration(10+i) * time.Millisecond)
		ts = append(ts, x)
	}
	p = Pool{Targets: ts, Strategy: Latency{}}
	for i := 0; i < 1000; i++ {
		if p.Pick(t0, 0) == slow {
			t.Fatal("the slowest target won a pair")
		}
	}
}

func TestLeastBusy(t *testing.T) {
	a, b := &Target{Name: "a"}, &Target{Name: "b"}
	a.Begin()
	a.Begin()
	p := Pool{Targets: []*Target{a, b}, Strategy: LeastBusy{}}
	for i := 0; i < 100; i++ {
		if p.Pick(t0, 0) != b {
			t.Fatal("least-busy picked the busier target")
		}
	}
}

func TestPoolSkipsOpenAndTried(t *testing.T) {
	a, b := &Target{Name: "a", Weight: 1}, &Target{Name: "b", Weight: 1}
	a.Breaker().Configure(BreakerConfig{Failures: 1, Cooldown: time.Minute})
	a.Breaker().Record(t0, false)
	p := Pool{Targets: []*Target{a, b}, Strategy: Weighted{}}
	for i := 0; i < 100; i++ {
		if p.Pick(t0, 0) != b {
			t.Fatal("an open target was picked")
		}
	}
	if p.Pick(t0, 1<<1) != nil {
		t.Fatal("picked a tried target")
	}
	// After the cooldown exactly one request probes a.
	later := t0.Add(time.Minute)
	if got := p.Pick(later, 1<<1); got != a {
		t.Fatalf("no probe of a: %v", got)
	}
	if got := p.Pick(later, 1<<1); got != nil {
		t.Fatal("a second probe went out")
	}
	if f := p.Find(later, "b", false); f != b {
		t.Fatal("Find by name")
	}
}

func BenchmarkPick(b *testing.B) {
	ts := []*Target{{Name: "a", Weight: 2}, {Name: "b", Weight: 1}, {Name: "c", Weight: 1}}
	for _, s := range []struct {
		name string
		s    Strategy
	}{{"weighted", Weighted{}}, {"least-busy", LeastBusy{}}, {"latency", Latency{}}} {
		p := Pool{Targets: ts, Strategy: s.s}
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p.Pick(t0, 0) == nil {
					b.Fatal("nil")
				}
			}
		})
	}
}

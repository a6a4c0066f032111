package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances only when the code under test sleeps. stalls[k] is extra time
// that passes during the k-th sleep (0-based): a machine that froze, or a late wake-up.
type fakeClock struct {
	now    time.Duration
	sleeps int
	stalls map[int]time.Duration
}

func (c *fakeClock) Now() time.Duration { return c.now }

func (c *fakeClock) SleepUntil(t time.Duration) {
	if t > c.now {
		c.now = t
	}
	c.now += c.stalls[c.sleeps]
	c.sleeps++
}

type sent struct{ at, now time.Duration }

func runPace(clk *fakeClock, s *schedule, stopAfter int64, dispatchCost time.Duration) ([]sent, int64) {
	var got []sent
	var stop atomic.Bool
	n := pace(clk, s, &stop, func(at time.Duration) {
		got = append(got, sent{at, clk.now})
		clk.now += dispatchCost // a dispatch that blocks, e.g. on a full queue
		if stopAfter > 0 && int64(len(got)) == stopAfter {
			stop.Store(true)
		}
	})
	return got, n
}

func TestScheduleExactSendTimes(t *testing.T) {
	clk := &fakeClock{now: 5 * time.Millisecond}
	s := &schedule{start: 10 * time.Millisecond, end: 20 * time.Millisecond, rate: 1000}
	got, n := runPace(clk, s, 0, 0)
	if n != 10 || len(got) != 10 {
		t.Fatalf("dispatched %d (%d), want 10", n, len(got))
	}
	for i, g := range got {
		want := 10*time.Millisecond + time.Duration(i)*time.Millisecond
		if g.at != want || g.now != want {
			t.Errorf("request %d scheduled %v sent %v, want both %v", i, g.at, g.now, want)
		}
	}
}

func TestScheduleRate(t *testing.T) {
	tests := []struct {
		rate   float64
		window time.Duration
		want   int
	}{
		{rate: 1000, window: time.Second, want: 1000},
		{rate: 3000, window: time.Second, want: 3000}, // interval 333.33 µs, rounded per request
		{rate: 7, window: 2 * time.Second, want: 14},
		{rate: 12000, window: 500 * time.Millisecond, want: 6000},
	}
	for _, tt := range tests {
		t.Run(time.Duration(float64(time.Second)/tt.rate).String(), func(t *testing.T) {
			clk := &fakeClock{}
			s := &schedule{start: 0, end: tt.window, rate: tt.rate}
			got, _ := runPace(clk, s, 0, 0)
			if len(got) != tt.want {
				t.Fatalf("%d requests in %v at %v/s, want %d", len(got), tt.window, tt.rate, tt.want)
			}
			for i := 1; i < len(got); i++ {
				gap := got[i].at - got[i-1].at
				ideal := float64(time.Second) / tt.rate
				if d := float64(gap) - ideal; d > 1 || d < -1 {
					t.Fatalf("gap %d = %v, want %.1fns ±1ns", i, gap, ideal)
				}
				if got[i].now != got[i].at {
					t.Fatalf("request %d sent at %v, scheduled %v", i, got[i].now, got[i].at)
				}
			}
			if last := got[len(got)-1].at; last >= tt.window {
				t.Errorf("last request at %v is outside the window %v", last, tt.window)
			}
		})
	}
}

func TestScheduleCatchUpAfterStall(t *testing.T) {
	// 1000/s for 50 ms; during the 6th sleep the clock jumps 20.5 ms past the due time.
	clk := &fakeClock{stalls: map[int]time.Duration{5: 20500 * time.Microsecond}}
	s := &schedule{start: 0, end: 50 * time.Millisecond, rate: 1000}
	got, n := runPace(clk, s, 0, 0)
	if n != 50 || len(got) != 50 {
		t.Fatalf("dispatched %d, want all 50 (a stall must not drop requests)", n)
	}
	for i, g := range got {
		if want := time.Duration(i) * time.Millisecond; g.at != want {
			t.Fatalf("request %d keeps scheduled time %v, want %v", i, g.at, want)
		}
	}
	// Requests 5..25 were due by 25.5 ms: all go out at once at 25.5 ms, each still
	// timed from its own schedule, so the stall shows in their latency.
	for i := 5; i <= 25; i++ {
		if got[i].now != 25500*time.Microsecond {
			t.Errorf("request %d sent at %v, want the catch-up burst at 25.5ms", i, got[i].now)
		}
	}
	// After the burst the schedule is on time again.
	for i := 26; i < 50; i++ {
		if got[i].now != got[i].at {
			t.Errorf("request %d sent at %v, scheduled %v", i, got[i].now, got[i].at)
		}
	}
}

func TestScheduleBlockingDispatch(t *testing.T) {
	// Every dispatch blocks for 2.5 ms at 1000/s: the pacer falls behind but issues
	// every request with its own scheduled time, never skipping or re-timing one.
	clk := &fakeClock{}
	s := &schedule{start: 0, end: 20 * time.Millisecond, rate: 1000}
	got, _ := runPace(clk, s, 0, 2500*time.Microsecond)
	if len(got) != 20 {
		t.Fatalf("dispatched %d, want 20", len(got))
	}
	for i, g := range got {
		if g.at != time.Duration(i)*time.Millisecond {
			t.Fatalf("request %d scheduled %v", i, g.at)
		}
		if lag := g.now - g.at; lag < 0 {
			t.Fatalf("request %d sent %v before its time", i, -lag)
		}
	}
	if lag := got[19].now - got[19].at; lag != 28500*time.Microsecond {
		t.Errorf("last request lags %v, want 28.5ms", lag)
	}
}

func TestScheduleStop(t *testing.T) {
	clk := &fakeClock{}
	s := &schedule{start: 0, end: time.Second, rate: 100}
	got, n := runPace(clk, s, 3, 0)
	if n != 3 || len(got) != 3 {
		t.Fatalf("dispatched %d after stop at 3", n)
	}
}

// BenchmarkPaceRealClock measures how late the pacer's wake-ups issue requests on the
// real clock at 20,000/s (ns/op is therefore about 50 µs): go test -run '^$' -bench Pace
// ./internal/bench. The lag quantiles are reported as metrics; on a quiet machine p50
// is tens of microseconds, and the tail is whatever the OS scheduler adds.
func BenchmarkPaceRealClock(b *testing.B) {
	clk := NewRealClock()
	defer clk.(*realClock).Close()
	h := NewHistogram()
	s := &schedule{start: clk.Now() + time.Millisecond, end: 1 << 62, rate: 20000}
	buf := make([]time.Duration, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		next, _ := s.peek()
		clk.SleepUntil(next)
		now := clk.Now()
		buf = s.due(now, buf[:0])
		for _, at := range buf {
			h.Record(now - at)
		}
	}
	b.ReportMetric(float64(h.Quantile(0.5).Microseconds()), "lag-p50-µs")
	b.ReportMetric(float64(h.Quantile(0.99).Microseconds()), "lag-p99-µs")
}

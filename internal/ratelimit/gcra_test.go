package ratelimit

import (
	"math/big"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// t0 is an arbitrary instant the tests start at (ns).
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()

func TestBucketNPlusK(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 10, 60, 61, 1000, 244_948, 1_000_003, 1_000_000_000} {
		for _, k := range []int{0, 1, 5} {
			var b bucket
			refused := 0
			total := int(min(n, 2_000_000)) + k
			if n > 2_000_000 {
				// Too many to take one by one: take n-1 in one go, then
				// the rest singly.
				if r := b.take(t0, n-1, n); !r.ok {
					t.Fatalf("n=%d: bulk take refused", n)
				}
				total = 1 + k
			}
			for i := 0; i < total; i++ {
				if r := b.take(t0, 1, n); !r.ok {
					refused++
				}
			}
			if refused != k {
				t.Errorf("rpm %d: %d+%d requests at once: %d refused, want %d", n, n, k, refused, k)
			}
		}
	}
}

func TestBucketTable(t *testing.T) {
	const L = 10 // T = 6s
	type op struct {
		at     time.Duration // since t0
		n      uint64
		ok     bool
		rem    int64
		reset  time.Duration
		retry  time.Duration
		adjust int64 // when non-zero: adjust instead of take
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"fresh bucket is full", []op{{n: 1, ok: true, rem: 9, reset: 6 * time.Second}}},
		{"burst then refuse", []op{
			{n: 10, ok: true, rem: 0, reset: time.Minute},
			{n: 1, ok: false, rem: 0, reset: time.Minute, retry: 6 * time.Second},
			{at: 6 * time.Second, n: 1, ok: true, rem: 0, reset: time.Minute},
			{at: 6*time.Second + 1, n: 1, ok: false, rem: 0, reset: time.Minute - 1, retry: 6*time.Second - 1},
		}},
		{"refill is continuous", []op{
			{n: 10, ok: true, rem: 0, reset: time.Minute},
			{at: 30 * time.Second, n: 5, ok: true, rem: 0, reset: time.Minute},
			{at: 90 * time.Second, n: 1, ok: true, rem: 9, reset: 6 * time.Second},
		}},
		{"cost above what is left", []op{
			{n: 4, ok: true, rem: 6, reset: 24 * time.Second},
			{n: 7, ok: false, rem: 6, reset: 24 * time.Second, retry: 6 * time.Second},
			{n: 6, ok: true, rem: 0, reset: time.Minute},
		}},
		{"refund never beyond full", []op{
			{n: 3, ok: true, rem: 7, reset: 18 * time.Second},
			{adjust: -100},
			{n: 10, ok: true, rem: 0, reset: time.Minute},
		}},
		{"charge beyond the burst is debt", []op{
			{n: 10, ok: true, rem: 0, reset: time.Minute},
			{adjust: 10},
			{at: time.Minute, n: 1, ok: false, rem: 0, reset: time.Minute, retry: 6 * time.Second},
			{at: 2 * time.Minute, n: 10, ok: true, rem: 0, reset: time.Minute},
		}},
		{"debt is capped", []op{
			{adjust: 1 << 40},
			{at: maxDebtPeriods * time.Minute, n: 10, ok: true, rem: 0, reset: time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bucket
			for i, o := range tt.ops {
				now := t0 + int64(o.at)
				if o.adjust != 0 {
					b.adjust(now, o.adjust, L)
					continue
				}
				r := b.take(now, o.n, L)
				if r.ok != o.ok || r.remaining != o.rem || r.reset != o.reset || r.retry != o.retry {
					t.Errorf("op %d: take(%d) at +%s = %+v, want ok=%t remaining=%d reset=%s retry=%s",
						i, o.n, o.at, r, o.ok, o.rem, o.reset, o.retry)
				}
			}
		})
	}
}

// refBucket is GCRA in exact rational arithmetic: the reference the
// bucket must agree with.
type refBucket struct {
	tat *big.Rat // ns
}

func (r *refBucket) start(now int64) *big.Rat {
	n := new(big.Rat).SetInt64(now)
	if r.tat == nil || r.tat.Cmp(n) < 0 {
		return n
	}
	return new(big.Rat).Set(r.tat)
}

func stepRat(n, limit uint64) *big.Rat {
	return new(big.Rat).SetFrac(new(big.Int).Mul(new(big.Int).SetUint64(n), big.NewInt(int64(Period))), new(big.Int).SetUint64(limit))
}

func ceilRat(x *big.Rat) int64 {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

func floorRat(x *big.Rat) int64 {
	q := new(big.Int).Quo(x.Num(), x.Denom())
	if x.Sign() < 0 && new(big.Int).Mul(q, x.Denom()).Cmp(x.Num()) != 0 {
		q.Sub(q, big.NewInt(1))
	}
	return q.Int64()
}

func (r *refBucket) state(tat *big.Rat, now int64, limit uint64) (rem int64, reset time.Duration) {
	// remaining = floor((now + P − tat)·L/P), at least 0
	x := new(big.Rat).Sub(new(big.Rat).SetInt64(now+int64(Period)), tat)
	x.Mul(x, new(big.Rat).SetFrac(new(big.Int).SetUint64(limit), big.NewInt(int64(Period))))
	rem = max(floorRat(x), 0)
	reset = time.Duration(max(ceilRat(new(big.Rat).Sub(tat, new(big.Rat).SetInt64(now))), 0))
	return rem, reset
}

func (r *refBucket) take(now int64, n, limit uint64) result {
	tat := r.start(now)
	ntat := new(big.Rat).Add(tat, stepRat(n, limit))
	over := new(big.Rat).Sub(ntat, new(big.Rat).SetInt64(now+int64(Period)))
	if over.Sign() > 0 {
		rem, reset := r.state(tat, now, limit)
		return result{ok: false, remaining: rem, reset: reset, retry: time.Duration(ceilRat(over))}
	}
	r.tat = ntat
	rem, reset := r.state(ntat, now, limit)
	return result{ok: true, remaining: rem, reset: reset}
}

func (r *refBucket) adjust(now, delta int64, limit uint64) {
	nowR := new(big.Rat).SetInt64(now)
	if delta > 0 {
		n := min(uint64(delta), maxDebtPeriods*limit)
		tat := new(big.Rat).Add(r.start(now), stepRat(n, limit))
		if cp := new(big.Rat).SetInt64(now + maxDebtPeriods*int64(Period)); tat.Cmp(cp) > 0 {
			tat = cp
		}
		r.tat = tat
		return
	}
	if r.tat == nil || r.tat.Cmp(nowR) < 0 {
		return
	}
	n := min(uint64(-delta), maxDebtPeriods*limit)
	tat := new(big.Rat).Sub(r.tat, stepRat(n, limit))
	if tat.Cmp(nowR) < 0 {
		tat = nowR
	}
	r.tat = tat
}

// TestBucketProperty runs random operations on a bucket and on the exact
// reference, and requires them to agree on every outcome.
func TestBucketProperty(t *testing.T) {
	limits := []uint64{1, 3, 7, 10, 13, 60, 999, 1000, 7919, 100_000, 1_000_003, 123_456_789, 1_000_000_000_000}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 400; iter++ {
		limit := limits[rng.IntN(len(limits))]
		var b bucket
		var ref refBucket
		now := t0
		for i := 0; i < 400; i++ {
			k := 1 + rng.Uint64N(3)
			q, _ := step(k, limit)
			switch rng.IntN(7) {
			case 0: // anything up to two periods
				now += rng.Int64N(2 * int64(Period))
			case 1:
				now += rng.Int64N(int64(Period) / int64(min(limit, 1000)))
			case 2: // exactly k emission intervals, rounded down or up
				now += int64(q)
			case 3:
				now += int64(q) + 1
			case 4:
				now++
			} // else: at the same instant
			if rng.IntN(5) == 0 {
				delta := rng.Int64N(int64(min(limit, 1<<40))*2+1) - int64(min(limit, 1<<40))
				if delta != 0 {
					b.adjust(now, delta, limit)
					ref.adjust(now, delta, limit)
				}
				continue
			}
			n := uint64(1)
			switch rng.IntN(4) {
			case 0:
				n = 1 + rng.Uint64N(limit)
			case 1, 2: // exactly what is left, or one more: the boundary
				left := b.peek(now, limit).remaining
				n = uint64(max(left, 1)) + uint64(rng.IntN(2))
				n = min(n, limit)
			}
			got, want := b.take(now, n, limit), ref.take(now, n, limit)
			if got != want {
				t.Fatalf("limit %d, op %d: take(%d) = %+v, reference %+v", limit, i, n, got, want)
			}
		}
	}
}

func TestBucketLimitChange(t *testing.T) {
	var b bucket
	b.take(t0, 7, 7) // full use of 7/min: full again in one minute
	r := b.peek(t0, 13)
	if r.remaining != 0 || r.reset != time.Minute {
		t.Errorf("after the limit changed: %+v, want the same minute of debt", r)
	}
	if r := b.peek(t0+int64(time.Minute), 13); r.remaining != 13 {
		t.Errorf("a minute later: remaining %d, want 13", r.remaining)
	}
}

func TestLockSet(t *testing.T) {
	for _, tt := range []struct {
		in   []int
		want []int
	}{{[]int{5}, []int{5}}, {[]int{5, 3}, []int{3, 5}}, {[]int{3, 5}, []int{3, 5}}, {[]int{4, 4}, []int{4}},
		{[]int{63, 0, 17, 0, 63}, []int{0, 17, 63}}} {
		var got []int
		for s := lockSet(tt.in); s != 0; s &= s - 1 {
			got = append(got, bits.TrailingZeros64(s))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("lockSet(%v) in order: %v, want %v", tt.in, got, tt.want)
		}
	}
}

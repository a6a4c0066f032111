package bench

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	// Bucket ranges are contiguous and ordered, and every value lands in the bucket
	// whose range holds it.
	var next int64
	for i := range numBucket {
		lo, w := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		for _, v := range []int64{lo, lo + w/2, lo + w - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		if w > 1 && float64(w-1)/2/float64(lo) > 1.0/256 {
			t.Fatalf("bucket %d [%d,+%d) reports with error above 1/256", i, lo, w)
		}
		next = lo + w
	}
	if next != maxValue+1 {
		t.Fatalf("buckets end at %d, want %d", next, int64(maxValue)+1)
	}
	if bucketOf(-5) != 0 || bucketOf(math.MaxInt64) != numBucket-1 {
		t.Fatal("out-of-range values are not clamped")
	}
}

func TestQuantilesOfKnownDistributions(t *testing.T) {
	const n = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func(i int) time.Duration
		want func(q float64) time.Duration // the exact quantile of the distribution
		tol  float64                       // relative tolerance
	}{
		{
			// Every value from 1 µs to 200 ms in equal steps: the q-quantile is q·200 ms.
			name: "uniform",
			gen:  func(i int) time.Duration { return time.Duration(i+1) * time.Microsecond },
			want: func(q float64) time.Duration { return time.Duration(math.Ceil(q*n)) * time.Microsecond },
			tol:  0.005,
		},
		{
			// Exponential with mean 2 ms: quantile q is -ln(1-q)·2 ms.
			name: "exponential",
			gen: func(int) time.Duration {
				return time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond))
			},
			want: func(q float64) time.Duration {
				return time.Duration(-math.Log(1-q) * float64(2*time.Millisecond))
			},
			tol: 0.04, // sampling noise dominates at p99.9
		},
		{
			// 99 % at 1 ms, 1 % at 100 ms: p50–p99 read 1 ms, p99.9 reads 100 ms.
			name: "bimodal",
			gen: func(i int) time.Duration {
				if i%100 == 0 {
					return 100 * time.Millisecond
				}
				return time.Millisecond
			},
			want: func(q float64) time.Duration {
				if q <= 0.99 {
					return time.Millisecond
				}
				return 100 * time.Millisecond
			},
			tol: 0.004,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			for i := range n {
				h.Record(tt.gen(i))
			}
			if h.Count() != n {
				t.Fatalf("count %d, want %d", h.Count(), n)
			}
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
				got, want := h.Quantile(q), tt.want(q)
				if rel := math.Abs(float64(got-want)) / float64(want); rel > tt.tol {
					t.Errorf("q%.3f = %v, want %v (±%.1f%%)", q, got, want, tt.tol*100)
				}
			}
			if q1 := h.Quantile(1); q1 != h.Max() {
				t.Errorf("q1 = %v, max %v", q1, h.Max())
			}
		})
	}
}

func TestHistogramExactEnds(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Min() != 0 || h.Mean() != 0 {
		t.Fatal("an empty histogram reports non-zero values")
	}
	for _, d := range []time.Duration{3 * time.Millisecond, 1234567 * time.Nanosecond, 7 * time.Second, -time.Second} {
		h.Record(d)
	}
	if h.Max() != 7*time.Second || h.Min() != 0 {
		t.Errorf("max %v min %v", h.Max(), h.Min())
	}
	// A single value reads back exactly, whatever its bucket's width.
	one := NewHistogram()
	one.Record(1234567 * time.Nanosecond)
	for _, q := range []float64{0.01, 0.5, 1} {
		if got := one.Quantile(q); got != 1234567*time.Nanosecond {
			t.Errorf("q%v of one value = %v", q, got)
		}
	}
}

func TestHistogramMergeAndConcurrency(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10_000 {
				d := time.Duration(w*10_000+i) * time.Microsecond
				if w%2 == 0 {
					a.Record(d)
				} else {
					b.Record(d)
				}
				all.Record(d)
			}
		})
	}
	wg.Wait()
	m := NewHistogram()
	m.Merge(a)
	m.Merge(b)
	m.Merge(NewHistogram()) // merging an empty one changes nothing
	if m.Count() != 40_000 || m.Count() != all.Count() {
		t.Fatalf("merged count %d, all %d", m.Count(), all.Count())
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v merged %v, direct %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
	if m.Max() != all.Max() || m.Min() != 0 || m.Mean() != all.Mean() {
		t.Errorf("merged max %v min %v mean %v; direct %v %v", m.Max(), m.Min(), m.Mean(), all.Max(), all.Mean())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	d := 1500 * time.Microsecond
	b.ReportAllocs()
	for b.Loop() {
		h.Record(d)
		d += 17
	}
}

package telemetry

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCover checks on random ranges (near and before 1970, with and
// without spans_from, open or not) that cover splits the days into pieces
// that hold every day of the range once, and no other: buckets aligned on
// their width, days before spans_from from the daily table, at most two
// single days and two buckets of each width below the widest.
func TestCover(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		base := []int64{0, 20120, -700}[i%3]
		lo := base + rng.Int64N(400) - 200
		hi := lo + 1 + rng.Int64N([]int64{3, 70, 400}[rng.IntN(3)])
		loOpen := rng.IntN(4) == 0
		from := int64(noSpansFrom)
		if rng.IntN(2) == 0 {
			from = lo + rng.Int64N(hi-lo+20) - 10
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			days, spans := cover(lo, hi, loOpen, from)
			// How many pieces hold day d.
			count := func(d int64) int {
				n := 0
				for _, r := range days {
					if (r.open || d >= r.from) && d < r.to {
						n++
					}
				}
				for _, r := range spans {
					if s := alignDay(d, r.days); (r.open || s >= r.from) && s < r.to {
						n++
					}
				}
				return n
			}
			for d := lo - 200; d < hi+100; d++ {
				want := 0
				if (loOpen || d >= lo) && d < hi {
					want = 1
				}
				if got := count(d); got != want {
					t.Fatalf("[%d, %d) open %v from %d: day %d in %d pieces, want %d\ndays %+v\nspans %+v",
						lo, hi, loOpen, from, d, got, want, days, spans)
				}
			}
			singles, perWidth := 0, map[int64]int{}
			for _, r := range days {
				if r.open && r != days[0] || r.open && !loOpen {
					t.Fatalf("day range %+v: only an open start's first piece is open", r)
				}
				if r.to-r.from == 1 && !r.open && r.from >= from {
					singles++
				}
			}
			for _, r := range spans {
				if r.open && (!loOpen || from != noSpansFrom || r.days != maxSpan) {
					t.Fatalf("open bucket range %+v (open start %v, spans_from %d)", r, loOpen, from)
				}
				if !r.open && (r.from < from || alignDay(r.from, r.days) != r.from) || alignDay(r.to, r.days) != r.to {
					t.Fatalf("bucket range %+v: not aligned, or before spans_from %d", r, from)
				}
				if !r.open {
					perWidth[r.days] += int((r.to - r.from) / r.days)
				}
			}
			for w, n := range perWidth {
				if w != maxSpan && n > 2 {
					t.Fatalf("%d buckets of %d days: %+v", n, w, spans)
				}
			}
			if singles > 2 {
				t.Fatalf("%d single days after spans_from: %+v", singles, days)
			}
		})
	}
}

// TestSpansDone checks which buckets a move of finalized_before builds:
// every bucket that ends in (a, b] and starts before a, narrowest first,
// none before spans_from.
func TestSpansDone(t *testing.T) {
	for _, tt := range []struct {
		a, b, from int64
		want       []spanBucket
	}{
		{63, 64, noSpansFrom, []spanBucket{{2, 62}, {4, 60}, {8, 56}, {16, 48}, {32, 32}, {64, 0}}},
		{63, 64, 40, []spanBucket{{2, 62}, {4, 60}, {8, 56}, {16, 48}}},
		{64, 65, noSpansFrom, nil},
		{65, 66, noSpansFrom, []spanBucket{{2, 64}}},
		{-1, 0, noSpansFrom, []spanBucket{{2, -2}, {4, -4}, {8, -8}, {16, -16}, {32, -32}, {64, -64}}},
		// A jump over days without rows: the buckets that hold day a-1
		// and end by b.
		{61, 100, noSpansFrom, []spanBucket{{2, 60}, {4, 60}, {8, 56}, {16, 48}, {32, 32}, {64, 0}}},
		{61, 63, noSpansFrom, []spanBucket{{2, 60}}},
	} {
		got := spansDone(tt.a, tt.b, tt.from)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("spansDone(%d, %d, %d) = %v, want %v", tt.a, tt.b, tt.from, got, tt.want)
		}
	}
}

package route

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Strategy picks one target among the available ones. avail holds the
// targets whose breaker admits a request; it is never empty. Strategies
// must not allocate.
type Strategy interface {
	Pick(avail []*Target) *Target
}

// Strategy names in config.
const (
	StrategyWeighted  = "weighted"
	StrategyLeastBusy = "least-busy"
	StrategyLatency   = "latency"
)

// NewStrategy returns the strategy of a config name ("" is weighted).
func NewStrategy(name string) (Strategy, error) {
	switch name {
	case "", StrategyWeighted:
		return Weighted{}, nil
	case StrategyLeastBusy:
		return LeastBusy{}, nil
	case StrategyLatency:
		return Latency{}, nil
	}
	return nil, fmt.Errorf("unknown routing strategy %q: want weighted, least-busy or latency", name)
}

// Weighted picks at random in proportion to Weight. When every available
// target has weight 0 it picks uniformly among them.
type Weighted struct{}

// Pick implements Strategy.
func (Weighted) Pick(avail []*Target) *Target {
	if len(avail) == 1 {
		return avail[0]
	}
	total := 0
	for _, t := range avail {
		total += t.Weight
	}
	if total <= 0 {
		return avail[rand.IntN(len(avail))]
	}
	n := rand.IntN(total)
	for _, t := range avail {
		if n < t.Weight {
			return t
		}
		n -= t.Weight
	}
	return avail[len(avail)-1]
}

// LeastBusy picks the target with the fewest requests in flight; ties go
// to a random one of them, so idle targets share the load.
type LeastBusy struct{}

// Pick implements Strategy.
func (LeastBusy) Pick(avail []*Target) *Target {
	if len(avail) == 1 {
		return avail[0]
	}
	start := rand.IntN(len(avail))
	best := avail[start]
	for i := 1; i < len(avail); i++ {
		t := avail[(start+i)%len(avail)]
		if t.InFlight() < best.InFlight() {
			best = t
		}
	}
	return best
}

// Latency is the power of two choices over the EWMA of time to first
// byte: two distinct random targets, the faster wins (a target without a
// sample counts as fastest, so new targets get tried). Weighing the EWMA by
// in-flight requests keeps one fast target from being flooded.
type Latency struct{}

// Pick implements Strategy.
func (Latency) Pick(avail []*Target) *Target {
	n := len(avail)
	if n == 1 {
		return avail[0]
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	a, b := avail[i], avail[j]
	if score(a) <= score(b) {
		return a
	}
	return b
}

func score(t *Target) time.Duration {
	return t.TTFB() * time.Duration(1+t.InFlight())
}

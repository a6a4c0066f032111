package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// The capacity ladder: the soak load's own mix (both instances, every
// fifth request streamed) at rising rates, each for ladderStep, until a
// step fails; then two bisections between the last pass and the first
// failure. Capacity is the highest rate that passed; the soak runs at
// soakFraction of it.
const (
	ladderStart   = 200.0
	ladderMax     = 25600.0
	ladderStep    = 3 * time.Second
	ladderPause   = time.Second // between steps, for the last requests to end
	ladderBisects = 2
	// A step passes when the client sent at least minSent of the rate
	// (as internal/bench's knee: the open-loop client's ticker drops
	// ticks when the machine is saturated),
	// at most maxErrors of the answers were not a whole 200, and the
	// p99 latency stayed under maxP99 (the mock answers at once: a
	// queue building up is the first sign of saturation).
	minSent   = 0.9
	maxErrors = 0.01
	maxP99    = 100 * time.Millisecond
	// ladderInFlight caps the ladder's requests in flight: saturation
	// then shows as requests not sent rather than a pile of connections.
	ladderInFlight = 128

	soakFraction = 0.7
)

// step is one rung of the ladder.
type step struct {
	Rate        float64 `json:"rate"`
	Sent        int     `json:"sent"`
	Skipped     int     `json:"skipped"` // due while ladderInFlight were in flight
	NotOK       int     `json:"not_ok"`  // not a whole 200
	AchievedRPS float64 `json:"achieved_rps"`
	P99Ms       float64 `json:"p99_ms"`
	Pass        bool    `json:"pass"`
}

// judgeStep fills Pass from the step's numbers.
func judgeStep(s *step, d time.Duration) {
	s.AchievedRPS = harness.Round1(float64(s.Sent) / d.Seconds())
	s.Pass = s.Sent > 0 && s.AchievedRPS >= minSent*s.Rate &&
		float64(s.NotOK) <= maxErrors*float64(s.Sent) && s.P99Ms <= float64(maxP99.Milliseconds())
}

// nextRate says which rate the ladder tries after steps (in the order
// run), or 0 when it is done: doubling from ladderStart while steps pass,
// then ladderBisects bisections between the highest pass and the lowest
// failure above it.
func nextRate(steps []step) float64 {
	if len(steps) == 0 {
		return ladderStart
	}
	pass, fail := bracket(steps)
	if fail == 0 {
		if pass*2 > ladderMax {
			return 0
		}
		return pass * 2
	}
	if pass == 0 { // the first rate failed
		return 0
	}
	firstFail := slices.IndexFunc(steps, func(s step) bool { return !s.Pass })
	if len(steps)-(firstFail+1) >= ladderBisects {
		return 0
	}
	return math.Round((pass + fail) / 2)
}

// bracket is the highest passing rate and the lowest failing rate above
// it (0 when there is none).
func bracket(steps []step) (pass, fail float64) {
	for _, s := range steps {
		if s.Pass && s.Rate > pass {
			pass = s.Rate
		}
	}
	for _, s := range steps {
		if !s.Pass && s.Rate > pass && (fail == 0 || s.Rate < fail) {
			fail = s.Rate
		}
	}
	return pass, fail
}

// measureCapacity runs the ladder against the deployment and returns its
// steps and the capacity (0 when even the first step failed).
func (e *env) measureCapacity(ctx context.Context) ([]step, float64, error) {
	client := harness.NewClient(e.URLs(), clientTimeout)
	defer client.CloseIdle()
	var steps []step
	for n := 0; ; n++ {
		rate := nextRate(steps)
		if rate == 0 {
			break
		}
		l := &harness.Load{Client: client, Rate: rate, MaxInFlight: ladderInFlight,
			IDPrefix: fmt.Sprintf("cap-%02d", n), Next: soakRequest}
		run := l.Start(ctx)
		err := harness.Sleep(ctx, ladderStep)
		rs := run.Stop()
		if err != nil {
			return steps, 0, err
		}
		s := step{Rate: rate, Sent: len(rs), Skipped: run.Skipped()}
		var lat []float64
		for _, r := range rs {
			if !r.WholeOK() {
				s.NotOK++
			}
			lat = append(lat, float64(r.End.Sub(r.Start))/float64(time.Millisecond))
		}
		s.P99Ms = harness.Round1(quantile(lat, 0.99))
		judgeStep(&s, ladderStep)
		steps = append(steps, s)
		e.Say("capacity: %6.0f/s offered, %7.1f/s sent, %d not 200, p99 %.1f ms: %s",
			rate, s.AchievedRPS, s.NotOK, s.P99Ms, passWord(s.Pass))
		if err := harness.Sleep(ctx, ladderPause); err != nil {
			return steps, 0, err
		}
	}
	pass, _ := bracket(steps)
	return steps, pass, nil
}

func passWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// quantile of v (v is reordered), nearest rank; 0 for none.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(math.Ceil(q*float64(len(v)))) - 1
	return v[min(max(i, 0), len(v)-1)]
}

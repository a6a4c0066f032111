package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

const (
	cancelStreams = 200 // streams cancelled at once, spread over the instances
	cancelAfter   = 3   // events each reads before leaving
	// leakSlack is how far descriptors and goroutines may end above where
	// they started: pooled connections and idle server workers come and
	// go; a leak per cancelled stream would show as hundreds.
	leakSlack = 20
)

// procSample is one instance's resources.
type procSample struct {
	FDs        int `json:"fds"`
	Goroutines int `json:"goroutines"`
}

func (e *env) sample(ctx context.Context, g *harness.Gateway) (procSample, error) {
	fds, err := harness.OpenFDs(g.Pid())
	if err != nil {
		return procSample{}, err
	}
	m, err := g.Metrics(ctx)
	if err != nil {
		return procSample{}, err
	}
	gr := m.Sum("go_goroutines")
	if math.IsNaN(gr) {
		return procSample{}, fmt.Errorf("%s: no go_goroutines in /metrics", g.Name)
	}
	return procSample{FDs: fds, Goroutines: int(gr)}, nil
}

// slowStream is a stream long enough to be cut: 100 tokens 50 ms apart.
func slowStream(target int) harness.Request {
	return harness.Request{Target: target, Key: loadKey, Body: harness.ChatBody("gpt-4o-mini", true), Stream: true,
		Header: map[string]string{"X-Mock-ITL": "50", "X-Mock-Tokens": "100"}, CancelAfter: cancelAfter, Kind: "cancelled"}
}

// shortStream has the burst's shape but runs to its end (10 tokens 50 ms
// apart): it warms the pools to the burst's concurrency.
func shortStream(target int) harness.Request {
	return harness.Request{Target: target, Key: loadKey, Body: harness.ChatBody("gpt-4o-mini", true), Stream: true,
		Header: map[string]string{"X-Mock-ITL": "50", "X-Mock-Tokens": "10"}, Kind: "warm-up"}
}

func streams(n int, build func(int) harness.Request) []harness.Request {
	rqs := make([]harness.Request, n)
	for i := range rqs {
		rqs[i] = build(i % instances)
	}
	return rqs
}

// scDisconnect cancels many streams at once, twice, beside the load: the
// gateway stays healthy, its in-flight gauges return to 0, every
// cancelled stream is logged as 499 (docs/operations.md, Metrics: "A
// request the client abandons is recorded with status 499"), and
// descriptors and goroutines do not grow.
//
// Resources are compared against a high-water mark: a first burst of the
// same concurrency, run to its end, fills what stays pooled (upstream
// connection slots, each with fasthttp's idle-connection cleaner for up to
// 90 s, internal/provider/pool.go; Redis and PostgreSQL pools; idle server
// workers). After each round of cancellations, and at the end, neither may
// be more than leakSlack above it: a leak would add per cancelled stream,
// a hundred per instance and round.
func scDisconnect(ctx context.Context, e *env, o *outcome) error {
	cancelledBefore := e.MetricAll(ctx, "sluice_client_cancelled_total")
	warmed := e.client.Burst(ctx, "disconnect-warm", streams(cancelStreams, shortStream))
	o.addResults(warmed)
	servedCheck(o, "warm-up streams served", warmed)
	e.client.CloseIdle()
	if err := harness.Sleep(ctx, time.Second); err != nil {
		return err
	}
	samples := map[string][]procSample{}
	sampleAll := func(name string) error {
		ss := make([]procSample, len(e.Gateways))
		for i, g := range e.Gateways {
			s, err := e.sample(ctx, g)
			if err != nil {
				return err
			}
			ss[i] = s
		}
		samples[name] = ss
		return nil
	}
	if err := sampleAll("before"); err != nil {
		return err
	}

	run := e.startLoad(ctx, "disconnect", e.o.rate/2, healthy)
	var cut []harness.Result
	err := func() error {
		for round := 1; round <= 2; round++ {
			if err := harness.Sleep(ctx, time.Second); err != nil {
				return err
			}
			t0 := time.Now()
			rs := e.client.Burst(ctx, fmt.Sprintf("disconnect-cut%d", round), streams(cancelStreams, slowStream))
			o.Measured[fmt.Sprintf("cancel_burst%d_ms", round)] = ms(time.Since(t0))
			cut = append(cut, rs...)
			e.client.CloseIdle()
			// The background load keeps a few requests in flight: wait
			// for the streams only here, for everything after the load.
			took, err := harness.Poll(ctx, 5*time.Second, 50*time.Millisecond, func() bool {
				return sum(e.MetricAll(ctx, "sluice_streams_open")) == 0
			})
			o.Measured[fmt.Sprintf("streams_closed%d_ms", round)] = ms(took)
			if err != nil {
				return fmt.Errorf("round %d: streams still open 5 s after their clients left: %v", round, e.MetricAll(ctx, "sluice_streams_open"))
			}
			if err := sampleAll(fmt.Sprintf("round%d", round)); err != nil {
				return err
			}
		}
		return harness.Sleep(ctx, time.Second)
	}()
	rs := stopLoad(run, o)
	o.addResults(cut)
	if err != nil {
		return err
	}
	servedCheck(o, "background load served", rs)
	nCut := 0
	for _, r := range cut {
		if r.Cancelled && r.Events >= cancelAfter {
			nCut++
		}
	}
	o.check("streams cut by their clients", nCut == 2*cancelStreams, "%d of %d read %d events and left", nCut, 2*cancelStreams, cancelAfter)

	e.client.CloseIdle()
	took, err := harness.Poll(ctx, 5*time.Second, 50*time.Millisecond, func() bool {
		return sum(e.MetricAll(ctx, "sluice_requests_in_flight")) == 0 && sum(e.MetricAll(ctx, "sluice_streams_open")) == 0
	})
	o.Measured["in_flight_zero_after_ms"] = ms(took)
	o.check("in-flight and open-stream gauges back to 0", err == nil,
		"sluice_requests_in_flight %v, sluice_streams_open %v, %v after the load stopped (bound 5 s)",
		e.MetricAll(ctx, "sluice_requests_in_flight"), e.MetricAll(ctx, "sluice_streams_open"), took.Round(time.Millisecond))

	// Descriptors close at once; allow a few seconds for the last ones.
	took, err = harness.Poll(ctx, 10*time.Second, 250*time.Millisecond, func() bool {
		if sampleAll("after") != nil {
			return false
		}
		for _, name := range []string{"round1", "round2", "after"} {
			for i := range e.Gateways {
				b, s := samples["before"][i], samples[name][i]
				if s.FDs > b.FDs+leakSlack || s.Goroutines > b.Goroutines+leakSlack {
					return false
				}
			}
		}
		return true
	})
	o.Measured["resources"] = samples
	o.check("no descriptor or goroutine leak", err == nil,
		"per instance before %+v, after round 1 %+v, round 2 %+v, at the end %+v (bound: at most +%d over before, each time; settled in %v)",
		samples["before"], samples["round1"], samples["round2"], samples["after"], leakSlack, took.Round(time.Millisecond))

	for _, g := range e.Gateways {
		hz, _ := g.Get(ctx, "/healthz")
		rz, body := g.Get(ctx, "/readyz")
		o.check(g.Name+" healthy afterwards", hz == 200 && rz == 200, "/healthz %d, /readyz %d %.100s", hz, rz, body)
	}
	d := sum(deltas(cancelledBefore, e.MetricAll(ctx, "sluice_client_cancelled_total")))
	o.Measured["client_cancelled_total_delta"] = d
	o.check("cancellations counted", d == float64(nCut), "sluice_client_cancelled_total rose by %v for %d cut streams", d, nCut)

	all := append(append(rs, cut...), warmed...)
	acc, err := e.settleLogs(ctx, "disconnect", all, 5*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, false)
	o.check("cut streams logged as 499", acc.Cancelled499 == acc.Cancelled, "%d of %d rows of cut streams have status 499",
		acc.Cancelled499, acc.Cancelled)
	return nil
}

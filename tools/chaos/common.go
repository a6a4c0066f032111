package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// maxInFlight caps the background load's requests in flight (above it
// the load skips and counts, so a stuck gateway cannot make the client
// pile up goroutines).
const maxInFlight = 512

// healthy is the background load: gpt-4o-mini with the load key,
// alternating instances, every fifth request streamed.
func healthy(seq int) harness.Request {
	return harness.SteadyRequest(seq, instances, loadKey, "healthy")
}

// startLoad starts an open-loop load of rate requests a second with ids
// prefix-NNNNNN.
func (e *env) startLoad(ctx context.Context, prefix string, rate float64, next func(int) harness.Request) *harness.Running {
	l := &harness.Load{Client: e.client, Rate: rate, MaxInFlight: maxInFlight, IDPrefix: prefix, Next: next}
	return l.Start(ctx)
}

// stopLoad stops run and counts its results into o.
func stopLoad(run *harness.Running, o *outcome) []harness.Result {
	rs := run.Stop()
	o.addResults(rs)
	o.Skipped += run.Skipped()
	return rs
}

// metric scrapes one instance and sums a series (NaN when it cannot).
func (e *env) metric(ctx context.Context, g *harness.Gateway, name string, match ...string) float64 {
	m, err := g.Metrics(ctx)
	if err != nil {
		return math.NaN()
	}
	return m.Sum(name, match...)
}

// zeroIfNaN reads a counter that does not exist yet as 0.
func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// settleLogs waits until every instance's request-log pipeline is idle
// (sink up, spool empty) and then until every complete result has a row,
// at most grace more, and returns the accounting.
func (e *env) settleLogs(ctx context.Context, prefix string, results []harness.Result, grace time.Duration) (harness.Accounting, error) {
	if _, err := harness.Poll(ctx, 20*time.Second, 100*time.Millisecond, func() bool {
		return e.LogsIdle(ctx)
	}); err != nil {
		return harness.Accounting{}, fmt.Errorf("request-log pipelines not idle (sink up, spool empty): %w", err)
	}
	var acc harness.Accounting
	var qerr error
	_, _ = harness.Poll(ctx, grace, 100*time.Millisecond, func() bool {
		rows, err := harness.QueryRows(ctx, e.DBURL, prefix+"-")
		if err != nil {
			qerr = err
			return false
		}
		qerr = nil
		acc = harness.Account(results, rows)
		return acc.Lost == 0
	})
	return acc, qerr
}

// logChecks records the request-log bounds every scenario shares: no
// duplicate, no row of an unknown id, and (when lostOK is false) no
// complete request without its row.
func logChecks(o *outcome, acc harness.Accounting, lostOK bool) {
	o.Logs = &acc
	if !lostOK {
		o.check("no request-log row lost", acc.Lost == 0, "%d of %d answered requests have no row%s",
			acc.Lost, acc.Complete, lostIDs(acc))
	}
	o.check("no request-log row duplicated", acc.Duplicated == 0, "%d rows beyond one per request id (%d rows)", acc.Duplicated, acc.Rows)
	o.check("no row of an unknown request", acc.Unknown == 0, "%d rows whose request id the client never sent", acc.Unknown)
}

func lostIDs(acc harness.Accounting) string {
	if len(acc.LostResults) == 0 {
		return ""
	}
	var ids []string
	for i, r := range acc.LostResults {
		if i == 5 {
			ids = append(ids, "…")
			break
		}
		ids = append(ids, r.ID)
	}
	return " (" + strings.Join(ids, ", ") + ")"
}

// notServed counts results other than a whole 200 (a stream read to its
// [DONE]).
func notServed(rs []harness.Result) (n int, first string) {
	for _, r := range rs {
		if r.WholeOK() {
			continue
		}
		if n == 0 {
			first = r.ID + ": " + r.Outcome()
		}
		n++
	}
	return n, first
}

// servedCheck records that every result in rs was a whole 200.
func servedCheck(o *outcome, name string, rs []harness.Result) {
	n, first := notServed(rs)
	detail := fmt.Sprintf("%d of %d not a whole 200", n, len(rs))
	if n > 0 {
		detail += " (first: " + first + ")"
	}
	o.check(name, n == 0, "%s", detail)
}

// maxLatency is the longest request of rs.
func maxLatency(rs []harness.Result) time.Duration {
	var m time.Duration
	for _, r := range rs {
		m = max(m, r.End.Sub(r.Start))
	}
	return m
}

// deltas subtracts before from after, element-wise, reading a missing
// counter as 0.
func deltas(before, after []float64) []float64 {
	d := make([]float64, len(after))
	for i := range after {
		d[i] = zeroIfNaN(after[i]) - zeroIfNaN(before[i])
	}
	return d
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// killWindow is how far back before a kill -9 request-log records may be
// lost: those still in memory — the queue (at most one flush interval
// before its batch is cut), a batch waiting at most one flush interval
// for the writer, and the batch being written, whose write is bounded by
// sink_timeout (internal/telemetry/doc.go, Guarantees;
// docs/operations.md, "Request logging").
func killWindow() time.Duration { return 2*flushInterval + sinkTimeout }

// kill9Class sorts the killed instance's results by when they ran
// relative to the kill and to the restarted instance's readiness.
type kill9Class struct {
	InFlight    int `json:"in_flight_at_kill"`   // failed; started before the kill
	WhileDown   int `json:"failed_while_down"`   // failed; started while it was down
	FailedOther int `json:"failed_outside_kill"` // failed; ended before the kill or started after the restart
	Served      int `json:"served"`              // complete
	NotOK       int `json:"complete_not_200"`
}

func classifyKill9(rs []harness.Result, kill, ready time.Time) (c kill9Class, firstOther string) {
	for _, r := range rs {
		switch {
		case r.Complete():
			c.Served++
			if r.Status != 200 || r.StreamError || r.Truncated {
				c.NotOK++
			}
		case r.End.Before(kill) || r.Start.After(ready):
			if c.FailedOther == 0 {
				firstOther = fmt.Sprintf("%s %s, %v after the kill", r.ID, r.Outcome(), r.Start.Sub(kill).Round(time.Millisecond))
			}
			c.FailedOther++
		case r.Start.Before(kill):
			c.InFlight++
		default:
			c.WhileDown++
		}
	}
	return c, firstOther
}

// scKill9 SIGKILLs one instance under load and restarts it on the same
// port and data_dir. Its clients see connection errors only for requests
// in flight at the kill and those sent while it was down; the other
// instance's clients see nothing; request-log rows are lost only for
// requests answered within the kill window before the kill, and none is
// duplicated (the spool is replayed at the restart).
func scKill9(ctx context.Context, e *env, o *outcome) error {
	victim := e.Gateways[0]
	// Every fifth request a stream of 16 tokens 25 ms apart, so that
	// some are in flight whenever the kill comes.
	next := func(seq int) harness.Request {
		r := healthy(seq)
		if r.Stream {
			r.Header = map[string]string{"X-Mock-ITL": "25"}
		}
		return r
	}
	run := e.startLoad(ctx, "kill9", e.o.rate, next)
	var kill, ready time.Time
	err := func() error {
		if err := harness.Sleep(ctx, 3*time.Second); err != nil {
			return err
		}
		kill = time.Now()
		if err := victim.Kill9(); err != nil {
			return err
		}
		if err := harness.Sleep(ctx, time.Second); err != nil {
			return err
		}
		t0 := time.Now()
		if err := victim.Start(ctx, 60*time.Second); err != nil {
			return err
		}
		ready = time.Now()
		o.Measured["restart_to_ready_ms"] = ms(ready.Sub(t0))
		return harness.Sleep(ctx, 3*time.Second)
	}()
	rs := stopLoad(run, o)
	if err != nil {
		return err
	}
	victimRs := harness.ByTarget(rs, 0)
	var others []harness.Result
	for i := 1; i < len(e.Gateways); i++ {
		others = append(others, harness.ByTarget(rs, i)...)
	}
	servedCheck(o, "the other instance's clients served", others)
	c, firstOther := classifyKill9(victimRs, kill, ready)
	o.Measured["killed_instance"] = c
	o.check("connection errors only around the kill", c.FailedOther == 0,
		"%s: %d in flight at the kill, %d sent while down, %d at other times%s",
		victim.Name, c.InFlight, c.WhileDown, c.FailedOther, first(nonEmpty(firstOther)))
	o.check("answers of the killed instance are 200", c.NotOK == 0, "%d of %d complete answers were not a whole 200", c.NotOK, c.Served)

	acc, err := e.settleLogs(ctx, "kill9", rs, 3*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, true)
	w := killWindow()
	var inWindow, outside, later int
	var maxAge time.Duration
	for _, r := range acc.LostResults {
		age := kill.Sub(r.End)
		switch {
		case r.Target != 0 || r.End.After(kill):
			later++ // the other instance, or the restarted one: never allowed
		case age <= w:
			inWindow++
			maxAge = max(maxAge, age)
		default:
			outside++
			maxAge = max(maxAge, age)
		}
	}
	o.Measured["kill_window_ms"] = ms(w)
	o.Measured["lost_in_window"] = inWindow
	o.Measured["lost_max_age_ms"] = ms(maxAge)
	o.Measured["rows_of_requests_in_flight"] = acc.Unanswered
	o.Measured["lost_allowed"] = fmt.Sprintf("≤ %v before the kill", w)
	o.check("rows lost only within the kill -9 window", outside == 0 && later == 0,
		"%d rows lost of requests answered at most %v before the kill (window %v = 2 × flush_interval + sink_timeout); %d older; %d answered after the kill or by the other instance",
		inWindow, maxAge.Round(time.Millisecond), w, outside, later)
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// scBaseline runs the load alone: every request served, every row logged
// once. It checks the harness as much as the gateway.
func scBaseline(ctx context.Context, e *env, o *outcome) error {
	run := e.startLoad(ctx, "baseline", e.o.rate, healthy)
	err := harness.Sleep(ctx, 5*time.Second)
	rs := stopLoad(run, o)
	if err != nil {
		return err
	}
	servedCheck(o, "every request served", rs)
	acc, err := e.settleLogs(ctx, "baseline", rs, 5*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, false)
	o.check("logged status equals the client's", acc.StatusMismatch == 0, "%d rows with another status", acc.StatusMismatch)
	return nil
}

// upstreamFault is one kind of upstream failure the mock is steered into,
// and what docs/operations.md ("When a dependency fails") and
// docs/routing.md let the client see for it.
type upstreamFault struct {
	kind    string
	model   string
	stream  bool
	header  map[string]string
	allowed []string // Result.Outcome values
	why     string
}

var upstreamFaults = []upstreamFault{
	{"healthy", "gpt-4o-mini", false, nil, []string{"200"},
		"another model's faults never reach it"},
	{"error", "chaos-error", false, map[string]string{"X-Mock-Error-Rate": "30"}, []string{"200", "500", "503"},
		"retried; the upstream's last 500 passes through; 503 while the target cools down"},
	{"drop", "chaos-drop", false, map[string]string{"X-Mock-Drop-Rate": "30"}, []string{"200", "502", "503"},
		"retried as a connect failure; 502 upstream_unreachable when all fail; 503 while cooling down"},
	{"malformed", "chaos-malformed", false, map[string]string{"X-Mock-Malformed-Rate": "50"}, []string{"200", "200+bad_json"},
		"relayed as sent without output guardrails (docs/guardrails.md); a 200 is a success for the breaker"},
	{"hang", "chaos-hang", false, map[string]string{"X-Mock-Hang": "true"}, []string{"504", "503"},
		"504 upstream_timeout after first_byte on every attempt; 503 while cooling down"},
	{"stream-cut", "chaos-stream", true, map[string]string{"X-Mock-Disconnect-After": "3"}, []string{"200+stream_error"},
		"a stream cut after it started ends with the format's error event"},
	{"stream-error", "chaos-error", true, map[string]string{"X-Mock-Error-Rate": "30"}, []string{"200", "500", "503"},
		"retried before the first event, as non-streamed"},
	{"stream-malformed", "chaos-malformed", true, map[string]string{"X-Mock-Malformed-Rate": "50"}, []string{"200"},
		"a broken event is relayed as sent (no output guardrails)"},
}

// latencyBound is how long a request on a fault model may take: every
// attempt (1 + retries) waiting first_byte, plus the backoffs before the
// retries, plus slack for a loaded 2-core machine.
func latencyBound() (bound, slack time.Duration) {
	b := time.Duration(1+retryAttempts) * faultFirstByte
	back := retryBackoff
	for range retryAttempts {
		b += min(back, retryMaxBack)
		back *= 2
	}
	return b, 1500 * time.Millisecond
}

// scUpstream sends every fault kind at once, each on its own model (its
// own breaker), beside healthy traffic.
func scUpstream(ctx context.Context, e *env, o *outcome) error {
	next := func(seq int) harness.Request {
		f := upstreamFaults[seq%len(upstreamFaults)]
		return harness.Request{Target: (seq / len(upstreamFaults)) % instances, Key: loadKey,
			Body: harness.ChatBody(f.model, f.stream), Stream: f.stream, Header: f.header, Kind: f.kind}
	}
	run := e.startLoad(ctx, "upstream", e.o.rate, next)
	err := harness.Sleep(ctx, 10*time.Second)
	rs := stopLoad(run, o)
	if err != nil {
		return err
	}
	byKind := map[string][]harness.Result{}
	for _, r := range rs {
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	perKind := map[string]map[string]int{}
	for _, f := range upstreamFaults {
		got := harness.Outcomes(byKind[f.kind])
		perKind[f.kind] = got
		var bad []string
		for _, k := range slices.Sorted(maps.Keys(got)) {
			if !slices.Contains(f.allowed, k) {
				bad = append(bad, fmt.Sprintf("%s×%d", k, got[k]))
			}
		}
		detail := fmt.Sprintf("saw %s; allowed %s (%s)", harness.StatusLine(got), strings.Join(f.allowed, ", "), f.why)
		if len(bad) > 0 {
			detail = "undocumented " + strings.Join(bad, " ") + "; " + detail
		}
		o.check(f.kind+": documented statuses only", len(bad) == 0 && len(byKind[f.kind]) > 0, "%s", detail)
	}
	o.Measured["statuses_by_fault"] = perKind
	bound, slack := latencyBound()
	longest := maxLatency(rs)
	o.Measured["max_latency_ms"] = ms(longest)
	o.Measured["latency_bound_ms"] = ms(bound + slack)
	o.check("no request past the timeouts", longest <= bound+slack,
		"longest %v; bound %v = (1 + %d retries) × first_byte %v + backoffs, + %v slack",
		longest.Round(time.Millisecond), bound, retryAttempts, faultFirstByte, slack)
	acc, err := e.settleLogs(ctx, "upstream", rs, 5*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, false)
	o.Measured["status_mismatch"] = acc.StatusMismatch
	// What the log says of each fault (a cut stream's row holds its
	// error, where the client saw a 200 and an error event).
	rows, err := harness.QueryRows(ctx, e.DBURL, "upstream-")
	if err != nil {
		return err
	}
	logged := map[string]map[string]int{}
	for _, r := range rs {
		if logged[r.Kind] == nil {
			logged[r.Kind] = map[string]int{}
		}
		for _, st := range rows[r.ID] {
			logged[r.Kind][fmt.Sprint(st)]++
		}
	}
	o.Measured["logged_statuses_by_fault"] = logged
	return nil
}

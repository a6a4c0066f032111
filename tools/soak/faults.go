package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/harness"
)

// The background faults: each a light version of a chaos-suite scenario
// (tools/chaos), run one at a time while the soak load goes on.
const (
	pgDown        = 5 * time.Second        // PostgreSQL stopped this long
	drainBound    = 30 * time.Second       // spools empty again this soon after it accepts connections
	redisDown     = 3 * time.Second        // Redis killed this long
	redisBackIn   = 15 * time.Second       // instances report it up again this soon
	upstreamFor   = 15 * time.Second       // the side load to the failing model runs this long
	upstreamError = "30"                   // X-Mock-Error-Rate of that side load, percent
	cancelStreams = 100                    // streams cancelled at once, over both instances
	cancelAfter   = 3                      // events each reads before leaving
	reloadRounds  = 10                     // reloads per reload fault
	reloadGap     = 500 * time.Millisecond // between them
	reloadBound   = 5 * time.Second        // both instances run the last file this soon
)

// faultRecord is what one fault did and whether it held.
type faultRecord struct {
	Kind     string         `json:"kind"`
	AtS      float64        `json:"at_s"`
	TookS    float64        `json:"took_s"`
	OK       bool           `json:"ok"`
	Skipped  bool           `json:"skipped,omitempty"`
	Detail   string         `json:"detail"`
	Measured map[string]any `json:"measured,omitempty"`
}

// faults runs the schedule against the deployment: each slot at its time
// (or when the previous fault ended, if later), skipped when it would no
// longer be over by the window that follows it.
func (e *env) faults(ctx context.Context, p plan, t0 time.Time, rate float64, led *ledger) []faultRecord {
	var out []faultRecord
	n := map[string]int{}
	for _, sl := range p.schedule(faultKinds) {
		if harness.Sleep(ctx, time.Until(t0.Add(sl.At))) != nil {
			return out
		}
		at := time.Since(t0)
		rec := faultRecord{Kind: sl.Kind.Name, AtS: harness.Round1(at.Seconds()), Measured: map[string]any{}}
		// A moment late is on time (the sleep's own lateness).
		if !p.fits(at-min(at-sl.At, time.Second), sl.Kind, sl.Before) {
			rec.Skipped, rec.OK = true, true
			rec.Detail = fmt.Sprintf("scheduled at %v, the previous fault ran until %v: too late to be over by %v", sl.At, at.Round(time.Second), sl.Before)
			out = append(out, rec)
			continue
		}
		n[sl.Kind.Name]++
		e.Say("t=%5.0fs fault: %s", at.Seconds(), sl.Kind.Name)
		var err error
		switch sl.Kind.Name {
		case "postgres":
			err = e.faultPostgres(ctx, &rec)
		case "redis":
			err = e.faultRedis(ctx, &rec)
		case "cancel":
			err = e.faultCancel(ctx, &rec, n["cancel"], led)
		case "upstream":
			err = e.faultUpstream(ctx, &rec, n["upstream"], rate, led)
		case "reload":
			err = e.faultReload(ctx, &rec)
		default:
			err = fmt.Errorf("unknown fault %q", sl.Kind.Name)
		}
		if err != nil {
			rec.OK = false
			rec.Detail = strings.TrimPrefix(rec.Detail+"; ", "; ") + "could not run: " + err.Error()
		}
		took := time.Since(t0.Add(at))
		rec.TookS = harness.Round1(took.Seconds())
		if at+took+p.tail(sl.Kind) > sl.Before {
			rec.Detail += fmt.Sprintf("; it ran %v, past the %v planned: the window from %v may see its aftermath",
				took.Round(100*time.Millisecond), sl.Kind.Span, sl.Before)
		}
		e.Say("t=%5.0fs fault: %s %s in %.1f s: %s", time.Since(t0).Seconds(), rec.Kind, passWord(rec.OK), rec.TookS, rec.Detail)
		out = append(out, rec)
		if ctx.Err() != nil {
			return out
		}
	}
	return out
}

// faultPostgres stops PostgreSQL for pgDown and starts it again: the
// instances spool meanwhile, and every spool must be empty again (and the
// sink up) within drainBound of its recovery.
func (e *env) faultPostgres(ctx context.Context, rec *faultRecord) error {
	spooledBefore := e.MetricAll(ctx, "sluice_telemetry_spooled_total")
	if err := e.PG.Stop(); err != nil {
		return err
	}
	stopped := time.Now()
	peak := make([]float64, len(e.Gateways))
	for time.Since(stopped) < pgDown {
		for i, v := range e.MetricAll(ctx, "sluice_telemetry_spool_bytes") {
			if !math.IsNaN(v) {
				peak[i] = max(peak[i], v)
			}
		}
		if err := harness.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	if err := e.PG.Start(ctx); err != nil {
		return err
	}
	rec.Measured["down_s"] = harness.Round1(time.Since(stopped).Seconds())
	took, err := harness.Poll(ctx, drainBound, 100*time.Millisecond, func() bool { return e.LogsIdle(ctx) })
	spooled := e.MetricAll(ctx, "sluice_telemetry_spooled_total")
	for i := range spooled {
		spooled[i] = zeroIfNaN(spooled[i]) - zeroIfNaN(spooledBefore[i])
	}
	rec.Measured["spool_peak_bytes"] = peak
	rec.Measured["spooled_records"] = spooled
	rec.Measured["drain_s"] = harness.Round1(took.Seconds())
	felt := sum(spooled) > 0
	rec.OK = err == nil && felt
	rec.Detail = fmt.Sprintf("down %v; %s records spooled (peak %s bytes); spools empty and sinks up %.1f s after it was back (bound %v)",
		pgDown, joinFloats(spooled), joinFloats(peak), took.Seconds(), drainBound)
	if err != nil {
		rec.Detail += fmt.Sprintf("; NOT DRAINED: spool bytes %s", joinFloats(e.MetricAll(ctx, "sluice_telemetry_spool_bytes")))
	}
	if !felt {
		rec.Detail += "; the outage was not felt (nothing spooled)"
	}
	return nil
}

// faultRedis kills Redis (it restarts empty) and starts it again after
// redisDown; every instance must report it up again within redisBackIn.
func (e *env) faultRedis(ctx context.Context, rec *faultRecord) error {
	if err := e.Redis.Kill(); err != nil {
		return err
	}
	killed := time.Now()
	if err := harness.Sleep(ctx, redisDown); err != nil {
		return err
	}
	if err := e.Redis.Start(ctx); err != nil {
		return err
	}
	rec.Measured["down_s"] = harness.Round1(time.Since(killed).Seconds())
	down := e.MetricAll(ctx, "sluice_ratelimit_fallback_total")
	took, err := harness.Poll(ctx, redisBackIn, 100*time.Millisecond, func() bool {
		return sum(e.MetricAll(ctx, "sluice_ratelimit_redis_up")) == float64(len(e.Gateways))
	})
	rec.Measured["back_noticed_s"] = harness.Round1(took.Seconds())
	rec.Measured["ratelimit_fallback_total"] = down
	rec.OK = err == nil
	rec.Detail = fmt.Sprintf("killed, restarted after %v; every instance saw it up %.1f s later (bound %v)", redisDown, took.Seconds(), redisBackIn)
	return nil
}

// faultCancel opens cancelStreams slow streams at once, over both
// instances, and leaves each after cancelAfter events.
func (e *env) faultCancel(ctx context.Context, rec *faultRecord, n int, led *ledger) error {
	client := harness.NewClient(e.URLs(), clientTimeout)
	defer client.CloseIdle()
	rqs := make([]harness.Request, cancelStreams)
	for i := range rqs {
		rqs[i] = harness.Request{Target: i % instances, Key: loadKey, Body: harness.ChatBody("gpt-4o-mini", true), Stream: true,
			Header: map[string]string{"X-Mock-ITL": "50", "X-Mock-Tokens": "100"}, CancelAfter: cancelAfter, Kind: "cancel"}
	}
	prefix := fmt.Sprintf("soak-C%03d", n)
	rs := client.Burst(ctx, prefix, rqs)
	led.add(prefix, rs, 0)
	cut := 0
	for _, r := range rs {
		if r.Cancelled && r.Events >= cancelAfter {
			cut++
		}
	}
	rec.Measured["statuses"] = harness.Outcomes(rs)
	rec.OK = cut == cancelStreams
	rec.Detail = fmt.Sprintf("%d of %d streams read %d events and left (%s)", cut, cancelStreams, cancelAfter, harness.StatusLine(harness.Outcomes(rs)))
	return nil
}

// upstreamAllowed is what a client may see from the failing model: the
// gateway retries; the upstream's last 500 passes through; 503 while the
// target cools down (docs/operations.md, "When a dependency fails").
var upstreamAllowed = []string{"200", "500", "503"}

// faultUpstream runs a side load, 5 % of the soak rate (at least 5/s),
// to a model whose upstream fails upstreamError percent of its replies.
func (e *env) faultUpstream(ctx context.Context, rec *faultRecord, n int, rate float64, led *ledger) error {
	client := harness.NewClient(e.URLs(), clientTimeout)
	defer client.CloseIdle()
	prefix := fmt.Sprintf("soak-U%03d", n)
	l := &harness.Load{Client: client, Rate: max(5, rate/20), MaxInFlight: 64, IDPrefix: prefix,
		Next: func(seq int) harness.Request {
			stream := seq%2 == 1
			return harness.Request{Target: seq % instances, Key: loadKey, Body: harness.ChatBody(errorModel, stream), Stream: stream,
				Header: map[string]string{"X-Mock-Error-Rate": upstreamError}, Kind: "upstream"}
		}}
	run := l.Start(ctx)
	err := harness.Sleep(ctx, upstreamFor)
	rs := run.Stop()
	led.add(prefix, rs, run.Skipped())
	if err != nil {
		return err
	}
	got := harness.Outcomes(rs)
	var bad []string
	for k, c := range got {
		if !slices.Contains(upstreamAllowed, k) {
			bad = append(bad, fmt.Sprintf("%s×%d", k, c))
		}
	}
	slices.Sort(bad)
	rec.Measured["statuses"] = got
	rec.OK = len(bad) == 0 && len(rs) > 0
	rec.Detail = fmt.Sprintf("%d requests at %.0f/s with %s %% upstream errors: %s (allowed %s)",
		len(rs), l.Rate, upstreamError, harness.StatusLine(got), strings.Join(upstreamAllowed, ", "))
	if len(bad) > 0 {
		rec.Detail += "; undocumented " + strings.Join(bad, " ")
	}
	return nil
}

// faultReload rewrites the config and reloads it reloadRounds times,
// reloadGap apart, alternating instances and, round by round, SIGHUP and
// POST /admin/v1/reload (as the chaos suite's reload scenario, gentler):
// every POST must apply, and both instances must run the last file within
// reloadBound.
func (e *env) faultReload(ctx context.Context, rec *faultRecord) error {
	var posts, hups int
	var failures []string
	for k := range reloadRounds {
		if k > 0 {
			if err := harness.Sleep(ctx, reloadGap); err != nil {
				return err
			}
		}
		e.gen++
		if err := writeConfig(e.ConfigPath, e.gen); err != nil {
			return err
		}
		g := e.Gateways[k%len(e.Gateways)]
		if (k/len(e.Gateways))%2 == 0 {
			if err := g.Signal(syscall.SIGHUP); err != nil {
				return err
			}
			hups++
			continue
		}
		status, body, err := g.Reload(ctx)
		posts++
		if err != nil || status != 200 || !strings.Contains(body, `"result":"applied"`) {
			failures = append(failures, fmt.Sprintf("%s: %d %v %.200s", g.Name, status, err, body))
		}
	}
	b, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		return err
	}
	hash := config.Hash(b)
	// A SIGHUP that arrives during a reload may coalesce with it: ask
	// each instance once more, as an operator would, then compare.
	for _, g := range e.Gateways {
		if status, body, err := g.Reload(ctx); err != nil || status != 200 {
			failures = append(failures, fmt.Sprintf("final reload of %s: %d %v %.200s", g.Name, status, err, body))
		}
	}
	took, werr := harness.Poll(ctx, reloadBound, 100*time.Millisecond, func() bool {
		return sum(e.MetricAll(ctx, "sluice_config_info", `hash="`+hash+`"`)) == float64(len(e.Gateways))
	})
	rec.OK = len(failures) == 0 && werr == nil
	rec.Measured["sighups"], rec.Measured["posts"] = hups, posts+len(e.Gateways)
	rec.Detail = fmt.Sprintf("%d SIGHUPs and %d POSTs (generations up to %d); the last file in force on both %.1f s after the last (bound %v)",
		hups, posts+len(e.Gateways), e.gen, took.Seconds(), reloadBound)
	if len(failures) > 0 {
		rec.Detail += fmt.Sprintf("; %d reloads not applied (first: %s)", len(failures), failures[0])
	}
	return nil
}

func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += zeroIfNaN(x)
	}
	return s
}

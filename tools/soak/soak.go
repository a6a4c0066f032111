package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// drainLimit bounds the wait, after the load, for every segment's rows.
const drainLimit = 60 * time.Second

// soak sets the deployment up, finds the rate, runs the load with the
// sampler and the faults beside it, accounts the request log and judges.
// It returns the report (nil when nothing ran) and an error when the soak
// could not be carried out.
func soak(ctx context.Context, o options, p plan, root string, stdout io.Writer) (*report, error) {
	start := time.Now()
	rep := &report{Version: 1, Started: start.UTC(), Commit: harness.GitDescribe(root),
		Machine: harness.ThisMachine(), Timeline: timelineOf(p)}
	e := &env{Deployment: &harness.Deployment{Tool: "soak", Instances: instances, Bin: o.bin, Root: root,
		AdminToken: adminToken, RedisURLOptions: redisPoolCap, WriteConfig: writeConfig, Out: stdout}}
	defer func() {
		if err := e.Teardown(o.out, o.keep); err != nil {
			e.Say("teardown: %v", err)
		}
	}()
	if err := e.Setup(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	rep.Setup = setupInfo{Instances: instances, Names: e.Names(), SetupS: harness.Round1(time.Since(start).Seconds()),
		RedisURLOptions: redisPoolCap}
	e.Say("deployment up in %.1f s: PostgreSQL :%d, Redis :%d, mock %s, instances %s", rep.Setup.SetupS,
		e.PG.Port, e.Redis.Port, e.Mock.URL, strings.Join(e.URLs(), " "))

	rate := o.rate
	if rate == 0 {
		steps, capacity, err := e.measureCapacity(ctx)
		rep.Setup.Ladder = steps
		if err != nil {
			return rep, fmt.Errorf("capacity: %w", err)
		}
		if capacity == 0 {
			return rep, fmt.Errorf("capacity: the deployment did not sustain %.0f requests a second; see the ladder in soak.json", ladderStart)
		}
		rate = math.Round(capacity * soakFraction)
		rep.Setup.RateSource, rep.Setup.CapacityRPS, rep.Setup.SoakFraction = "measured", capacity, soakFraction
		e.Say("capacity %.0f/s; soaking at %.0f %% of it: %.0f/s; restarting the instances", capacity, 100*soakFraction, rate)
		if err := e.restartInstances(ctx); err != nil {
			return rep, err
		}
	} else {
		rep.Setup.RateSource = "given"
	}
	rep.Setup.RateRPS = rate
	pids := make([]int, len(e.Gateways))
	for i, g := range e.Gateways {
		pids[i] = g.Pid()
	}

	client := harness.NewClient(e.URLs(), clientTimeout)
	defer client.CloseIdle()
	led := newLedger(e.DBURL)
	load := &segmentedLoad{client: client, rate: rate, ledger: led}
	idle := func() bool { return e.LogsIdle(ctx) }
	e.Say("soak: %v at %.0f/s; warm-up %v, windows %v–%v and %v–%v, a sample every %v, a fault every %v",
		p.Duration, rate, p.Warmup, p.Warmup, p.ChaosFrom, p.LastFrom, p.Duration, p.Interval, p.FaultGap)
	t0 := time.Now()
	settleCtx, stopSettler := context.WithCancel(ctx)
	go led.settler(settleCtx, idle)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); load.run(ctx, t0.Add(p.Duration)) }()
	go func() { defer wg.Done(); rep.Samples = e.sampler(ctx, p, t0, load.answered) }()
	go func() { defer wg.Done(); rep.Faults = e.faults(ctx, p, t0, rate, led) }()
	wg.Wait()
	stopSettler()
	if err := ctx.Err(); err != nil {
		rep.WallS = harness.Round1(time.Since(start).Seconds())
		return rep, fmt.Errorf("stopped before the end: %w", context.Cause(ctx))
	}

	e.Say("load done; accounting the request log")
	derr := led.drain(ctx, idle, drainLimit)
	rc := &rowCounter{url: e.DBURL}
	dbRows, cerr := rc.count(ctx)
	rc.close()
	if cerr != nil {
		return rep, fmt.Errorf("counting rows: %w", cerr)
	}
	led.mu.Lock()
	rep.Logs = &logsInfo{Accounting: led.acc, LostIDs: led.lostIDs, DBRows: dbRows, Segments: led.count,
		Skipped: led.skipped, Statuses: led.statuses, LoadNotOK: led.notOK}
	firstBad := led.firstBad
	led.mu.Unlock()

	rep.Growth = computeGrowth(p, e.Names(), rep.Samples)
	c := contextOf(p, e.Names(), rep.Samples)
	rep.Context = &c
	rep.growthChecks()
	rep.faultChecks()
	spool := e.MetricAll(ctx, "sluice_telemetry_spool_bytes")
	rep.check("spools empty at the end", sum(spool) == 0 && !hasNaN(spool), "sluice_telemetry_spool_bytes per instance: %s", joinFloats(spool))
	lg := rep.Logs
	rep.check("every request accounted", derr == nil, "%d segments accounted%s", lg.Segments, errSuffix(derr))
	rep.check("no request-log row lost", lg.Lost == 0, "%d of %d answered requests have no row%s", lg.Lost, lg.Complete, idList(lg.LostIDs))
	rep.check("no request-log row duplicated", lg.Duplicated == 0, "%d rows beyond one per request id", lg.Duplicated)
	rep.check("no row of an unknown request", lg.Unknown == 0, "%d rows whose request id no client sent", lg.Unknown)
	rep.check("streams left by their clients logged as 499", lg.Cancelled499 == lg.Cancelled,
		"%d of %d rows of streams their clients left have status 499", lg.Cancelled499, lg.Cancelled)
	want := int64(lg.Complete + lg.Unanswered)
	rep.check("DB rows = requests answered", dbRows == want,
		"%d soak rows in request_logs; %d requests answered (+ %d rows of %d requests cut in transit)", dbRows, lg.Complete, lg.Unanswered, lg.Incomplete)
	detail := fmt.Sprintf("%d load requests not a whole 200", lg.LoadNotOK)
	if firstBad != "" {
		detail += " (first: " + firstBad + ")"
	}
	rep.check("the load served throughout", lg.LoadNotOK == 0, "%s; %d not sent (client in-flight cap)", detail, lg.Skipped)
	for i, g := range e.Gateways {
		rep.check(g.Name+" ran throughout", g.Pid() == pids[i], "pid %d at the start, %d at the end", pids[i], g.Pid())
	}
	rep.verdict()
	rep.WallS = harness.Round1(time.Since(start).Seconds())
	return rep, nil
}

func hasNaN(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) {
			return true
		}
	}
	return false
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (" + strings.Join(ids, ", ") + ")"
}

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// catchUpBound is how soon spooled rows must reach a recovered database
// (DESIGN.md, Admin API: "spooled rows reach the sink within 10 s of its
// recovery").
const catchUpBound = 10 * time.Second

// scPostgres stops PostgreSQL under load and starts it again: requests
// are served throughout, /readyz stays 200, request logs go to the spool
// and arrive after the recovery, within 10 s, none lost, none twice.
func scPostgres(ctx context.Context, e *env, o *outcome) error {
	spooledBefore := e.MetricAll(ctx, "sluice_telemetry_spooled_total")
	run := e.startLoad(ctx, "postgres", e.o.rate, healthy)
	err := func() error {
		if err := harness.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		stopped := time.Now()
		if err := e.PG.Stop(); err != nil {
			return err
		}
		o.Measured["pg_stop_ms"] = ms(time.Since(stopped))
		if err := harness.Sleep(ctx, 4*time.Second); err != nil {
			return err
		}
		for _, g := range e.Gateways {
			status, body := g.Get(ctx, "/readyz")
			o.check(g.Name+" /readyz 200 while PostgreSQL is down", status == 200, "%d %.160s", status, body)
		}
		if err := e.PG.Start(ctx); err != nil {
			return err
		}
		ready := time.Now()
		o.Measured["pg_down_ms"] = ms(ready.Sub(stopped))
		// Every request answered before PostgreSQL was back must reach it
		// within the bound (the load goes on meanwhile).
		var lost int
		took, err := harness.Poll(ctx, catchUpBound+5*time.Second, 100*time.Millisecond, func() bool {
			var answered []harness.Result
			for _, r := range run.Results() {
				if r.End.Before(ready) {
					answered = append(answered, r)
				}
			}
			rows, err := harness.QueryRows(ctx, e.DBURL, "postgres-")
			if err != nil {
				return false
			}
			lost = harness.Account(answered, rows).Lost
			return lost == 0
		})
		o.Measured["catch_up_ms"] = ms(took)
		o.check("spooled rows arrive within 10 s of recovery", err == nil && took <= catchUpBound,
			"every row of requests answered while it was down in the database %v after PostgreSQL was back (%d missing at the end of the wait)",
			took.Round(time.Millisecond), lost)
		return harness.Sleep(ctx, time.Second)
	}()
	rs := stopLoad(run, o)
	if err != nil {
		return err
	}
	servedCheck(o, "load served throughout", rs)
	spooled := deltas(spooledBefore, e.MetricAll(ctx, "sluice_telemetry_spooled_total"))
	o.Measured["spooled"] = spooled
	o.check("the outage was felt (records spooled)", sum(spooled) > 0, "sluice_telemetry_spooled_total rose by %v", spooled)
	acc, err := e.settleLogs(ctx, "postgres", rs, 5*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, false)
	return nil
}

// fsizeLimit is the file-size limit set on the instance whose disk
// "fills": a few spool frames fit, then every append fails with EFBIG.
const fsizeLimit = 16 << 10

// scDiskFull stops PostgreSQL with one instance unable to grow its spool
// files past 16 KiB: requests are still served, that instance drops
// records and counts them (sluice_telemetry_dropped_total), and exactly
// as many rows are missing as it counted (docs/operations.md, "When a
// dependency fails", Disk full: nothing is lost silently); the other
// instance loses nothing.
func scDiskFull(ctx context.Context, e *env, o *outcome) error {
	full := e.Gateways[0]
	droppedBefore := e.MetricAll(ctx, "sluice_telemetry_dropped_total")
	if err := harness.SetFileSizeLimit(full.Pid(), fsizeLimit); err != nil {
		return err
	}
	run := e.startLoad(ctx, "diskfull", e.o.rate, healthy)
	err := func() error {
		if err := harness.Sleep(ctx, time.Second); err != nil {
			return err
		}
		if err := e.PG.Stop(); err != nil {
			return err
		}
		// Wait until the instance drops (bounded), then a little longer.
		took, err := harness.Poll(ctx, 15*time.Second, 100*time.Millisecond, func() bool {
			return zeroIfNaN(e.metric(ctx, full, "sluice_telemetry_dropped_total")) > zeroIfNaN(droppedBefore[0])
		})
		o.Measured["first_drop_after_ms"] = ms(took)
		if err != nil {
			return fmt.Errorf("%s never dropped a record with RLIMIT_FSIZE %d and PostgreSQL down: %w", full.Name, fsizeLimit, err)
		}
		if err := harness.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		status, body := full.Get(ctx, "/readyz")
		o.check("/readyz 200 saying records are dropped", status == 200 && strings.Contains(strings.ToLower(body), "drop"),
			"%s: %d %.200s", full.Name, status, body)
		if err := harness.SetFileSizeLimit(full.Pid(), -1); err != nil {
			return err
		}
		if err := harness.Sleep(ctx, time.Second); err != nil {
			return err
		}
		if err := e.PG.Start(ctx); err != nil {
			return err
		}
		return harness.Sleep(ctx, 2*time.Second)
	}()
	rs := stopLoad(run, o)
	if err != nil {
		return err
	}
	servedCheck(o, "load served throughout", rs)
	dropped := deltas(droppedBefore, e.MetricAll(ctx, "sluice_telemetry_dropped_total"))
	reasons := map[string]float64{}
	for _, r := range []string{"queue_full", "spool_full", "spool_error", "rejected", "closed"} {
		reasons[r] = zeroIfNaN(e.metric(ctx, full, "sluice_telemetry_dropped_total", `reason="`+r+`"`))
	}
	o.Measured["dropped"] = dropped
	o.Measured["dropped_by_reason_"+full.Name] = reasons
	acc, err := e.settleLogs(ctx, "diskfull", rs, 3*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, true)
	lostPer := make([]int, len(e.Gateways))
	for _, r := range acc.LostResults {
		lostPer[r.Target]++
	}
	o.Measured["lost"] = lostPer
	o.Measured["lost_allowed"] = fmt.Sprintf("= dropped %v", dropped[0])
	o.check("lost rows = dropped records on "+full.Name, dropped[0] > 0 && float64(lostPer[0]) == dropped[0],
		"%d rows missing, %v counted in sluice_telemetry_dropped_total", lostPer[0], dropped[0])
	for i := 1; i < len(e.Gateways); i++ {
		o.check("nothing lost on "+e.Gateways[i].Name, lostPer[i] == 0 && dropped[i] == 0,
			"%d rows missing, %v dropped (its spool could grow)", lostPer[i], dropped[i])
	}
	return nil
}

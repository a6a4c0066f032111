package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// instances is how many `sluice serve` processes share Redis and
// PostgreSQL.
const instances = 2

// clientTimeout bounds every request of the load; a request that reaches
// it has hung past every timeout the config sets.
const clientTimeout = 30 * time.Second

// env is the running deployment the scenarios act on.
type env struct {
	*harness.Deployment
	o      options
	client *harness.Client
	gen    int // the config's generation (sc_reload)
}

// scenario is one fault.
type scenario struct {
	name  string
	fault string
	run   func(ctx context.Context, e *env, o *outcome) error
}

// scenarios, in the order they run: the ones that restart something
// last, each leaving the deployment as it found it.
var scenarios = []scenario{
	{"baseline", "none: the load alone", scBaseline},
	{"upstream", "upstream errors, drops, malformed replies, hangs and cut streams (mock steering)", scUpstream},
	{"reload", "SIGHUP and POST /admin/v1/reload every 250 ms, the config changing each time", scReload},
	{"disconnect", "200 streams cancelled by their clients after 3 events", scDisconnect},
	{"redis", "Redis SIGKILLed and restarted empty", scRedis},
	{"postgres", "PostgreSQL stopped (fast) and restarted", scPostgres},
	{"diskfull", "spool writes fail (RLIMIT_FSIZE) on one instance while PostgreSQL is down", scDiskFull},
	{"kill9", "one instance SIGKILLed and restarted", scKill9},
}

func scenarioNames() []string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return n
}

// suite sets the deployment up, runs the scenarios and tears it down.
func suite(ctx context.Context, o options, stdout io.Writer) (*report, error) {
	start := time.Now()
	rep := &report{Version: 1, Started: start.UTC(), Machine: harness.ThisMachine(),
		Setup: setup{Instances: instances, RateRPS: o.rate}}
	root, err := harness.ModuleRoot()
	if err != nil {
		return nil, err
	}
	rep.Commit = harness.GitDescribe(root)
	e := &env{o: o, Deployment: &harness.Deployment{Tool: "chaos", Instances: instances, Bin: o.bin, Root: root,
		AdminToken: adminToken, WriteConfig: writeConfig, Out: stdout}}
	defer func() {
		if err := e.Teardown(o.out, o.keep); err != nil {
			fmt.Fprintf(stdout, "chaos: teardown: %v\n", err)
		}
	}()
	if err := e.Setup(ctx); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	e.client = harness.NewClient(e.URLs(), clientTimeout)
	rep.Setup.SetupS = harness.Round1(time.Since(start).Seconds())
	e.Say("deployment up in %.1f s: PostgreSQL :%d, Redis :%d, mock %s, instances %s", rep.Setup.SetupS,
		e.PG.Port, e.Redis.Port, e.Mock.URL, strings.Join(e.URLs(), " "))

	for _, sc := range scenarios {
		if o.only != nil && !o.only[sc.name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		e.Say("%s: %s", sc.name, sc.fault)
		out := newOutcome(sc.name, sc.fault)
		t0 := time.Now()
		if err := sc.run(ctx, e, out); err != nil {
			out.fail(err)
		}
		for _, g := range e.Gateways {
			if g.Pid() == 0 {
				out.check("instances still running", false, "%s exited during the scenario; see logs/%s.log", g.Name, g.Name)
			}
		}
		out.DurationS = harness.Round1(time.Since(t0).Seconds())
		rep.Scenarios = append(rep.Scenarios, out)
		status := "ok"
		if !out.OK {
			status = "FAIL"
		}
		skipped := ""
		if out.Skipped > 0 {
			skipped = fmt.Sprintf(" (the load skipped %d requests: %d were in flight)", out.Skipped, maxInFlight)
		}
		e.Say("%s: %s in %.1f s: %s%s", sc.name, status, out.DurationS, harness.StatusLine(out.Statuses), skipped)
		if err := e.restore(ctx); err != nil {
			rep.DurationS = harness.Round1(time.Since(start).Seconds())
			return rep, fmt.Errorf("restoring the deployment after %s: %w", sc.name, err)
		}
	}
	rep.DurationS = harness.Round1(time.Since(start).Seconds())
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("stopped before the end: %w", context.Cause(ctx))
	}
	rep.OK = len(rep.Scenarios) > 0
	for _, s := range rep.Scenarios {
		rep.OK = rep.OK && s.OK
	}
	return rep, nil
}

// restore brings back whatever a scenario left stopped.
func (e *env) restore(ctx context.Context) error {
	if err := e.PG.Start(ctx); err != nil {
		return err
	}
	if err := e.Redis.Start(ctx); err != nil {
		return err
	}
	for _, g := range e.Gateways {
		if g.Pid() != 0 {
			if err := harness.SetFileSizeLimit(g.Pid(), -1); err != nil {
				return err
			}
			continue
		}
		if err := g.Start(ctx, 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
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
	o       options
	out     io.Writer
	state   string // temporary: data dirs, config, logs
	bin     string
	pg      *harness.Postgres
	redis   *harness.Redis
	mock    *harness.Mock
	gws     []*harness.Gateway
	client  *harness.Client
	dbURL   string
	cfgPath string
	gen     int
	procs   harness.Group
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
	rep := &report{Version: 1, Started: start.UTC(), Machine: machine{CPUs: runtime.NumCPU(), Kernel: kernel()},
		Setup: setup{Instances: instances, RateRPS: o.rate}}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	rep.Commit = gitDescribe(root)
	e := &env{o: o, out: stdout}
	defer func() {
		if err := e.teardown(); err != nil {
			fmt.Fprintf(stdout, "chaos: teardown: %v\n", err)
		}
	}()
	if err := e.setup(ctx, root); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	rep.Setup.SetupS = round1(time.Since(start).Seconds())
	e.say("deployment up in %.1f s: PostgreSQL :%d, Redis :%d, mock %s, instances %s", rep.Setup.SetupS,
		e.pg.Port, e.redis.Port, e.mock.URL, strings.Join(e.urls(), " "))

	for _, sc := range scenarios {
		if o.only != nil && !o.only[sc.name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		e.say("%s: %s", sc.name, sc.fault)
		out := newOutcome(sc.name, sc.fault)
		t0 := time.Now()
		if err := sc.run(ctx, e, out); err != nil {
			out.fail(err)
		}
		for _, g := range e.gws {
			if g.Pid() == 0 {
				out.check("instances still running", false, "%s exited during the scenario; see logs/%s.log", g.Name, g.Name)
			}
		}
		out.DurationS = round1(time.Since(t0).Seconds())
		rep.Scenarios = append(rep.Scenarios, out)
		status := "ok"
		if !out.OK {
			status = "FAIL"
		}
		skipped := ""
		if out.Skipped > 0 {
			skipped = fmt.Sprintf(" (the load skipped %d requests: %d were in flight)", out.Skipped, maxInFlight)
		}
		e.say("%s: %s in %.1f s: %s%s", sc.name, status, out.DurationS, statusLine(out.Statuses), skipped)
		if err := e.restore(ctx); err != nil {
			rep.DurationS = round1(time.Since(start).Seconds())
			return rep, fmt.Errorf("restoring the deployment after %s: %w", sc.name, err)
		}
	}
	rep.DurationS = round1(time.Since(start).Seconds())
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("stopped before the end: %w", context.Cause(ctx))
	}
	rep.OK = len(rep.Scenarios) > 0
	for _, s := range rep.Scenarios {
		rep.OK = rep.OK && s.OK
	}
	return rep, nil
}

func (e *env) say(format string, args ...any) {
	fmt.Fprintf(e.out, "chaos: "+format+"\n", args...)
}

// setup builds the binary and starts PostgreSQL, Redis, the mock and the
// instances.
func (e *env) setup(ctx context.Context, root string) error {
	dir, err := os.MkdirTemp("", "sluice-chaos-state-")
	if err != nil {
		return err
	}
	e.state = dir
	// PostgreSQL runs as the postgres user when we are root: it must be
	// able to enter the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	e.bin = e.o.bin
	if e.bin == "" {
		e.say("building ./cmd/sluice")
		if e.bin, err = harness.BuildSluice(ctx, root, filepath.Join(dir, "sluice")); err != nil {
			return err
		}
	}
	if e.pg, err = harness.NewPostgres(ctx, filepath.Join(dir, "pg")); err != nil {
		return err
	}
	if err := e.pg.Start(ctx); err != nil {
		return err
	}
	e.procs.Add("postgres", e.pg.Stop)
	if err := e.pg.CreateDB(ctx, "sluice"); err != nil {
		return err
	}
	e.dbURL = e.pg.URL("sluice")
	if e.redis, err = harness.NewRedis(filepath.Join(dir, "redis")); err != nil {
		return err
	}
	if err := e.redis.Start(ctx); err != nil {
		return err
	}
	e.procs.Add("redis", e.redis.Stop)
	if e.mock, err = harness.StartMock(ctx, e.bin, dir); err != nil {
		return err
	}
	e.procs.Add("mock", e.mock.Stop)
	e.cfgPath = filepath.Join(dir, "chaos.yaml")
	if err := writeConfig(e.cfgPath, e.gen); err != nil {
		return err
	}
	for i := range instances {
		g := &harness.Gateway{
			Name:    fmt.Sprintf("sluice-%d", i+1),
			DataDir: filepath.Join(dir, fmt.Sprintf("sluice-%d", i+1)),
			Config:  e.cfgPath,
			Bin:     e.bin,
			Token:   adminToken,
			Env: []string{
				"SLUICE_UPSTREAM=" + e.mock.URL,
				"SLUICE_ADMIN_TOKEN=" + adminToken,
				"SLUICE_POSTGRES_URL=" + e.dbURL,
				"SLUICE_REDIS_URL=" + e.redis.URL(),
			},
		}
		if err := g.Start(ctx, 60*time.Second); err != nil {
			return err
		}
		e.procs.Add(g.Name, func() error { return g.Stop(10 * time.Second) })
		e.gws = append(e.gws, g)
	}
	e.client = harness.NewClient(e.urls(), clientTimeout)
	return nil
}

// restore brings back whatever a scenario left stopped.
func (e *env) restore(ctx context.Context) error {
	if err := e.pg.Start(ctx); err != nil {
		return err
	}
	if err := e.redis.Start(ctx); err != nil {
		return err
	}
	for _, g := range e.gws {
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

// teardown stops everything, copies the logs to the output directory and
// removes the state directory (unless -keep).
func (e *env) teardown() error {
	errs := []error{e.procs.StopAll()}
	if e.state == "" {
		return errors.Join(errs...)
	}
	logs := filepath.Join(e.o.out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		errs = append(errs, err)
	} else {
		for _, g := range e.gws {
			errs = append(errs, copyFile(g.Log(), filepath.Join(logs, g.Name+".log")))
		}
		if e.pg != nil {
			errs = append(errs, copyFile(filepath.Join(e.pg.Dir, "server.log"), filepath.Join(logs, "postgres.log")))
		}
		if e.redis != nil {
			errs = append(errs, copyFile(filepath.Join(e.redis.Dir, "redis.log"), filepath.Join(logs, "redis.log")))
		}
		errs = append(errs, copyFile(filepath.Join(e.state, "mock.log"), filepath.Join(logs, "mock.log")))
	}
	if e.o.keep {
		e.say("state kept in %s", e.state)
	} else if err := os.RemoveAll(e.state); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func (e *env) urls() []string {
	var u []string
	for _, g := range e.gws {
		u = append(u, g.URL())
	}
	return u
}

func gitDescribe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

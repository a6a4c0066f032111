package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Deployment is the deployment the chaos suite and the soak put under
// faults: a private PostgreSQL and Redis, the mock, and Instances
// `sluice serve` processes sharing them, each with its own data_dir, all
// serving the config WriteConfig writes.
//
// Set the fields above the line, call Setup, and always call Teardown
// (also when Setup failed: it stops what did start).
type Deployment struct {
	// Tool names the state directory (sluice-TOOL-state-…), the config
	// file (TOOL.yaml) and the lines Say prints ("TOOL: …").
	Tool string
	// Instances is how many `sluice serve` processes run.
	Instances int
	// Bin is the sluice binary. Empty: Setup builds ./cmd/sluice of the
	// module at Root into the state directory.
	Bin  string
	Root string
	// AdminToken is the instances' SLUICE_ADMIN_TOKEN.
	AdminToken string
	// RedisURLOptions is appended to the Redis URL the instances get
	// (e.g. "?max_idle_conns=8"); empty adds nothing.
	RedisURLOptions string
	// WriteConfig writes the instances' config to path; Setup calls it
	// with generation 0.
	WriteConfig func(path string, gen int) error
	// Out is where Say prints; nil prints nothing.
	Out io.Writer

	// Set by Setup.
	State      string // temporary: data dirs, config, logs
	PG         *Postgres
	Redis      *Redis
	Mock       *Mock
	Gateways   []*Gateway
	DBURL      string // the instances' database on PG
	ConfigPath string
	Procs      Group
}

// Say prints one line prefixed with the tool's name.
func (d *Deployment) Say(format string, args ...any) {
	if d.Out != nil {
		fmt.Fprintf(d.Out, d.Tool+": "+format+"\n", args...)
	}
}

// Setup makes the state directory, builds the binary when Bin is empty,
// and starts PostgreSQL, Redis, the mock and the instances.
func (d *Deployment) Setup(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "sluice-"+d.Tool+"-state-")
	if err != nil {
		return err
	}
	d.State = dir
	// PostgreSQL runs as the postgres user when we are root: it must be
	// able to enter the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if d.Bin == "" {
		d.Say("building ./cmd/sluice")
		if d.Bin, err = BuildSluice(ctx, d.Root, filepath.Join(dir, "sluice")); err != nil {
			return err
		}
	}
	if d.PG, err = NewPostgres(ctx, filepath.Join(dir, "pg")); err != nil {
		return err
	}
	if err := d.PG.Start(ctx); err != nil {
		return err
	}
	d.Procs.Add("postgres", d.PG.Stop)
	if err := d.PG.CreateDB(ctx, "sluice"); err != nil {
		return err
	}
	d.DBURL = d.PG.URL("sluice")
	if d.Redis, err = NewRedis(filepath.Join(dir, "redis")); err != nil {
		return err
	}
	if err := d.Redis.Start(ctx); err != nil {
		return err
	}
	d.Procs.Add("redis", d.Redis.Stop)
	if d.Mock, err = StartMock(ctx, d.Bin, dir); err != nil {
		return err
	}
	d.Procs.Add("mock", d.Mock.Stop)
	d.ConfigPath = filepath.Join(dir, d.Tool+".yaml")
	if err := d.WriteConfig(d.ConfigPath, 0); err != nil {
		return err
	}
	for i := range d.Instances {
		g := &Gateway{
			Name:    fmt.Sprintf("sluice-%d", i+1),
			DataDir: filepath.Join(dir, fmt.Sprintf("sluice-%d", i+1)),
			Config:  d.ConfigPath,
			Bin:     d.Bin,
			Token:   d.AdminToken,
			Env: []string{
				"SLUICE_UPSTREAM=" + d.Mock.URL,
				"SLUICE_ADMIN_TOKEN=" + d.AdminToken,
				"SLUICE_POSTGRES_URL=" + d.DBURL,
				"SLUICE_REDIS_URL=" + d.Redis.URL() + d.RedisURLOptions,
			},
		}
		if err := g.Start(ctx, 60*time.Second); err != nil {
			return err
		}
		d.Procs.Add(g.Name, func() error { return g.Stop(10 * time.Second) })
		d.Gateways = append(d.Gateways, g)
	}
	return nil
}

// Teardown stops everything, copies the logs to out/logs and removes the
// state directory (unless keep).
func (d *Deployment) Teardown(out string, keep bool) error {
	errs := []error{d.Procs.StopAll()}
	if d.State == "" {
		return errors.Join(errs...)
	}
	logs := filepath.Join(out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		errs = append(errs, err)
	} else {
		for _, g := range d.Gateways {
			errs = append(errs, copyFile(g.Log(), filepath.Join(logs, g.Name+".log")))
		}
		if d.PG != nil {
			errs = append(errs, copyFile(filepath.Join(d.PG.Dir, "server.log"), filepath.Join(logs, "postgres.log")))
		}
		if d.Redis != nil {
			errs = append(errs, copyFile(filepath.Join(d.Redis.Dir, "redis.log"), filepath.Join(logs, "redis.log")))
		}
		errs = append(errs, copyFile(filepath.Join(d.State, "mock.log"), filepath.Join(logs, "mock.log")))
	}
	if keep {
		d.Say("state kept in %s", d.State)
	} else if err := os.RemoveAll(d.State); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// copyFile copies from to to; a missing from is no error (the process
// never started).
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

// URLs are the instances' roots, in order.
func (d *Deployment) URLs() []string {
	var u []string
	for _, g := range d.Gateways {
		u = append(u, g.URL())
	}
	return u
}

// Names are the instances' names, in order.
func (d *Deployment) Names() []string {
	var n []string
	for _, g := range d.Gateways {
		n = append(n, g.Name)
	}
	return n
}

// MetricAll scrapes every instance and sums a series on each (NaN where
// it cannot).
func (d *Deployment) MetricAll(ctx context.Context, name string, match ...string) []float64 {
	v := make([]float64, len(d.Gateways))
	for i, g := range d.Gateways {
		v[i] = math.NaN()
		if m, err := g.Metrics(ctx); err == nil {
			v[i] = m.Sum(name, match...)
		}
	}
	return v
}

// LogsIdle reports whether every instance's request-log pipeline is
// idle: sink up, spool empty.
func (d *Deployment) LogsIdle(ctx context.Context) bool {
	for _, g := range d.Gateways {
		m, err := g.Metrics(ctx)
		if err != nil || m.Sum("sluice_telemetry_sink_up") != 1 || m.Sum("sluice_telemetry_spool_bytes") != 0 {
			return false
		}
	}
	return true
}

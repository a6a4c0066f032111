package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// instances is how many `sluice serve` processes share Redis and
// PostgreSQL (as in the chaos suite).
const instances = 2

// redisPoolCap caps the idle connections the limiter's Redis pool keeps
// (go-redis's max_idle_conns; a connection given back beyond it is
// closed). By default go-redis v9 keeps every connection a moment of
// high concurrency opened, up to PoolSize (256, internal/ratelimit/
// redis.go), until it breaks: it neither caps nor reaps idle ones, and it
// reuses the newest first. A Redis restart under load opens dozens at
// once (pending settlements replayed, requests queued meanwhile). That
// high-water mark is bounded, not a leak, but the growth rule could not
// tell it from one; a connection never given back still counts.
const redisPoolCap = "?max_idle_conns=8"

// clientTimeout bounds every request; one that reaches it has hung past
// every timeout the config sets.
const clientTimeout = 30 * time.Second

// env is the running deployment. Its setup mirrors tools/chaos's
// (suite.go): a private PostgreSQL and Redis, the mock, two instances.
type env struct {
	o       options
	out     io.Writer
	state   string // temporary: data dirs, config, logs
	bin     string
	pg      *harness.Postgres
	redis   *harness.Redis
	mock    *harness.Mock
	gws     []*harness.Gateway
	dbURL   string
	cfgPath string
	gen     int
	procs   harness.Group
}

func (e *env) say(format string, args ...any) {
	fmt.Fprintf(e.out, "soak: "+format+"\n", args...)
}

// setup starts PostgreSQL, Redis, the mock and the instances (of the
// binary -bin names; main builds one when it is not given).
func (e *env) setup(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "sluice-soak-state-")
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
	e.cfgPath = filepath.Join(dir, "soak.yaml")
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
				"SLUICE_REDIS_URL=" + e.redis.URL() + redisPoolCap,
			},
		}
		if err := g.Start(ctx, 60*time.Second); err != nil {
			return err
		}
		e.procs.Add(g.Name, func() error { return g.Stop(10 * time.Second) })
		e.gws = append(e.gws, g)
	}
	return nil
}

// restartInstances stops every instance (a drain) and starts it again on
// the same port and data_dir: the soak then starts from fresh processes,
// without the pools the capacity ladder filled (an upstream connection
// outlives its last request by 90 s).
func (e *env) restartInstances(ctx context.Context) error {
	for _, g := range e.gws {
		if err := g.Stop(10 * time.Second); err != nil {
			return fmt.Errorf("stop %s: %w", g.Name, err)
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

func (e *env) names() []string {
	var n []string
	for _, g := range e.gws {
		n = append(n, g.Name)
	}
	return n
}

// metricAll scrapes every instance and sums a series on each (NaN where
// it cannot).
func (e *env) metricAll(ctx context.Context, name string, match ...string) []float64 {
	v := make([]float64, len(e.gws))
	for i, g := range e.gws {
		v[i] = math.NaN()
		if m, err := g.Metrics(ctx); err == nil {
			v[i] = m.Sum(name, match...)
		}
	}
	return v
}

// logsIdle reports whether every instance's request-log pipeline is
// idle: sink up, spool empty.
func (e *env) logsIdle(ctx context.Context) bool {
	for _, g := range e.gws {
		m, err := g.Metrics(ctx)
		if err != nil || m.Sum("sluice_telemetry_sink_up") != 1 || m.Sum("sluice_telemetry_spool_bytes") != 0 {
			return false
		}
	}
	return true
}

func chatBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]` + s + `}`)
}

// soakRequest is the load: the healthy model with the load key,
// alternating instances, every fifth request streamed.
func soakRequest(seq int) harness.Request {
	stream := seq%5 == 4
	return harness.Request{Target: seq % instances, Key: loadKey, Body: chatBody("gpt-4o-mini", stream), Stream: stream, Kind: "load"}
}

// wholeOK reports whether r is a whole 200 (a stream read to its [DONE]).
func wholeOK(r harness.Result) bool {
	return r.Status == 200 && r.Err == "" && !r.StreamError && !r.Truncated && !r.BadJSON
}

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

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, " ")
}

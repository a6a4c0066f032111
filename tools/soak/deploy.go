package main

import (
	"context"
	"fmt"
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

// env is the running deployment: harness.Deployment, as in the chaos
// suite, with the limiter's Redis pool capped (redisPoolCap).
type env struct {
	*harness.Deployment
	gen int // the config's generation (the reload fault)
}

// restartInstances stops every instance (a drain) and starts it again on
// the same port and data_dir: the soak then starts from fresh processes,
// without the pools the capacity ladder filled (an upstream connection
// outlives its last request by 90 s).
func (e *env) restartInstances(ctx context.Context) error {
	for _, g := range e.Gateways {
		if err := g.Stop(10 * time.Second); err != nil {
			return fmt.Errorf("stop %s: %w", g.Name, err)
		}
		if err := g.Start(ctx, 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// soakRequest is the load: the healthy model with the load key,
// alternating instances, every fifth request streamed.
func soakRequest(seq int) harness.Request {
	return harness.SteadyRequest(seq, instances, loadKey, "load")
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, " ")
}

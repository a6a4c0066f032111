package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// rpmBurst sends n requests at once with key, spread over the instances,
// and counts 200s and 429s; it also returns how long the burst took.
func (e *env) rpmBurst(ctx context.Context, prefix, key string, n int) (rs []harness.Result, ok, limited int, took time.Duration) {
	rqs := make([]harness.Request, n)
	for i := range rqs {
		rqs[i] = harness.Request{Target: i % instances, Key: key, Body: harness.ChatBody("gpt-4o-mini", false), Kind: prefix}
	}
	t0 := time.Now()
	rs = e.client.Burst(ctx, prefix, rqs)
	took = time.Since(t0)
	for _, r := range rs {
		switch r.Status {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	return rs, ok, limited, took
}

// refill is how many requests an rpm-limit bucket regains over d.
func refill(d time.Duration) int { return int(float64(rpmLimit) * d.Minutes()) }

// exact reports whether a burst of n requests on a fresh rpm key, taking
// d, was limited exactly: the limit (plus any refill while it ran: none
// under 6 s) served, the rest refused with 429, nothing else.
func exact(ok, limited, n int, d time.Duration) bool {
	return ok >= rpmLimit && ok <= rpmLimit+refill(d) && ok+limited == n
}

// localBound is what fail_mode local allows a fresh rpm key over d: each
// instance's own bucket, full at the start (rpm) plus what refills in d.
func localBound(d time.Duration) int {
	perInstance := rpmLimit + refill(d)
	return instances * perInstance
}

// scRedis kills Redis under load and starts it again, empty. Requests are
// served throughout (fail_mode local); a fresh rpm-10 key gets exactly
// 10 of 15 rapid requests while Redis is up, at most 10 per instance while
// it is down (docs/operations.md, "Several instances: key revocation and
// limit accuracy"), and exactly 10 again once it is back.
func scRedis(ctx context.Context, e *env, o *outcome) error {
	run := e.startLoad(ctx, "redis", e.o.rate, healthy)
	var phases []harness.Result
	lim := &limitResult{Held: true}
	o.Limits = lim
	held := func(name string, ok bool, format string, args ...any) {
		o.check(name, ok, format, args...)
		if !ok {
			lim.Held = false
		}
		lim.Detail += fmt.Sprintf(format, args...) + "; "
	}
	err := func() error {
		if err := harness.Sleep(ctx, time.Second); err != nil {
			return err
		}
		rs, ok, limited, d := e.rpmBurst(ctx, "redis-up", rpmKeys["up"], rpmLimit+5)
		phases = append(phases, rs...)
		held("exact while Redis is up", exact(ok, limited, rpmLimit+5, d),
			"before the kill: %d × 200, %d × 429 of %d in %v (want exactly %d and 5)", ok, limited, rpmLimit+5, d.Round(time.Millisecond), rpmLimit)

		killed := time.Now()
		if err := e.Redis.Kill(); err != nil {
			return err
		}
		took, err := harness.Poll(ctx, 5*time.Second, 50*time.Millisecond, func() bool {
			return sum(e.MetricAll(ctx, "sluice_ratelimit_redis_up")) == 0
		})
		o.Measured["redis_down_noticed_ms"] = ms(took)
		if err != nil {
			return fmt.Errorf("instances did not report Redis down (sluice_ratelimit_redis_up): %w", err)
		}
		rs, ok, limited, burst := e.rpmBurst(ctx, "redis-down", rpmKeys["down"], 3*rpmLimit)
		phases = append(phases, rs...)
		bound := localBound(burst)
		o.Measured["allowed_while_down"] = ok
		held("at most limit × instances while Redis is down", ok <= bound && ok+limited == 3*rpmLimit,
			"while down: %d × 200, %d × 429 of %d (bound %d = %d instances × (%d + refill over %v))",
			ok, limited, 3*rpmLimit, bound, instances, rpmLimit, burst.Round(time.Millisecond))
		if err := harness.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		if err := e.Redis.Start(ctx); err != nil {
			return err
		}
		o.Measured["redis_down_ms"] = ms(time.Since(killed))
		took, err = harness.Poll(ctx, 10*time.Second, 50*time.Millisecond, func() bool {
			return sum(e.MetricAll(ctx, "sluice_ratelimit_redis_up")) == float64(len(e.Gateways))
		})
		o.Measured["redis_back_noticed_ms"] = ms(took)
		if err != nil {
			return fmt.Errorf("instances did not report Redis back (sluice_ratelimit_redis_up): %w", err)
		}
		rs, ok, limited, d = e.rpmBurst(ctx, "redis-back", rpmKeys["back"], rpmLimit+5)
		phases = append(phases, rs...)
		held("exact once Redis is back", exact(ok, limited, rpmLimit+5, d),
			"after the restart: %d × 200, %d × 429 of %d in %v (want exactly %d and 5)", ok, limited, rpmLimit+5, d.Round(time.Millisecond), rpmLimit)
		return harness.Sleep(ctx, time.Second)
	}()
	rs := stopLoad(run, o)
	o.addResults(phases)
	if err != nil {
		return err
	}
	servedCheck(o, "load served throughout", rs)
	fallback := e.MetricAll(ctx, "sluice_ratelimit_fallback_total")
	o.Measured["ratelimit_fallback_total"] = fallback
	acc, err := e.settleLogs(ctx, "redis", append(rs, phases...), 5*time.Second)
	if err != nil {
		return err
	}
	logChecks(o, acc, false)
	return nil
}

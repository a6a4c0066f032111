package main

import (
	"slices"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/harness"
)

// TestConfig loads the file the suite writes, for both parities of the
// generation, and checks that it says what the bounds are computed from:
// the two must not drift apart. (What every generation must do, parse and
// differ from the last, harness.TestGatewayConfig checks.)
func TestConfig(t *testing.T) {
	for gen := range 2 {
		c, _, err := gatewayConfig().Load(t.TempDir(), gen)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Telemetry.FlushInterval.D(); got != flushInterval {
			t.Errorf("telemetry.flush_interval %v, the bounds use %v", got, flushInterval)
		}
		if got := c.Telemetry.SinkTimeout.D(); got != sinkTimeout {
			t.Errorf("telemetry.sink_timeout %v, the bounds use %v", got, sinkTimeout)
		}
		r := c.Routing.Retry
		if *r.Attempts != retryAttempts || r.Backoff.D() != retryBackoff || r.MaxBackoff.D() != retryMaxBack {
			t.Errorf("routing.retry %d %v %v, the bounds use %d %v %v", *r.Attempts, r.Backoff, r.MaxBackoff,
				retryAttempts, retryBackoff, retryMaxBack)
		}
		if c.Limits.Redis.FailMode != "local" {
			t.Errorf("limits.redis.fail_mode %q, the Redis scenario's bound is fail_mode local's", c.Limits.Redis.FailMode)
		}
		for _, m := range faultModels {
			i := slices.IndexFunc(c.Models, func(x config.Model) bool { return x.Name == m })
			if i < 0 {
				t.Errorf("no model %s", m)
				continue
			}
			if got := c.Models[i].Timeouts.FirstByte.D(); got != faultFirstByte {
				t.Errorf("%s: first_byte %v, the bounds use %v", m, got, faultFirstByte)
			}
		}
		for _, k := range rpmKeys {
			i := slices.IndexFunc(c.Auth.Keys, func(x config.StaticKey) bool { return x.Key.Reveal() == k })
			if i < 0 || c.Auth.Keys[i].RPM != rpmLimit {
				t.Errorf("key %s missing or without rpm %d", k, rpmLimit)
			}
		}
	}
}

func TestLatencyBound(t *testing.T) {
	// 3 attempts of 1 s, backoffs 100 ms and 200 ms.
	if b, _ := latencyBound(); b != 3300*time.Millisecond {
		t.Errorf("latencyBound = %v, want 3.3s", b)
	}
}

func TestRPMBounds(t *testing.T) {
	for _, tc := range []struct {
		ok, limited, n int
		d              time.Duration
		want           bool
	}{
		{10, 5, 15, time.Second, true},
		{11, 4, 15, time.Second, false},     // one too many
		{9, 6, 15, time.Second, false},      // one too few
		{10, 4, 15, time.Second, false},     // one not answered 200 or 429
		{11, 4, 15, 7 * time.Second, true},  // a token refilled over 7 s
		{12, 3, 15, 7 * time.Second, false}, // but only one
	} {
		if got := exact(tc.ok, tc.limited, tc.n, tc.d); got != tc.want {
			t.Errorf("exact(%d, %d, %d, %v) = %v", tc.ok, tc.limited, tc.n, tc.d, got)
		}
	}
	if got := localBound(time.Second); got != instances*rpmLimit {
		t.Errorf("localBound(1s) = %d, want %d", got, instances*rpmLimit)
	}
	if got := localBound(12 * time.Second); got != instances*(rpmLimit+2) {
		t.Errorf("localBound(12s) = %d, want %d", got, instances*(rpmLimit+2))
	}
}

func TestClassifyKill9(t *testing.T) {
	kill := time.Date(2026, 12, 7, 12, 0, 10, 0, time.UTC)
	ready := kill.Add(1500 * time.Millisecond)
	at := func(start, end time.Duration, status int, err string) harness.Result {
		return harness.Result{ID: "k", Start: kill.Add(start), End: kill.Add(end), Status: status, Err: err}
	}
	rs := []harness.Result{
		at(-2*time.Second, -time.Second, 200, ""),                    // served before
		at(-50*time.Millisecond, 0, 200, "eof"),                      // in flight: cut mid-body
		at(-10*time.Millisecond, time.Millisecond, 0, "reset"),       // in flight: no answer
		at(100*time.Millisecond, 101*time.Millisecond, 0, "refused"), // while down
		at(2*time.Second, 2*time.Second, 200, ""),                    // served after the restart
		at(3*time.Second, 3*time.Second, 0, "refused"),               // after the restart: wrong
		at(-3*time.Second, -2*time.Second, 0, "reset"),               // before the kill: wrong
		at(4*time.Second, 4*time.Second, 502, ""),                    // complete but not 200
	}
	c, first := classifyKill9(rs, kill, ready)
	want := kill9Class{InFlight: 2, WhileDown: 1, FailedOther: 2, Served: 3, NotOK: 1}
	if c != want {
		t.Errorf("classifyKill9 = %+v, want %+v", c, want)
	}
	if first == "" {
		t.Error("no example of a failure outside the kill")
	}
}

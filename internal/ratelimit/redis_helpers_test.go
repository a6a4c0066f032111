package ratelimit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/testenv"
)

// testRedis returns the shared test Redis and a key prefix of the test's
// own (see testenv.Redis).
func testRedis(t testing.TB) (url, prefix string) { return testenv.Redis(t) }

// redisConfig is testConfig with limits in Redis.
func redisConfig(url, prefix, failMode string, timeout time.Duration) *config.Config {
	c := testConfig(0, 0)
	c.Limits.Redis.URL = config.Secret(url)
	c.Limits.Redis.Prefix = prefix
	c.Limits.Redis.FailMode = failMode
	c.Limits.Redis.Timeout = config.Duration(timeout)
	return c
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newRedisLimiter builds a limiter on Redis with its own metrics registry
// and log buffer; it is closed when the test ends.
func newRedisLimiter(t testing.TB, cfg *config.Config) (*Limiter, *prometheus.Registry, *logBuffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &logBuffer{}
	l, err := New(cfg, Deps{Registerer: reg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, reg, logs
}

// privateRedis is a redis-server of the test's own on an ephemeral port,
// which the test may stop and start again. It never touches the shared
// server.
type privateRedis struct {
	t     testing.TB
	port  int
	dir   string
	extra []string
	cmd   *exec.Cmd
}

// startPrivateRedis starts a server with no persistence unless extra
// arguments say otherwise.
func startPrivateRedis(t testing.TB, extra ...string) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("redis-server is not installed, and SLUICE_TEST_REQUIRE_SERVICES=1 requires the fail-mode tests to run")
		}
		t.Skip("redis-server is not installed: skipping the tests that stop Redis")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	r := &privateRedis{t: t, port: port, dir: t.TempDir(), extra: extra}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) url() string { return "redis://" + r.addr() + "/0" }

func (r *privateRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *privateRedis) start() {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir}
	r.cmd = exec.Command("redis-server", append(args, r.extra...)...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("private redis-server did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server (no clean shutdown: as when it crashes).
func (r *privateRedis) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, deadline time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > deadline {
			t.Fatalf("%s: not within %s", what, deadline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter reads a counter (with labels) from reg; 0 when absent.
func counter(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestRedisIdleConns: the limiter keeps at most redisMaxIdle idle
// connections to Redis unless the URL sets max_idle_conns.
func TestRedisIdleConns(t *testing.T) {
	met, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want int
	}{
		{"redis://127.0.0.1:1/0", redisMaxIdle},
		{"redis://127.0.0.1:1/0?max_idle_conns=3", 3},
	} {
		r, err := newRedis(tc.url, config.LimitsRedis{}, time.Now, slog.New(slog.DiscardHandler), met)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.client.Options().MaxIdleConns; got != tc.want {
			t.Errorf("%s: MaxIdleConns %d, want %d", tc.url, got, tc.want)
		}
		_ = r.close(context.Background())
	}
}

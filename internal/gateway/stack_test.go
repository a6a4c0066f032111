package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/ratelimit"
	"github.com/sluice-gw/sluice/internal/telemetry"
	"github.com/sluice-gw/sluice/internal/tracing"
)

// stack is an in-process mock upstream and a gateway in front of it, both on
// ephemeral loopback ports.
type stack struct {
	mock *mock.Server
	gw   *gateway.Gateway
	srv  *gateway.Server
	url  string // gateway root, e.g. http://127.0.0.1:4711
	up   string // mock root
	logs *logBuffer
	// adminOutput collects every admin API reply body, for secret checks.
	adminOutput strings.Builder
	tracer      *tracing.Tracer // set when the config has tracing.endpoint
	// next is the config text the gateway's Reload reads (the test's file);
	// level is its logger's level.
	next  atomic.Pointer[string]
	level *slog.LevelVar
	// clock is the gateway's routing clock: retry waits advance it at once
	// and breaker cooldowns pass when a test advances it.
	clock *routeClock
}

// routeClock is virtual time for routing (route.Clock): Sleep advances it
// at once, so no test waits for a backoff or a Retry-After.
type routeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newRouteClock() *routeClock { return &routeClock{t: time.Now()} }

func (c *routeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *routeClock) Sleep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
}

// Advance moves the time on by d, as if d passed.
func (c *routeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Slept returns every retry wait so far.
func (c *routeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// logBuffer collects everything the gateway logs (at debug level).
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
	t  *testing.T
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if testing.Verbose() {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// baseConfig is a two-provider config in front of the mock; extra is
// appended (more models, providers or server settings are added by tests).
const baseConfig = `
server:
  listen: 127.0.0.1:0
  read_timeout: ${READ_TIMEOUT:-60s}
  max_request_body: ${MAX_BODY:-1MiB}
  max_in_flight: ${MAX_IN_FLIGHT:-0}
log:
  level: debug
providers:
  - name: openai
    kind: openai
    base_url: ${UPSTREAM}/v1
    api_keys: ["sk-provider-openai"]
    timeouts:
      first_byte: ${FIRST_BYTE:-5s}
      idle: ${IDLE:-5s}
      total: ${TOTAL:-30s}
  - name: anthropic
    kind: anthropic
    base_url: ${UPSTREAM}/v1
    api_keys: ["sk-provider-anthropic"]
  - name: dead
    kind: openai
    base_url: http://127.0.0.1:${DEAD_PORT}/v1
    timeouts:
      connect: 1s
models:
  - name: gpt-4o-mini
    targets:
      - provider: openai
        model: gpt-4o-mini-2024-07-18
  - name: claude-3-5-haiku
    targets:
      - provider: anthropic
        model: claude-3-5-haiku-latest
  - name: text-embedding-3-small
    targets:
      - provider: openai
  - name: broken
    targets:
      - provider: dead
passthrough:
  provider: openai
`

func newStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	return newStackYAML(t, env, baseConfig)
}

// newStackYAML is newStack with a config of the test's own (it may use the
// same ${UPSTREAM} and ${DEAD_PORT} variables). A config with auth enabled
// gets a key service on SQLite in a temporary data_dir.
func newStackYAML(t *testing.T, env map[string]string, yaml string) *stack {
	t.Helper()
	logs := &logBuffer{t: t}
	level := new(slog.LevelVar)
	level.Set(slog.LevelDebug)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	m, err := mock.New(mock.Options{Journal: 64}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(mln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})

	full := map[string]string{"UPSTREAM": "http://" + mln.Addr().String(), "DEAD_PORT": deadPort(t), "DATA_DIR": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	lookup := func(k string) (string, bool) {
		v, ok := full[k]
		return v, ok
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), lookup)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st := &stack{logs: logs, level: level}
	st.next.Store(&yaml)
	deps := gateway.Deps{Log: logger, Metrics: metrics.New(), LogLevel: level, ConfigHash: config.Hash([]byte(yaml))}
	deps.LoadConfig = func() (*config.Config, string, error) {
		y := *st.next.Load()
		c, err := config.Parse("test.yaml", []byte(y), lookup)
		return c, config.Hash([]byte(y)), err
	}
	if cfg.Auth.Enabled {
		keys, err := auth.New(context.Background(), cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { keys.Close() })
		deps.Keys = keys
		lim, err := ratelimit.New(cfg, ratelimit.Deps{Logger: logger, Registerer: deps.Metrics.Prometheus(), Spend: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lim.Close(context.Background()) })
		deps.Limits = lim
	}
	if cfg.Telemetry.Enabled {
		sink, err := telemetry.OpenSQLite(filepath.Join(cfg.DataDir, "telemetry.db"), telemetry.SQLiteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := telemetry.New(telemetry.Config{
			FlushInterval: cfg.Telemetry.FlushInterval.D(), SpoolDir: filepath.Join(cfg.DataDir, "spool"),
			Logger: logger, Registerer: deps.Metrics.Prometheus(),
		}, sink)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = p.Close(context.Background())
			_ = sink.Close()
		})
		deps.Telemetry, deps.Logs = p, sink
	}
	var tracer *tracing.Tracer
	if cfg.Tracing.Endpoint != "" {
		if tracer, err = tracing.New(tracing.Config{Endpoint: cfg.Tracing.Endpoint, SampleRatio: *cfg.Tracing.SampleRatio, Logger: logger}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tracer.Shutdown(context.Background()) })
		deps.Tracer = tracer
	}
	gw, err := gateway.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	st.clock = newRouteClock()
	gateway.SetRouteClock(gw, st.clock)
	if env["COUNT_LOOPBACK_CONNS"] == "1" {
		gateway.CountLoopbackConns(gw)
	}
	srv := gw.NewServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx, 0); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
	})
	st.mock, st.gw, st.srv, st.tracer = m, gw, srv, tracer
	st.url, st.up = "http://"+ln.Addr().String(), "http://"+mln.Addr().String()
	return st
}

// deadPort returns a loopback port nothing listens on.
func deadPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// post sends a JSON body and returns the response with its body read.
func (s *stack) post(t *testing.T, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// lastUpstream waits for the mock to record a request to path and returns
// the latest such entry.
func (s *stack) lastUpstream(t *testing.T, path string) mock.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var found mock.Entry
	_, err := s.mock.WaitJournal(ctx, func(es []mock.Entry) bool {
		for i := len(es) - 1; i >= 0; i-- {
			if es[i].Path == path {
				found = es[i]
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("mock never saw %s: %v", path, err)
	}
	return found
}

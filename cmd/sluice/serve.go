package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/ratelimit"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "the config `FILE` (YAML; ${VAR} and ${VAR:-default} expand from the environment)")
	printCurl := fs.Bool("print-curl", false, "once ready, print a curl command that tries the gateway on stdout")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE` (for performance work)")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run to `FILE` at exit (for performance work)")
	usage := func(w io.Writer) {
		fmt.Fprint(w, "Usage: sluice serve --config FILE [--print-curl]\n\nRuns the gateway until SIGTERM or SIGINT, then drains in-flight requests and streams.\n\nFlags:\n")
		printFlags(w, fs)
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "sluice serve: %v\n\n", err)
		usage(stderr)
		return 2
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "sluice serve: unexpected argument %q\n\n", fs.Arg(0))
		} else {
			fmt.Fprint(stderr, "sluice serve: --config FILE is required\n\n")
		}
		usage(stderr)
		return 2
	}
	// SIGHUP reloads the config (never the Go default of exiting): catch
	// it before anything else, so that a HUP sent during start-up is kept
	// for the reload loop instead of killing the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, hash, err := config.LoadWithHash(*cfgPath)
	if err != nil {
		return config.ReportErrors(stderr, err)
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg.Log, level, stderr)
	// go-redis logs through one process-global logger, by default raw on
	// stderr (a line per failed dial while Redis is down): route it
	// through slog, rate-limited. Only main sets it.
	redis.SetLogger(ratelimit.NewRedisLog(log.With(slog.String("component", "redis")), 0, nil))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer writeAllocProfile(*memProfile, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	src := configSource{path: *cfgPath, hash: hash, level: level, hup: hup}
	if err := serve(ctx, stop, cfg, src, log, stdout, *printCurl); err != nil {
		log.Error("sluice stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// newLogger builds the process logger; level holds its level, so that a
// reload can change it.
func newLogger(c config.Log, level *slog.LevelVar, w io.Writer) *slog.Logger {
	level.Set(gateway.LogLevel(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// configSource is where the running config came from, for reloads.
type configSource struct {
	path  string
	hash  string         // of the file's bytes at start
	level *slog.LevelVar // the logger's level
	hup   chan os.Signal // SIGHUP: reload
}

// deps fills d's reload hooks: the file is read, expanded and validated
// again on every reload.
func (c configSource) deps(d *gateway.Deps) {
	if c.path == "" {
		return
	}
	d.ConfigHash, d.LogLevel = c.hash, c.level
	d.LoadConfig = func() (*config.Config, string, error) { return config.LoadWithHash(c.path) }
}

// reloadLoop reloads on every SIGHUP and, while server.watch_config is on,
// whenever the file's content changes, until ctx ends.
func (c configSource) reloadLoop(ctx context.Context, g *gateway.Gateway) {
	if c.path == "" {
		return
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		g.WatchConfig(ctx, time.Second, func() (string, error) { return config.FileHash(c.path) })
	}()
	for {
		select {
		case <-ctx.Done():
			<-watched
			return
		case <-c.hup:
			g.Reload(ctx)
		}
	}
}

// serve runs the gateway (and the in-process mock when configured) until ctx
// is cancelled, then shuts down gracefully. stopSignals restores default
// signal handling once draining starts.
func serve(ctx context.Context, stopSignals func(), cfg *config.Config, src configSource, log *slog.Logger, stdout io.Writer, printCurl bool) error {
	sc := &cfg.Server
	if sc.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(sc.MemoryLimit)) // GOMEMLIMIT: the GC works harder before the ceiling
	}
	log.Info("overload protection", slog.Int("max_in_flight", sc.MaxInFlight), slog.Int("max_streams", sc.MaxStreams),
		slog.String("memory_limit", sc.MemoryLimit.String()), slog.Duration("shed_latency", sc.ShedLatency.D()),
		slog.Int("max_conns_per_client", sc.MaxConnsPerClient))
	var mk *mock.Server
	if cfg.Mock.Listen != "" {
		var err error
		mk, err = mock.New(mock.Options{Listen: cfg.Mock.Listen}, log.With(slog.String("component", "mock")))
		if err != nil {
			return fmt.Errorf("mock: %w", err)
		}
		ln, err := net.Listen("tcp", cfg.Mock.Listen)
		if err != nil {
			return fmt.Errorf("mock: %w", err)
		}
		go func() {
			if err := mk.Serve(ln); err != nil {
				log.Error("mock stopped", slog.String("error", err.Error()))
			}
		}()
		log.Info("mock listening", slog.String("addr", ln.Addr().String()))
	}

	deps := gateway.Deps{Log: log, Metrics: metrics.New()}
	src.deps(&deps)
	if cfg.Auth.Enabled {
		keys, err := auth.New(ctx, cfg, log)
		if err != nil {
			return fmt.Errorf("key store: %w", err)
		}
		defer keys.Close()
		deps.Keys = keys
	}
	if needsLimiter(cfg) {
		rdeps := ratelimit.Deps{Logger: log, Registerer: deps.Metrics.Prometheus()}
		if deps.Keys != nil {
			rdeps.Spend = deps.Keys
		}
		lim, err := ratelimit.New(cfg, rdeps)
		if err != nil {
			return fmt.Errorf("limits: %w", err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := lim.Close(cctx); err != nil {
				log.Warn("limits: flushing spend on shutdown", slog.String("error", err.Error()))
			}
		}()
		deps.Limits = lim
	}
	if cfg.Tracing.Endpoint != "" {
		tr, err := openTracing(cfg, log)
		if err != nil {
			return err
		}
		defer func() {
			tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tr.Shutdown(tctx); err != nil {
				log.Warn("tracing: flushing spans on shutdown", slog.String("error", err.Error()))
			}
		}()
		deps.Tracer = tr
	}
	if cfg.Telemetry.Enabled {
		tel, sink, closeTel, err := openTelemetry(ctx, cfg, log, deps.Metrics.Prometheus())
		if err != nil {
			return err
		}
		defer closeTel()
		deps.Telemetry, deps.Logs = tel, sink
	}
	g, err := gateway.New(cfg, deps)
	if err != nil {
		return err
	}
	srv := g.NewServer()
	if cfg.Admin.Listen != "" {
		aln, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			return fmt.Errorf("admin listen: %w", err)
		}
		asrv := g.NewAdminServer()
		go func() {
			if err := asrv.Serve(aln); err != nil {
				log.Error("admin server stopped", slog.String("error", err.Error()))
			}
		}()
		defer func() {
			actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = asrv.Shutdown(actx, 0)
		}()
		log.Info("admin API listening", slog.String("addr", aln.Addr().String()))
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.Server.TLS.CertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	addr := ln.Addr().String()
	log.Info("sluice listening", slog.String("addr", addr), slog.Int("providers", len(cfg.Providers)), slog.Int("models", len(cfg.Models)))
	if printCurl {
		fmt.Fprintln(stdout, curlLine(cfg, addr))
	}

	rctx, stopReloads := context.WithCancel(ctx)
	var reloads sync.WaitGroup
	reloads.Add(1)
	go func() {
		defer reloads.Done()
		src.reloadLoop(rctx, g)
	}()
	defer func() { stopReloads(); reloads.Wait() }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// A second SIGINT/SIGTERM during the drain kills the process at once.
	stopSignals()
	// No reload from here on: one in progress finishes before the key
	// service and the limiter close.
	stopReloads()
	reloads.Wait()
	cfg = g.Config() // the grace and delay of the config in force
	grace := cfg.Server.ShutdownGrace.D()
	log.Info("shutting down: draining in-flight requests", slog.Duration("grace", grace))
	sctx, cancel := context.WithTimeout(context.Background(), grace+cfg.Server.ShutdownDelay.D())
	defer cancel()
	err = srv.Shutdown(sctx, cfg.Server.ShutdownDelay.D())
	if mk != nil {
		mctx, mcancel := context.WithTimeout(context.Background(), time.Second)
		_ = mk.Shutdown(mctx)
		mcancel()
	}
	if err != nil {
		return fmt.Errorf("grace period of %s ended with requests still in flight: %w", grace, err)
	}
	log.Info("sluice stopped cleanly")
	return nil
}

// needsLimiter reports whether anything is limited: virtual keys (their
// limits, the defaults for keys, budgets) or a provider's own limits.
func needsLimiter(cfg *config.Config) bool {
	if cfg.Auth.Enabled {
		return true
	}
	for _, p := range cfg.Providers {
		if p.Limits.RPM > 0 || p.Limits.TPM > 0 {
			return true
		}
	}
	return false
}

// curlLine is a complete one-line curl command that tries the gateway with
// its first chat model.
func curlLine(cfg *config.Config, addr string) string {
	scheme := "http"
	if cfg.Server.TLS.CertFile != "" {
		scheme = "https"
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	model := "gpt-4o-mini"
	kinds := map[string]string{}
	for _, p := range cfg.Providers {
		kinds[p.Name] = p.Kind
	}
	for _, m := range cfg.Models {
		if len(m.Targets) > 0 && kinds[m.Targets[0].Provider] == config.KindOpenAI && !strings.Contains(m.Name, "embed") {
			model = m.Name
			break
		}
	}
	auth := ""
	if cfg.Auth.Enabled && len(cfg.Auth.Keys) > 0 {
		// The first static key of the config (the quick start's demo key).
		auth = fmt.Sprintf(" -H 'Authorization: Bearer %s'", cfg.Auth.Keys[0].Key.Reveal())
	}
	return fmt.Sprintf(`curl -sS %s://%s/v1/chat/completions -H 'Content-Type: application/json'%s -d '{"model":"%s","messages":[{"role":"user","content":"Hello, Sluice!"}]}'`,
		scheme, addr, auth, model)
}

// writeAllocProfile writes the allocations made since start (pprof's "allocs" profile,
// sampled at the runtime's default rate) to path.
func writeAllocProfile(path string, stderr io.Writer) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: memprofile: %v\n", err)
	}
}

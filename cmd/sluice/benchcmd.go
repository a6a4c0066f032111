package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/bench"
)

const benchUsage = `Usage: sluice bench --direct URL [--target NAME=URL ...] [flags]

Measure gateways against the mock with open-loop, constant-rate load. At each rate
every target (the mock addressed directly as "direct", the baseline, and each
--target) runs for a warm-up and then the step's measured window, one after another,
in an order that reverses from step to step. Requests are POST /v1/chat/completions
under each URL (a root such as http://127.0.0.1:9000). Writes results.json,
report.md, report.html and SVG charts into --out.

Flags:
  --direct URL          the mock itself: the baseline (required)
  --target NAME=URL     a gateway to measure (repeatable)
  --rates LIST          requests per second per step: R1,R2,... or "seed"
                        (500,1000,2000,5000,8000,10000,12000); default: 500, 1000,
                        2000, ... doubling until direct misses the knee
  --concurrency LIST    a closed loop instead: N1,N2,... requests (streams) kept
                        open at once per step, each sent as the last one ends
  --step D              measured window per target and step (default 10s)
  --warmup D            discarded load before each window (default 2s; 0 for none)
  --out DIR             where to write the report (default ./sluice-bench-DATE-TIME)
  --header NAME=K:V     a header sent to target NAME (repeatable; NAME may be direct)
  --model NAME=M        the model asked of target NAME (default gpt-4o-mini)
  --pid NAME=PID[,PID]  processes charged with target NAME's CPU and memory
  --slo D               p99 latency the knee allows on top of the profile's backend
                        latency (default 50ms; a bare number is ms)
  --stream              streamed replies: time to first token, gaps between tokens
  --profile P           backend profile: throughput (default), fast (50 ms),
                        slow (500 ms), payload (1, 10, 100 KB), chaos (5% errors,
                        1% dropped connections)
  --timeout D           bound on each request and on a step's drain (default 10s)
  --max-conns N         connections per target and step at most (default 4096)
  --stop-error-rate F   leave a target out of higher rates once its error rate
                        passes F (0-1, default 0.5)
  --no-preflight        do not check that every target answers one request first

A person reads report.html; scripts read results.json. The load generator is
open-loop: latency counts from each request's scheduled send time, so a target
that stalls cannot hide its queue.
`

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// cmdBench runs `sluice bench`: 0 when the report is written, 2 for bad flags, 1 when
// a target fails its preflight, the run is interrupted or the report cannot be
// written (an interrupted run still writes what it measured).
func cmdBench(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runBench(ctx, args, stdout, stderr)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, out, preflight, err := parseBenchFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, benchUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n\nRun \"sluice bench --help\" for the flags.\n", err)
		return 2
	}
	cfg.SluiceVersion = buildVersion()
	cfg.Args = append([]string{"sluice", "bench"}, args...)
	cfg.Progress = newProgress(stderr).event
	if preflight {
		if err := bench.Preflight(ctx, cfg); err != nil {
			if errors.Is(err, bench.ErrConfig) {
				fmt.Fprintf(stderr, "sluice bench: %v\n", err)
				return 2
			}
			fmt.Fprintf(stderr, "sluice bench: %v\n(each target must answer a chat completion with 2xx before it is measured; --no-preflight skips this check)\n", err)
			return 1
		}
	}
	res, runErr := bench.Run(ctx, cfg)
	if errors.Is(runErr, bench.ErrConfig) {
		fmt.Fprintf(stderr, "sluice bench: %v\n", runErr)
		return 2
	}
	if res == nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", runErr)
		return 1
	}
	paths, err := bench.Write(out, res)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 1
	}
	printSummary(stdout, res, out, paths)
	if runErr != nil {
		why := runErr.Error()
		if errors.Is(runErr, context.Canceled) {
			why = "interrupted"
		}
		fmt.Fprintf(stderr, "sluice bench: %s; the steps measured before it are in %s\n", why, out)
		return 1
	}
	return 0
}

// parseBenchFlags turns the command line into a bench.Config, the output directory
// and whether to preflight.
func parseBenchFlags(args []string) (bench.Config, string, bool, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		cfg                            bench.Config
		direct, rates, out, slo, prof  string
		concurrency                    string
		targets, headers, models, pids multiFlag
		warmup                         = bench.DefaultWarmup
		noPreflight                    bool
		stopErrorRate                  float64
	)
	fs.StringVar(&direct, "direct", "", "")
	fs.Var(&targets, "target", "")
	fs.StringVar(&rates, "rates", "", "")
	fs.StringVar(&concurrency, "concurrency", "", "")
	fs.DurationVar(&cfg.Step, "step", bench.DefaultStep, "")
	fs.DurationVar(&warmup, "warmup", bench.DefaultWarmup, "")
	fs.StringVar(&out, "out", "", "")
	fs.Var(&headers, "header", "")
	fs.Var(&models, "model", "")
	fs.Var(&pids, "pid", "")
	fs.StringVar(&slo, "slo", "50ms", "")
	fs.BoolVar(&cfg.Stream, "stream", false, "")
	fs.StringVar(&prof, "profile", "throughput", "")
	fs.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "")
	fs.IntVar(&cfg.MaxConns, "max-conns", bench.DefaultMaxConns, "")
	fs.Float64Var(&stopErrorRate, "stop-error-rate", bench.DefaultStopErrorRate, "")
	fs.BoolVar(&noPreflight, "no-preflight", false, "")
	if err := parseFlags(fs, args); err != nil {
		return cfg, "", false, err
	}
	if fs.NArg() > 0 {
		return cfg, "", false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if direct == "" {
		return cfg, "", false, errors.New("--direct URL is required (the mock's root, e.g. http://127.0.0.1:9000)")
	}
	cfg.Profile = prof
	cfg.Targets = []bench.Target{{Name: bench.Baseline, URL: direct}}
	index := map[string]int{bench.Baseline: 0}
	for _, t := range targets {
		name, u, ok := strings.Cut(t, "=")
		if !ok || name == "" || u == "" {
			return cfg, "", false, fmt.Errorf("--target %q: want NAME=URL", t)
		}
		if _, dup := index[name]; dup {
			return cfg, "", false, fmt.Errorf("--target %q: name %q is taken", t, name)
		}
		index[name] = len(cfg.Targets)
		cfg.Targets = append(cfg.Targets, bench.Target{Name: name, URL: u})
	}
	lookup := func(flagName, v string) (*bench.Target, string, error) {
		name, rest, ok := strings.Cut(v, "=")
		if !ok || rest == "" {
			return nil, "", fmt.Errorf("--%s %q: want NAME=VALUE", flagName, v)
		}
		i, ok := index[name]
		if !ok {
			return nil, "", fmt.Errorf("--%s %q: no target named %q", flagName, v, name)
		}
		return &cfg.Targets[i], rest, nil
	}
	for _, h := range headers {
		t, kv, err := lookup("header", h)
		if err != nil {
			return cfg, "", false, err
		}
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return cfg, "", false, fmt.Errorf("--header %q: want NAME=Header-Name:value", h)
		}
		t.Headers = append(t.Headers, bench.Header{Name: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	for _, m := range models {
		t, model, err := lookup("model", m)
		if err != nil {
			return cfg, "", false, err
		}
		t.Model = model
	}
	for _, p := range pids {
		t, list, err := lookup("pid", p)
		if err != nil {
			return cfg, "", false, err
		}
		for _, s := range strings.Split(list, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				return cfg, "", false, fmt.Errorf("--pid %q: %q is not a process id", p, s)
			}
			t.PIDs = append(t.PIDs, n)
		}
	}
	r, err := parseRates(rates)
	if err != nil {
		return cfg, "", false, err
	}
	cfg.Rates = r
	if concurrency != "" {
		if rates != "" {
			return cfg, "", false, errors.New("--rates and --concurrency exclude each other")
		}
		n, err := parseRates(concurrency)
		if err != nil || len(n) == 0 || concurrency == "seed" {
			return cfg, "", false, fmt.Errorf("--concurrency %q: want N1,N2,... requests in flight", concurrency)
		}
		cfg.Rates, cfg.Closed = n, true
	}
	d, err := parseSLO(slo)
	if err != nil {
		return cfg, "", false, err
	}
	cfg.SLO = d
	switch {
	case warmup < 0:
		return cfg, "", false, fmt.Errorf("--warmup %v is negative", warmup)
	case warmup == 0:
		cfg.Warmup = -1 // none
	default:
		cfg.Warmup = warmup
	}
	if stopErrorRate <= 0 || stopErrorRate > 1 {
		return cfg, "", false, fmt.Errorf("--stop-error-rate %v: want a fraction in (0, 1]", stopErrorRate)
	}
	cfg.StopErrorRate = stopErrorRate
	if cfg.Timeout <= 0 {
		return cfg, "", false, fmt.Errorf("--timeout %v: want a positive duration", cfg.Timeout)
	}
	if cfg.MaxConns < 1 {
		return cfg, "", false, fmt.Errorf("--max-conns %d: want at least 1", cfg.MaxConns)
	}
	if out == "" {
		out = filepath.Join(".", "sluice-bench-"+time.Now().Format("20060102-150405"))
	}
	return cfg, out, !noPreflight, nil
}

// parseRates reads "R1,R2,...", "seed", or "" (automatic).
func parseRates(s string) ([]int, error) {
	switch strings.TrimSpace(s) {
	case "", "auto":
		return nil, nil
	case "seed":
		return bench.SeedRates(), nil
	}
	var rates []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--rates %q: %q is not a positive whole number of requests per second", s, f)
		}
		rates = append(rates, n)
	}
	return rates, nil
}

// parseSLO reads a Go duration or a bare number of milliseconds.
func parseSLO(s string) (time.Duration, error) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--slo %q: want a positive duration such as 50ms, or milliseconds", s)
	}
	return d, nil
}

// printSummary tells what was written and each series' knee.
func printSummary(w io.Writer, res *bench.Results, out string, paths []string) {
	fmt.Fprintf(w, "Report: %s\n", filepath.Join(out, bench.HTMLFile))
	fmt.Fprintf(w, "Wrote %d files in %s\n", len(paths), out)
	fmt.Fprintf(w, "Knee (p99 ≤ %g ms, errors < %g%%):\n", res.Knee.SLOMs+res.Knee.BackendMs, res.Knee.MaxErrorRate*100)
	names := make([]string, 0, len(res.Knee.Targets))
	for _, t := range res.Settings.Targets {
		for k := range res.Knee.Targets {
			if k == t.Name || strings.HasPrefix(k, t.Name+"@") {
				names = append(names, k)
			}
		}
	}
	for _, k := range names {
		if r := res.Knee.Targets[k]; r != nil {
			fmt.Fprintf(w, "  %-20s %d/s\n", k, *r)
		} else {
			fmt.Fprintf(w, "  %-20s none (even the lowest rate missed)\n", k)
		}
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

// progress shows a run's progress on w: one line rewritten in place on a terminal,
// one line per finished step otherwise.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) event(ev bench.Event) {
	pos := fmt.Sprintf("[%d]", ev.Index)
	if ev.Total > 0 {
		pos = fmt.Sprintf("[%d/%d]", ev.Index, ev.Total)
	}
	name := ev.Target
	if ev.Variant != "" {
		name += "@" + ev.Variant
	}
	switch ev.Kind {
	case bench.EventStepStart:
		if p.tty {
			fmt.Fprintf(p.w, "\r\033[K%s %s at %d/s: warming up", pos, name, ev.Rate)
		}
	case bench.EventTick:
		if !p.tty {
			return
		}
		if ev.Phase == bench.PhaseWarmup {
			fmt.Fprintf(p.w, "\r\033[K%s %s at %d/s: warming up", pos, name, ev.Rate)
			return
		}
		fmt.Fprintf(p.w, "\r\033[K%s %s at %d/s: %s %.1f/%.0fs, sent %.0f/s, p99 %s ms, errors %d",
			pos, name, ev.Rate, ev.Phase, ev.Elapsed.Seconds(), ev.Window.Seconds(), ev.AchievedRPS,
			fmtMsShort(ev.P99), ev.Errors)
	case bench.EventStepDone:
		s := ev.Step
		cpu := ""
		if s.CPUUsPerReq != nil {
			cpu = fmt.Sprintf(", CPU %.1f µs/req", *s.CPUUsPerReq)
		}
		over := ""
		if s.OverheadP50Ms != nil {
			over = fmt.Sprintf(", overhead p50 %+.3f ms", *s.OverheadP50Ms)
		}
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "%s %s at %d/s: sent %.0f/s, p50 %.3f ms, p99 %.3f ms, errors %d (%.2f%%)%s%s\n",
			pos, name, ev.Rate, s.AchievedRPS, s.P50Ms, s.P99Ms, s.Errors, s.ErrorRate*100, over, cpu)
	case bench.EventSkip:
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "%s skipped: %s\n", pos, ev.Reason)
	}
}

func fmtMsShort(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

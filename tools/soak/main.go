// Command soak is Sluice's soak test (make soak DURATION=10m): it starts a
// private PostgreSQL and Redis, the mock and two `sluice serve` instances
// (request logging to PostgreSQL, limits in Redis, the spool on disk), all
// on loopback ports of their own, measures the deployment's capacity with
// a short ladder (or takes -rate), and loads it at 70 % of that for
// -duration while light faults run now and then in the background: a
// PostgreSQL outage, a Redis restart, a burst of cancelled streams, a
// failing upstream, a config reload. Every few seconds it samples each
// instance's RSS, goroutines, open descriptors, spool size and requests
// served, and the request-log rows.
//
// It fails (exit 1) when RSS, goroutines or descriptors of an instance
// grow by more than 5 % from the first window after the warm-up to the
// last window, when a spool does not drain after an outage, or when the
// request log lost or duplicated a row; it exits 2 when the soak could
// not be carried out. It writes soak.json (samples and verdict), soak.svg
// (a chart of every sample) and the processes' logs to -out. The rules
// are in docs/operations.md, section "Soak".
//
//	go run ./tools/soak [-duration 10m] [-rate RPS] [-out DIR] [-bin SLUICE]
//
// Everything stops by itself: the run ends within -duration plus
// stopMargin (setup, the ladder, the final accounting), and every child
// process is stopped on exit, Ctrl-C included.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// stopMargin is how far past -duration the run may go: setup (≈ 15 s),
// the capacity ladder (≈ 45 s at most), the instances' restart, and the
// final accounting (drainLimit, 60 s).
const stopMargin = 3 * time.Minute

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	duration time.Duration
	rate     float64
	out      string
	bin      string
	keep     bool
	interval time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the soak load runs (at least 2m)")
	fs.Float64Var(&o.rate, "rate", 0, "load in requests a second over both instances; 0 = 70 % of the capacity measured at the start")
	fs.StringVar(&o.out, "out", "/tmp/sluice-soak", "`DIR` for soak.json, soak.svg, summary.txt and the processes' logs")
	harness.DeploymentFlags(fs, &o.bin, &o.keep)
	fs.DurationVar(&o.interval, "interval", 0, "time between samples; 0 = duration/100, within 2s–10s")
	if status, ok := harness.ParseFlags(fs, args, stderr); !ok {
		return status
	}
	p, err := newPlan(o.duration)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	if o.interval != 0 {
		if o.interval < 500*time.Millisecond || o.interval > p.Window/minWindowSamples {
			fmt.Fprintf(stderr, "soak: -interval must be within 500ms–%v (a window holds %d samples)\n", p.Window/minWindowSamples, minWindowSamples)
			return 2
		}
		p.Interval = o.interval
	}
	if o.rate < 0 || o.rate > 50000 {
		fmt.Fprintln(stderr, "soak: -rate must be in [0, 50000]")
		return 2
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintln(stderr, "soak: needs Linux (/proc)")
		return 2
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}

	ctx, stop := harness.Interruptible(context.Background())
	defer stop()
	if o.bin == "" {
		// Before the clock starts: a first build takes minutes.
		fmt.Fprintln(stdout, "soak: building ./cmd/sluice")
		dir, err := os.MkdirTemp("", "sluice-soak-bin-")
		if err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 2
		}
		defer os.RemoveAll(dir)
		if o.bin, err = harness.BuildSluice(ctx, root, filepath.Join(dir, "sluice")); err != nil {
			fmt.Fprintf(stderr, "soak: %v\n", err)
			return 2
		}
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.duration+stopMargin,
		fmt.Errorf("the run passed -duration + %v", stopMargin))
	defer cancel()

	rep, err := soak(ctx, o, p, root, stdout)
	if rep != nil {
		if werr := rep.write(o.out, stdout, p); werr != nil {
			fmt.Fprintf(stderr, "soak: %v\n", werr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.OK {
			failed = append(failed, fmt.Sprintf("FAILED: %s: %s", c.Name, c.Detail))
		}
	}
	return harness.Verdict("soak", stdout, stderr, rep.OK, failed,
		fmt.Sprintf("flat and complete (%v at %.0f/s, %d checks)", o.duration, rep.Setup.RateRPS, len(rep.Checks)))
}

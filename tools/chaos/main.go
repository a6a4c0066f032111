// Command chaos is Sluice's chaos suite (make chaos): it starts a private
// PostgreSQL and Redis, the mock and two `sluice serve` instances built
// from this tree, all on loopback ports of their own, then puts them
// through one fault after another while load runs, and checks each
// against the bounds docs/operations.md documents (section "Chaos
// suite"): what clients saw, whether limits held, request-log rows lost
// or duplicated. It prints a table, writes results.json, and exits 1 when
// a bound is broken (2 when the suite could not run).
//
//	go run ./tools/chaos [-out DIR] [-only NAME,...] [-rate RPS] [-bin SLUICE]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	out     string
	only    map[string]bool
	rate    float64
	bin     string
	keep    bool
	timeout time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var only string
	fs.StringVar(&o.out, "out", "/tmp/sluice-chaos", "`DIR` for results.json, the table and the processes' logs")
	fs.StringVar(&only, "only", "", "comma-separated scenario `NAMES` to run (default: all): "+strings.Join(scenarioNames(), ","))
	fs.Float64Var(&o.rate, "rate", 100, "background load in requests a second, over both instances")
	harness.DeploymentFlags(fs, &o.bin, &o.keep)
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	if status, ok := harness.ParseFlags(fs, args, stderr); !ok {
		return status
	}
	if only != "" {
		o.only = map[string]bool{}
		known := map[string]bool{}
		for _, n := range scenarioNames() {
			known[n] = true
		}
		for n := range strings.SplitSeq(only, ",") {
			n = strings.TrimSpace(n)
			if !known[n] {
				fmt.Fprintf(stderr, "chaos: unknown scenario %q (have %s)\n", n, strings.Join(scenarioNames(), ", "))
				return 2
			}
			o.only[n] = true
		}
	}
	if o.rate <= 0 || o.rate > 2000 {
		fmt.Fprintln(stderr, "chaos: -rate must be in (0, 2000]")
		return 2
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintln(stderr, "chaos: needs Linux (/proc, prlimit, SIGKILL semantics)")
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := harness.Interruptible(ctx)
	defer stop()

	rep, err := suite(ctx, o, stdout)
	if rep != nil {
		if werr := rep.write(o.out, stdout); werr != nil {
			fmt.Fprintf(stderr, "chaos: %v\n", werr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaos: %v\n", err)
		return 2
	}
	var failed []string
	for _, s := range rep.Scenarios {
		for _, c := range s.Checks {
			if !c.OK {
				failed = append(failed, fmt.Sprintf("BOUND BROKEN: %s: %s: %s", s.Name, c.Name, c.Detail))
			}
		}
	}
	return harness.Verdict("chaos", stdout, stderr, rep.OK, failed,
		fmt.Sprintf("every bound held (%d scenarios, %.0f s)", len(rep.Scenarios), rep.DurationS))
}

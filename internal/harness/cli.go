package harness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
)

// What the tools' main functions share: the flags of the deployment,
// parsing, signals and the exit status.

// DeploymentFlags registers -bin and -keep, the flags of a Deployment.
func DeploymentFlags(fs *flag.FlagSet, bin *string, keep *bool) {
	fs.StringVar(bin, "bin", "", "a sluice `BINARY` to run instead of building ./cmd/sluice")
	fs.BoolVar(keep, "keep", false, "keep the state directory (PostgreSQL data, spools) after the run")
}

// ParseFlags parses args with fs (made with flag.ContinueOnError) and
// refuses arguments after the flags. When it returns false the command
// ends with status: 0 after -help, 2 on a usage error (printed).
func ParseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

// Interruptible is ctx ended by SIGINT or SIGTERM as well: the run stops,
// and the caller's deferred Teardown stops every process it started.
func Interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
}

// Verdict ends a run that was carried out: when !ok it prints each of
// failed as "TOOL: LINE" on stderr and returns 1; otherwise it prints
// "TOOL: SUCCESS" on stdout and returns 0.
func Verdict(tool string, stdout, stderr io.Writer, ok bool, failed []string, success string) int {
	if !ok {
		for _, f := range failed {
			fmt.Fprintf(stderr, "%s: %s\n", tool, f)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", tool, success)
	return 0
}

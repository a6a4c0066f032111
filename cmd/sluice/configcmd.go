package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sluice-gw/sluice/internal/config"
)

const configUsage = `Usage: sluice config check --config FILE

Check a configuration file without serving it: parse the YAML, expand
${VAR} and ${VAR:-default} from the environment, apply defaults and
validate. Every problem is printed on its own line on stderr as
FILE:LINE:COL: PATH: message.

Exit status: 0 when the file is valid, 2 when it has problems or the
command line is wrong, 1 when the file cannot be read.

Flags:
`

// cmdConfig runs "sluice config ...". args are the arguments after
// "config". It returns the process exit status.
func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		printConfigFlags(stderr)
		return 2
	}
	switch args[0] {
	case "check":
		return cmdConfigCheck(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		printConfigFlags(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "sluice config: unknown subcommand %q\n\n", args[0])
	fmt.Fprint(stderr, configUsage)
	printConfigFlags(stderr)
	return 2
}

// configCheckFlags declares the flags of "config check" on fs.
func configCheckFlags(fs *flag.FlagSet) *string {
	return fs.String("config", "", "the configuration `FILE` to check (required)")
}

func printConfigFlags(w io.Writer) {
	fs := flag.NewFlagSet("sluice config check", flag.ContinueOnError)
	configCheckFlags(fs)
	printFlags(w, fs)
}

func cmdConfigCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice config check", flag.ContinueOnError)
	path := configCheckFlags(fs)
	usage := func(w io.Writer) {
		fmt.Fprint(w, configUsage)
		printFlags(w, fs)
	}
	// --help goes to stdout, mistakes to stderr.
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "sluice config check: %v\n\n", err)
		usage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice config check: unexpected argument %q\n\n", fs.Arg(0))
		usage(stderr)
		return 2
	}
	if *path == "" {
		fmt.Fprint(stderr, "sluice config check: --config FILE is required\n\n")
		usage(stderr)
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return config.ReportErrors(stderr, err)
	}
	fmt.Fprintf(stdout, "%s: ok (%s, %s)\n", *path,
		configCount(len(cfg.Providers), "provider"), configCount(len(cfg.Models), "model"))
	return 0
}

// configCount formats a count with a noun: "1 provider", "3 models".
func configCount(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

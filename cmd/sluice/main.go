// Command sluice is the Sluice AI gateway: serve, mock, bench, keys, teams,
// logs, usage, config check, pricing and version. main only parses the
// subcommand and hands over.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `sluice — an AI gateway

Usage:
  sluice serve --config FILE     run the gateway
  sluice mock [flags]            run the mock LLM server
  sluice bench [flags]           load-test gateways against the mock
  sluice keys ...                manage virtual keys
  sluice teams ...               manage teams: keys that share limits and a budget
  sluice logs [flags]            show request logs; --follow for new ones
  sluice usage [flags]           sum requests, tokens and cost per key, team,
                                 model, end user or day
  sluice config check --config FILE
                                 validate a config file
  sluice pricing list|check      print the price catalog; find unpriced models
  sluice version [--json]        print the version, the commit and whether
                                 its tree was clean

Run "sluice COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(rest, stdout, stderr)
	case "mock":
		return cmdMock(rest, stdout, stderr)
	case "config":
		return cmdConfig(rest, stdout, stderr)
	case "bench":
		return cmdBench(rest, stdout, stderr)
	case "keys":
		return cmdKeys(rest, stdout, stderr)
	case "teams":
		return cmdTeams(rest, stdout, stderr)
	case "logs":
		return cmdLogs(rest, stdout, stderr)
	case "usage":
		return cmdUsage(rest, stdout, stderr)
	case "pricing":
		return cmdPricing(rest, stdout, stderr)
	case "version", "--version":
		return cmdVersion(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", cmd, usage)
	return 2
}

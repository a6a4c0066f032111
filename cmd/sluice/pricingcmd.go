package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/pricing"
)

const pricingUsage = `Usage: sluice pricing list [--config FILE]
       sluice pricing check --config FILE

list prints the price catalog embedded in this binary, one model per
line: model, provider, then its prices in USD per million tokens (in:
input, cached: cache reads, write: 5-minute cache writes, write1h: 1-hour
cache writes, out: output, reasoning: where billed apart from output;
">N:" prices a request whose prompt is over N tokens). Rows are sorted by
provider, then model. With --config, the file's pricing section is
applied and the rows it sets are marked "override". "unconfirmed" marks
a catalog figure that could not be checked against the vendor's page at
the catalog's date. It needs no running gateway.

check lists the configured models (public models and their targets'
upstream models) that have no price, by the rule the gateway charges
with: the public model's price, else the upstream model's. Requests to
them cost 0. Pattern models (names ending in '*') are not checked.

Exit status: 0; check: 1 when a model has no price; 2 when the command
line or the config file is wrong (problems on stderr as
FILE:LINE:COL: PATH: message).

Flags:
`

// cmdPricing runs "sluice pricing ...". args are the arguments after
// "pricing". It returns the process exit status.
func cmdPricing(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, pricingUsage)
		printPricingFlags(stderr)
		return 2
	}
	switch args[0] {
	case "list", "check":
		return cmdPricingRun(args[0], args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, pricingUsage)
		printPricingFlags(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "sluice pricing: unknown subcommand %q\n\n", args[0])
	fmt.Fprint(stderr, pricingUsage)
	printPricingFlags(stderr)
	return 2
}

func pricingFlags(fs *flag.FlagSet) *string {
	return fs.String("config", "", "the configuration `FILE` whose pricing section applies (list: optional; check: required)")
}

func printPricingFlags(w io.Writer) {
	fs := flag.NewFlagSet("sluice pricing", flag.ContinueOnError)
	pricingFlags(fs)
	printFlags(w, fs)
}

func cmdPricingRun(sub string, args []string, stdout, stderr io.Writer) int {
	name := "sluice pricing " + sub
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	path := pricingFlags(fs)
	usage := func(w io.Writer) {
		fmt.Fprint(w, pricingUsage)
		printFlags(w, fs)
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n\n", name, err)
		usage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n\n", name, fs.Arg(0))
		usage(stderr)
		return 2
	}
	if sub == "check" && *path == "" {
		fmt.Fprintf(stderr, "%s: --config FILE is required\n\n", name)
		usage(stderr)
		return 2
	}
	var cfg *config.Config
	if *path != "" {
		var err error
		if cfg, err = config.Load(*path); err != nil {
			return config.ReportErrors(stderr, err)
		}
	} else {
		cfg = &config.Config{}
	}
	t, err := pricing.New(cfg.Pricing)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	if sub == "list" {
		writeCatalog(stdout, t)
		return 0
	}
	missing := t.Unpriced(cfg)
	for _, m := range missing {
		fmt.Fprintf(stdout, "%s: model %s, target %s/%s: no price (requests cost 0)\n", *path, m.Model, m.Provider, m.Upstream)
	}
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "%s: %s without a price; add them to the pricing section\n", *path, configCount(len(missing), "target"))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (every configured model has a price)\n", *path)
	return 0
}

// writeCatalog prints t: a header with its date and sources, then one
// aligned line per model.
func writeCatalog(w io.Writer, t *pricing.Table) {
	fmt.Fprintf(w, "# price catalog of %s, USD per million tokens\n", t.Date())
	for _, s := range t.Sources() {
		fmt.Fprintf(w, "# %s: %s\n", s.Provider, s.URL)
	}
	rows := t.Entries()
	wm, wp := 0, 0
	for _, e := range rows {
		wm, wp = max(wm, len(e.Model)), max(wp, len(e.Provider))
	}
	for _, e := range rows {
		line := fmt.Sprintf("%-*s  %-*s  %s", wm, e.Model, wp, e.Provider, ratesText(&e.Price.Rates))
		for _, tr := range e.Price.Tiers {
			line += "  >" + strconv.FormatInt(tr.Above, 10) + ": " + ratesText(&tr.Rates)
		}
		if e.Overridden {
			line += "  override"
		} else if e.Unconfirmed {
			line += "  unconfirmed"
		}
		fmt.Fprintln(w, line)
	}
}

// ratesText writes the prices that apply: cache and reasoning prices only
// where they differ from what they default to.
func ratesText(r *pricing.Rates) string {
	var b strings.Builder
	field := func(name string, v float64) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	}
	field("in", r.Input)
	if r.CacheRead != r.Input {
		field("cached", r.CacheRead)
	}
	if r.CacheWrite != r.Input {
		field("write", r.CacheWrite)
	}
	if r.CacheWrite1h != r.CacheWrite {
		field("write1h", r.CacheWrite1h)
	}
	field("out", r.Output)
	if r.Reasoning != r.Output {
		field("reasoning", r.Reasoning)
	}
	return b.String()
}

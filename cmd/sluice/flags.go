package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Sluice writes flags one way everywhere: --name (DESIGN.md). Go's flag
// package accepts --name and -name alike but writes -name in its defaults
// and its errors; parseFlags and printFlags are the one place that speaks
// for it, and every subcommand goes through them.

// parseFlags parses args with fs, which prints nothing itself: the caller
// prints help (flag.ErrHelp) and mistakes, whose message parseFlags
// returns with the flag written --name.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errors.New(flagName.ReplaceAllString(err.Error(), "${1}--$2"))
}

// flagName finds the flag in the flag package's errors: "flag provided but
// not defined: -x", "flag needs an argument: -x", "invalid value "v" for
// flag -x: ...", "invalid boolean value "v" for -x: ...".
var flagName = regexp.MustCompile(`(defined: |argument: |for flag |for )-([A-Za-z])`)

// printFlags writes fs's flags in name order, each as "--name ARG" with its
// usage on the next line and its default when that is not the zero value:
// flag.PrintDefaults' layout, with the flag written --name.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		b.WriteString("  --")
		b.WriteString(f.Name)
		if arg != "" {
			b.WriteString(" ")
			b.WriteString(arg)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "0s" {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					d = fmt.Sprintf("%q", d)
				}
			}
			fmt.Fprintf(&b, " (default %s)", d)
		}
		b.WriteString("\n")
	})
	io.WriteString(w, b.String())
}

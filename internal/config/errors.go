package config

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. It prints as
// "FILE:LINE:COL: PATH: message"; parts that are unknown are left out (a
// Config built in code and checked with Validate has no file or position,
// a YAML syntax error has no path).
type Error struct {
	File string // file name as given to Load or Parse
	Line int    // 1-based; 0 when unknown
	Col  int    // 1-based; 0 when unknown
	Path string // dotted YAML keys with [i] indexes, e.g. models[2].targets[0].provider
	Msg  string // what is wrong; never contains a secret value
}

func (e Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Col))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, sorted by line and
// column. Load, Parse and Validate return it as their error; callers get it
// back with errors.As.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted returns es sorted by position (stable, so problems found at the
// same position keep the order they were found in) without duplicates.
func (es Errors) sorted() Errors {
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return slices.Compact(out)
}

// ReportErrors prints err for an operator and returns the process exit
// status: configuration Errors one per line and 2; any other error (an
// unreadable file, say) as "sluice: ..." and 1. A nil err prints nothing
// and returns 0. The serve and config check commands share it.
func ReportErrors(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var es Errors
	if errors.As(err, &es) && len(es) > 0 {
		for _, e := range es {
			fmt.Fprintln(w, e.Error())
		}
		return 2
	}
	var e Error
	if errors.As(err, &e) {
		fmt.Fprintln(w, e.Error())
		return 2
	}
	fmt.Fprintf(w, "sluice: %v\n", err)
	return 1
}

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const versionUsage = `Usage: sluice version [--json]

Print the version, the commit the binary was built from, whether that
checkout had changes not committed ("modified"), the commit's time, the
Go version and the platform. The commit comes from the build information
go build embeds from a git checkout; a binary built without it (go build
-buildvcs=false, or outside a checkout) says "unknown". Release binaries
are built with it (docs/releases.md).

Flags:
`

// buildStamp is what "sluice version" reports, read from the build
// information the Go toolchain embeds in the binary.
type buildStamp struct {
	Version string `json:"version"`
	// Commit is the full VCS revision; empty when the binary carries none.
	Commit string `json:"commit"`
	// Tree is "clean", "modified" or "unknown" (no VCS information).
	Tree string `json:"tree"`
	// CommitTime is the commit's time (RFC 3339, UTC), not the build's;
	// empty when unknown.
	CommitTime string `json:"commit_time,omitempty"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

// stampFrom builds the stamp from the -X version and the embedded build
// information (bi may be nil: no build information at all).
func stampFrom(ldVersion string, bi *debug.BuildInfo) buildStamp {
	s := buildStamp{Version: ldVersion, Tree: "unknown", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi == nil {
		return s
	}
	if s.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		s.Version = bi.Main.Version
	}
	modified := ""
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			s.Commit = kv.Value
		case "vcs.modified":
			modified = kv.Value
		case "vcs.time":
			s.CommitTime = kv.Value
		case "GOOS":
			s.OS = kv.Value
		case "GOARCH":
			s.Arch = kv.Value
		}
	}
	switch {
	case s.Commit == "":
	case modified == "true":
		s.Tree = "modified"
	case modified == "false":
		s.Tree = "clean"
	}
	return s
}

// String is the one line "sluice version" prints; it starts with "sluice "
// and the version, which scripts read.
func (s buildStamp) String() string {
	commit := s.Commit
	if commit == "" {
		commit = "unknown"
	}
	line := fmt.Sprintf("sluice %s (commit %s, %s tree", s.Version, commit, s.Tree)
	if s.CommitTime != "" {
		line += ", committed " + s.CommitTime
	}
	return line + fmt.Sprintf("; %s, %s/%s)", s.Go, s.OS, s.Arch)
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object")
	usage := func(w io.Writer) {
		fmt.Fprint(w, versionUsage)
		printFlags(w, fs)
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "sluice version: %v\n\n", err)
		usage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice version: unexpected argument %q\n\n", fs.Arg(0))
		usage(stderr)
		return 2
	}
	bi, _ := debug.ReadBuildInfo()
	s := stampFrom(version, bi)
	if *asJSON {
		b, _ := json.Marshal(s)
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	fmt.Fprintln(stdout, s)
	return 0
}

// buildVersion is the version alone, for the CLI's User-Agent and bench
// reports.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return stampFrom(version, bi).Version
}

package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// buildInfo parses the text go version -m prints (the format
// debug.BuildInfo.String writes), so the cases read like real binaries.
func buildInfo(t *testing.T, text string) *debug.BuildInfo {
	t.Helper()
	bi, err := debug.ParseBuildInfo(strings.TrimLeft(text, "\n"))
	if err != nil {
		t.Fatalf("parse build info: %v", err)
	}
	return bi
}

func TestStampFrom(t *testing.T) {
	const head = `
go	go1.26.8
path	github.com/sluice-gw/sluice/cmd/sluice
mod	github.com/sluice-gw/sluice	v0.0.0-20261001120000-a1baf60c0ffe+dirty
build	-trimpath=true
build	CGO_ENABLED=0
build	GOARCH=arm64
build	GOOS=darwin
`
	tests := []struct {
		name      string
		ldVersion string
		info      string // appended to head; "-" for no build information
		want      buildStamp
		line      string
	}{
		{
			name:      "release from a clean checkout",
			ldVersion: "v1.4.0",
			info: head + "build\tvcs=git\nbuild\tvcs.revision=a1baf60c0ffee0000000000000000000000000ab\n" +
				"build\tvcs.time=2026-10-01T12:00:00Z\nbuild\tvcs.modified=false\n",
			want: buildStamp{Version: "v1.4.0", Commit: "a1baf60c0ffee0000000000000000000000000ab", Tree: "clean",
				CommitTime: "2026-10-01T12:00:00Z", Go: runtime.Version(), OS: "darwin", Arch: "arm64"},
			line: "sluice v1.4.0 (commit a1baf60c0ffee0000000000000000000000000ab, clean tree, committed 2026-10-01T12:00:00Z; " + runtime.Version() + ", darwin/arm64)",
		},
		{
			name:      "modified checkout, no -X version: the module's pseudo-version",
			ldVersion: "dev",
			info: head + "build\tvcs=git\nbuild\tvcs.revision=a1baf60c0ffee0000000000000000000000000ab\n" +
				"build\tvcs.time=2026-10-01T12:00:00Z\nbuild\tvcs.modified=true\n",
			want: buildStamp{Version: "v0.0.0-20261001120000-a1baf60c0ffe+dirty", Commit: "a1baf60c0ffee0000000000000000000000000ab",
				Tree: "modified", CommitTime: "2026-10-01T12:00:00Z", Go: runtime.Version(), OS: "darwin", Arch: "arm64"},
			line: "sluice v0.0.0-20261001120000-a1baf60c0ffe+dirty (commit a1baf60c0ffee0000000000000000000000000ab, modified tree, committed 2026-10-01T12:00:00Z; " + runtime.Version() + ", darwin/arm64)",
		},
		{
			name:      "built with -buildvcs=false",
			ldVersion: "dev",
			info:      strings.Replace(head, "v0.0.0-20261001120000-a1baf60c0ffe+dirty", "(devel)", 1),
			want:      buildStamp{Version: "dev", Tree: "unknown", Go: runtime.Version(), OS: "darwin", Arch: "arm64"},
			line:      "sluice dev (commit unknown, unknown tree; " + runtime.Version() + ", darwin/arm64)",
		},
		{
			name:      "no build information",
			ldVersion: "dev",
			info:      "-",
			want:      buildStamp{Version: "dev", Tree: "unknown", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH},
			line:      "sluice dev (commit unknown, unknown tree; " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bi *debug.BuildInfo
			if tt.info != "-" {
				bi = buildInfo(t, tt.info)
			}
			got := stampFrom(tt.ldVersion, bi)
			if got != tt.want {
				t.Errorf("stamp\n got %+v\nwant %+v", got, tt.want)
			}
			if got.String() != tt.line {
				t.Errorf("line\n got %s\nwant %s", got, tt.line)
			}
		})
	}
}

// TestVersionCommand runs the command itself: the line starts with
// "sluice ", --json is one object with every field, mistakes exit 2.
func TestVersionCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("version: exit %d, stderr %s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "sluice ") || !strings.Contains(out.String(), runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("version printed %q", out.String())
	}

	out.Reset()
	if code := run([]string{"version", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("version --json: exit %d, stderr %s", code, errOut.String())
	}
	var fields map[string]any
	if err := json.Unmarshal(out.Bytes(), &fields); err != nil {
		t.Fatalf("version --json printed %q: %v", out.String(), err)
	}
	for _, k := range []string{"version", "commit", "tree", "go", "os", "arch"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("version --json has no %q: %s", k, out.String())
		}
	}
	if tree := fields["tree"]; tree != "clean" && tree != "modified" && tree != "unknown" {
		t.Errorf("tree = %v", tree)
	}

	for _, args := range [][]string{{"version", "--yaml"}, {"version", "extra"}} {
		out.Reset()
		errOut.Reset()
		if code := run(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Usage: sluice version") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and the usage", args, code, errOut.String())
		}
	}
}

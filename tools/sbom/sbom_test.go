package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden: a release binary's build information (as go version -m
// prints it, with an +incompatible version, a module replaced by another
// and one replaced by a directory) gives testdata/sbom.golden.json.
func TestGolden(t *testing.T) {
	text, err := os.ReadFile("testdata/buildinfo.txt")
	if err != nil {
		t.Fatal(err)
	}
	bi, err := debug.ParseBuildInfo(string(text))
	if err != nil {
		t.Fatal(err)
	}
	bi.GoVersion = "go1.26.8" // buildinfo.ReadFile sets it; ParseBuildInfo does not
	got, err := json.MarshalIndent(build(bi, "v1.4.0", "00ff"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "sbom.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("SBOM differs from %s (go test -update to refresh):\n%s", golden, got)
	}
}

func TestPURL(t *testing.T) {
	tests := []struct{ path, version, want string }{
		{"github.com/tidwall/gjson", "v1.20.1", "pkg:golang/github.com/tidwall/gjson@v1.20.1"},
		{"github.com/example/old", "v2.1.0+incompatible", "pkg:golang/github.com/example/old@v2.1.0%2Bincompatible"},
		{"github.com/sluice-gw/sluice", "v0.0.0-20261001120000-a1baf60c0ffe+dirty", "pkg:golang/github.com/sluice-gw/sluice@v0.0.0-20261001120000-a1baf60c0ffe%2Bdirty"},
		{"example.com/a b", "", "pkg:golang/example.com/a%20b"},
	}
	for _, tt := range tests {
		if got := purl(tt.path, tt.version); got != tt.want {
			t.Errorf("purl(%q, %q) = %q, want %q", tt.path, tt.version, got, tt.want)
		}
	}
}

// TestOfRealBinary reads a real Go binary, this test's own, the way make
// release reads the release binaries: every module go version -m would
// list is a component, the application's hash is the file's, and the
// document is the same twice.
func TestOfRealBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sbomOf(exe, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc bom
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" {
		t.Errorf("bomFormat %q specVersion %q", doc.BOMFormat, doc.SpecVersion)
	}
	content, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if h := doc.Metadata.Component.Hashes; len(h) != 1 || h[0].Content != hex.EncodeToString(sum[:]) {
		t.Errorf("application hashes %+v, want the file's SHA-256", h)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information in the test binary")
	}
	refs := map[string]bool{}
	for _, c := range doc.Components {
		refs[c.BOMRef] = true
	}
	if len(doc.Components) != len(bi.Deps) {
		t.Errorf("%d components, the binary links %d modules", len(doc.Components), len(bi.Deps))
	}
	for _, m := range bi.Deps {
		if m.Replace == nil && !refs[purl(m.Path, m.Version)] {
			t.Errorf("module %s@%s is not a component", m.Path, m.Version)
		}
	}
	if len(doc.Dependencies) != 1 || len(doc.Dependencies[0].DependsOn) != len(doc.Components) {
		t.Errorf("dependencies %+v: want the application depending on every component", doc.Dependencies)
	}
	again, err := sbomOf(exe, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, again) {
		t.Error("two SBOMs of the same binary differ")
	}
}

func TestNotAGoBinary(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"testdata/buildinfo.txt"}, &stdout, &stderr); code != 1 || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q; want 1 and nothing written", code, stdout.String())
	}
	if !bytes.Contains(stderr.Bytes(), []byte("read build information")) {
		t.Errorf("stderr %q", stderr.String())
	}
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Errorf("no argument: exit %d, want 2", code)
	}
}

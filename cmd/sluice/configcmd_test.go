package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites golden files under testdata/ instead of comparing with
// them: go test ./cmd/sluice -run Golden -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestConfigCheckGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
		code   int
	}{
		{"broken", []string{"check", "--config", "testdata/config-broken.yaml"}, "testdata/config-check-broken.golden", 2},
		{"ok", []string{"check", "--config", "testdata/config-ok.yaml"}, "testdata/config-check-ok.golden", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cmdConfig(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			got := "-- stdout --\n" + stdout.String() + "-- stderr --\n" + stderr.String()
			if *update {
				if err := os.WriteFile(tt.golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", tt.golden, got, want)
			}
		})
	}
}

func TestConfigCommandLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout ("" means stdout must be empty)
		stderr string // substring of stderr ("" means stderr must be empty)
	}{
		{name: "no subcommand", args: nil, code: 2, stderr: "Usage: sluice config check"},
		{name: "unknown subcommand", args: []string{"lint"}, code: 2, stderr: `unknown subcommand "lint"`},
		{name: "config help", args: []string{"--help"}, code: 0, stdout: "Usage: sluice config check"},
		{name: "check help", args: []string{"check", "--help"}, code: 0, stdout: "-config FILE"},
		{name: "check -h", args: []string{"check", "-h"}, code: 0, stdout: "Usage: sluice config check"},
		{name: "missing flag", args: []string{"check"}, code: 2, stderr: "--config FILE is required"},
		{name: "unknown flag", args: []string{"check", "--nope"}, code: 2, stderr: "flag provided but not defined: --nope"},
		{name: "extra argument", args: []string{"check", "--config", "testdata/config-ok.yaml", "more"}, code: 2, stderr: `unexpected argument "more"`},
		{name: "unreadable file", args: []string{"check", "--config", missing}, code: 1, stderr: "sluice: config: open " + missing},
		{name: "ok", args: []string{"check", "-config=testdata/config-ok.yaml"}, code: 0, stdout: "testdata/config-ok.yaml: ok (1 provider, 1 model)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cmdConfig(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			check := func(stream, got, want string) {
				if want == "" && got != "" {
					t.Errorf("%s = %q, want nothing", stream, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", stream, got, want)
				}
			}
			check("stdout", stdout.String(), tt.stdout)
			check("stderr", stderr.String(), tt.stderr)
		})
	}
}

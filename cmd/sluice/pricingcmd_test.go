package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestPricingGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
		code   int
	}{
		{"list", []string{"list"}, "testdata/pricing-list.golden", 0},
		{"list config", []string{"list", "--config", "testdata/pricing-config.yaml"}, "testdata/pricing-list-config.golden", 0},
		{"check unpriced", []string{"check", "--config", "testdata/pricing-config.yaml"}, "testdata/pricing-check-unpriced.golden", 1},
		{"check ok", []string{"check", "--config", "testdata/config-ok.yaml"}, "testdata/pricing-check-ok.golden", 0},
		{"check broken", []string{"check", "--config", "testdata/pricing-broken.yaml"}, "testdata/pricing-check-broken.golden", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cmdPricing(tt.args, &stdout, &stderr)
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

func TestPricingCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout ("" means stdout must be empty)
		stderr string // substring of stderr ("" means stderr must be empty)
	}{
		{name: "no subcommand", args: nil, code: 2, stderr: "Usage: sluice pricing list"},
		{name: "help", args: []string{"--help"}, code: 0, stdout: "Usage: sluice pricing list"},
		{name: "list help", args: []string{"list", "--help"}, code: 0, stdout: "--config FILE"},
		{name: "check help", args: []string{"check", "--help"}, code: 0, stdout: "sluice pricing check --config FILE"},
		{name: "unknown subcommand", args: []string{"show"}, code: 2, stderr: `unknown subcommand "show"`},
		{name: "check without config", args: []string{"check"}, code: 2, stderr: "--config FILE is required"},
		{name: "unknown flag", args: []string{"list", "--json"}, code: 2, stderr: "flag provided but not defined: --json"},
		{name: "extra argument", args: []string{"list", "gpt-4o"}, code: 2, stderr: `unexpected argument "gpt-4o"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"pricing"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			for _, c := range []struct{ got, want, name string }{{stdout.String(), tt.stdout, "stdout"}, {stderr.String(), tt.stderr, "stderr"}} {
				if c.want == "" && c.got != "" || !strings.Contains(c.got, c.want) {
					t.Errorf("%s = %q, want it to contain %q", c.name, c.got, c.want)
				}
			}
		})
	}
}

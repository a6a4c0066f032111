package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// singleDash finds a flag written -name: DESIGN.md writes flags --name
// everywhere, in help and in errors (issue #15).
var singleDash = regexp.MustCompile(`(^|[\s\[(,"'=])-[A-Za-z]`)

func TestHelpWritesFlagsWithTwoDashes(t *testing.T) {
	for _, args := range [][]string{
		{"serve"}, {"config"}, {"config", "check"}, {"mock"}, {"bench"},
		{"keys"}, {"keys", "create"}, {"keys", "list"}, {"keys", "get"}, {"keys", "update"},
		{"keys", "revoke"}, {"keys", "rotate"}, {"keys", "audit"}, {"logs"}, {"usage"},
		{"teams"}, {"teams", "create"}, {"teams", "list"}, {"teams", "get"}, {"teams", "update"}, {"teams", "delete"},
	} {
		name := strings.Join(args, " ")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append(args, "--help"), &stdout, &stderr); code != 0 {
				t.Fatalf("sluice %s --help: status %d, stderr %q", name, code, stderr.String())
			}
			out := stdout.String()
			if !strings.Contains(out, "Usage: sluice "+args[0]) || !strings.Contains(out, "  --") {
				t.Fatalf("sluice %s --help printed no usage with flags:\n%s", name, out)
			}
			if stderr.Len() > 0 {
				t.Errorf("sluice %s --help also wrote to stderr:\n%s", name, stderr.String())
			}
			for _, line := range strings.Split(out, "\n") {
				if singleDash.MatchString(line) {
					t.Errorf("sluice %s --help writes a flag with one dash: %q", name, line)
				}
			}
		})
	}
}

func TestFlagMistakesWriteFlagsWithTwoDashes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"serve", "--bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"config", "check", "--bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"mock", "--bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"mock", "--ttft"}, "flag needs an argument: --ttft"},
		{[]string{"bench", "--bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"keys", "--bogus", "list"}, "flag provided but not defined: --bogus"},
		{[]string{"keys", "create", "--name", "x", "--rpm", "many"}, `invalid value "many" for flag --rpm`},
		{[]string{"keys", "create", "--json=maybe"}, `invalid boolean value "maybe" for --json`},
		{[]string{"teams", "create", "--end-user-rpm", "x"}, `invalid value "x" for flag --end-user-rpm`},
	} {
		name := strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != 2 {
				t.Fatalf("status %d, want 2; stderr %q", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q, want %q", stderr.String(), tc.want)
			}
			for _, line := range strings.Split(stderr.String(), "\n") {
				if singleDash.MatchString(line) {
					t.Errorf("a flag with one dash: %q", line)
				}
			}
		})
	}
}

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMakeRunSaysItIsBuilding: on a fresh machine `make run` spends minutes
// in `go build` with nothing to show for it but the command, so it says it
// is building first (issue #15). The message must not start with "curl":
// the line `make run` prints once the gateway is ready is the only one that
// does (DESIGN.md). make -n prints the recipes without running them.
func TestMakeRunSaysItIsBuilding(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	for _, target := range []string{"run", "build"} {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command("make", "-n", "-C", "../..", "--no-print-directory", target)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n %s: %v\n%s", target, err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			say, build := -1, -1
			for i, l := range lines {
				switch {
				case strings.HasPrefix(l, "echo ") && strings.Contains(l, "building sluice (first build takes a few minutes)"):
					say = i
				case strings.Contains(l, " build ") && strings.Contains(l, "./cmd/sluice") && build < 0:
					build = i
				}
				if strings.HasPrefix(strings.Trim(strings.TrimPrefix(l, "echo "), `'"`), "curl") {
					t.Errorf("a line before the gateway is ready starts with curl: %q", l)
				}
			}
			if say < 0 || build < 0 || say > build {
				t.Fatalf("make %s does not say it is building before go build:\n%s", target, out)
			}
		})
	}
}

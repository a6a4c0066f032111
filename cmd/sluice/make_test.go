package main

import (
	"os"
	"os/exec"
	"path/filepath"
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

// TestReleaseRefuses: scripts/release.sh (make release) builds nothing
// from a tree with changes not committed unless ALLOW_DIRTY=1, nor from a
// git worktree, whose binaries go build would not stamp with the commit
// (docs/releases.md). The script runs from a copy in a scratch repository;
// both refusals come before any build.
func TestReleaseRefuses(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	script, err := os.ReadFile("../../scripts/release.sh")
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "repo")
	git := func(dir string, args ...string) {
		t.Helper()
		args = append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(repo, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "scripts", "release.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	git(repo, "init", "-q")
	git(repo, "add", ".")
	git(repo, "commit", "-q", "-m", "release script")
	if err := os.WriteFile(filepath.Join(repo, "uncommitted.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	worktree := filepath.Join(filepath.Dir(repo), "worktree")
	git(repo, "worktree", "add", "-q", "--detach", worktree)

	tests := []struct {
		name, dir, allowDirty string
		want                  string
		refused               bool // stops before making dist/
	}{
		{"dirty tree", repo, "", "changes not committed", true},
		{"git worktree", worktree, "1", ".git is not a directory", true},
		// Allowed, it goes on to build (with GO=false, which fails) but
		// says first that this is no release.
		{"dirty tree allowed", repo, "1", "building from a modified tree; this is not a release", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(tt.dir, "scripts", "release.sh"))
			cmd.Env = append(os.Environ(), "PLATFORMS=linux/amd64", "GO=false", "DIST=dist", "ALLOW_DIRTY="+tt.allowDirty)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("release.sh: %v, output:\n%s\nwant a refusal saying %q", err, out, tt.want)
			}
			if _, err := os.Stat(filepath.Join(tt.dir, "dist")); err == nil && tt.refused {
				t.Error("release.sh made dist/ before refusing")
			}
		})
	}
}

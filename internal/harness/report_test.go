package harness

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatusLine(t *testing.T) {
	got := StatusLine(map[string]int{"200": 800, "502": 3, "refused": 3, "504": 10})
	if want := "200×800 504×10 502×3 refused×3"; got != want {
		t.Errorf("statusLine = %q, want %q", got, want)
	}
}

func TestCheckLine(t *testing.T) {
	if got := (Check{Name: "rows", OK: true, Detail: "0 lost"}).Line(); got != "ok   rows: 0 lost" {
		t.Errorf("Line = %q", got)
	}
	if got := (Check{Name: "rows", Detail: "3 lost"}).Line(); got != "FAIL rows: 3 lost" {
		t.Errorf("Line = %q", got)
	}
}

func TestSaveResults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var stdout strings.Builder
	err := SaveResults("tool", dir, &stdout, "the table\n", "r.json", map[string]int{"n": 1}, File{Name: "t.txt", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nthe table\n\ntool: results in " + dir + " (r.json, t.txt, logs/)\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	for name, want := range map[string]string{"r.json": "{\n  \"n\": 1\n}\n", "t.txt": "x"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", name, b, err, want)
		}
	}
}

func TestParseFlagsAndVerdict(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		ok     bool
	}{
		{nil, 0, true},
		{[]string{"-keep"}, 0, true},
		{[]string{"-h"}, 0, false},
		{[]string{"-nope"}, 2, false},
		{[]string{"extra"}, 2, false},
	} {
		fs := flag.NewFlagSet("tool", flag.ContinueOnError)
		var bin string
		var keep bool
		DeploymentFlags(fs, &bin, &keep)
		var stderr strings.Builder
		fs.SetOutput(&stderr)
		if status, ok := ParseFlags(fs, tc.args, &stderr); status != tc.status || ok != tc.ok {
			t.Errorf("%v: %d %v, want %d %v", tc.args, status, ok, tc.status, tc.ok)
		}
	}
	var stdout, stderr strings.Builder
	if got := Verdict("tool", &stdout, &stderr, false, []string{"FAILED: a: b"}, "fine"); got != 1 || stderr.String() != "tool: FAILED: a: b\n" || stdout.Len() != 0 {
		t.Errorf("failed verdict: %d %q %q", got, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if got := Verdict("tool", &stdout, &stderr, true, nil, "fine"); got != 0 || stdout.String() != "tool: fine\n" || stderr.Len() != 0 {
		t.Errorf("verdict: %d %q %q", got, stdout.String(), stderr.String())
	}
}

package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
)

// What the tools' reports share: where the run happened, from which
// commit, and the pieces of their verdicts.

// Machine is the machine a run happened on.
type Machine struct {
	CPUs   int    `json:"cpus"`
	Kernel string `json:"kernel,omitempty"`
}

// ThisMachine describes the machine this process runs on.
func ThisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), Kernel: kernel()}
}

// kernel is the running kernel's release ("" when uname fails).
func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// GitDescribe is `git describe --always --dirty` of the tree at root, ""
// when git cannot say.
func GitDescribe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ModuleRoot finds the directory holding go.mod, from the working
// directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the Sluice tree")
		}
		dir = parent
	}
}

// Check is one bound of a verdict: what it is, whether it held, and the
// numbers.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// StatusLine is the status counts, most frequent first: "200×812 502×3".
func StatusLine(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// Round1 rounds v to one decimal, as the reports print seconds.
func Round1(v float64) float64 { return math.Round(v*10) / 10 }

// Line is the check as the tools print it: "ok   NAME: DETAIL" or
// "FAIL NAME: DETAIL".
func (c Check) Line() string {
	mark := "ok  "
	if !c.OK {
		mark = "FAIL"
	}
	return mark + " " + c.Name + ": " + c.Detail
}

// File is a file of a run's results.
type File struct {
	Name string
	Data []byte
}

// SaveResults prints text to stdout after a blank line, saves in dir
// (made when missing) v as indented JSON named jsonName and then files,
// and last says where they are: "TOOL: results in DIR (NAMES, logs/)".
func SaveResults(tool, dir string, stdout io.Writer, text, jsonName string, v any, files ...File) error {
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, text)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, jsonName), append(j, '\n'), 0o644); err != nil {
		return err
	}
	names := []string{jsonName}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
		names = append(names, f.Name)
	}
	fmt.Fprintf(stdout, "\n%s: results in %s (%s, logs/)\n", tool, dir, strings.Join(names, ", "))
	return nil
}

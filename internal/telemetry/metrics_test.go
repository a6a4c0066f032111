package telemetry

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs (run go test -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestMetricsGolden pins the metric families the pipeline registers:
// names, types, help and every label set (bounded, pre-created).
func TestMetricsGolden(t *testing.T) {
	reg := prometheus.NewRegistry()
	newTestPipeline(t, Config{Registerer: reg}, newMemSink())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		fmt.Fprintf(&b, "%s %s\n  help: %s\n", mf.GetName(), strings.ToLower(mf.GetType().String()), mf.GetHelp())
		var series []string
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			series = append(series, "  {"+strings.Join(ls, ",")+"}")
		}
		sort.Strings(series)
		b.WriteString(strings.Join(series, "\n") + "\n")
	}
	golden(t, "metrics.golden", []byte(b.String()))

	// A second pipeline on the same registry shares the series.
	if _, err := New(Config{SpoolDir: t.TempDir(), Registerer: reg}, newMemSink()); err != nil {
		t.Fatalf("second pipeline on one registry: %v", err)
	}
}

package gateway_test

import (
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestMetricNames pins the name, type and label names of every series
// Sluice exports (the Go runtime's and the process's aside) after traffic
// on every tier's features: guardrails, limits, request logging. A change
// to the set is a change to the public contract and shows up here.
func TestMetricNames(t *testing.T) {
	s := newStackYAML(t, nil, logsConfig)
	s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "mail jane@example.com"), bearer("sk-plain"))
	s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "ssn 123-45-6789"), bearer("sk-plain"))
	s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
	s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "hi"), bearer("sk-wrong"))
	s.post(t, "/v1/chat/completions", userMsg("split", "hi"), bearer("sk-plain")) // nothing listens there
	waitLogs(t, s, "", 5)

	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := metricShapes(string(b))

	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("metric families differ from %s (run with -update if the change is meant):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

// metricShapes renders "name type label,label,..." per family, sorted.
func metricShapes(exposition string) string {
	types := map[string]string{}
	labels := map[string]map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			types[name] = typ
			labels[name] = map[string]bool{}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		fam := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && types[base] == "histogram" {
				fam = base
			}
		}
		if strings.HasPrefix(rest, "{") {
			for _, kv := range strings.Split(rest[1:strings.IndexByte(rest, '}')], ",") {
				if k, _, ok := strings.Cut(kv, "="); ok && k != "le" {
					if labels[fam] == nil {
						labels[fam] = map[string]bool{}
					}
					labels[fam][k] = true
				}
			}
		}
	}
	var out []string
	for name, typ := range types {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		var ls []string
		for l := range labels[name] {
			ls = append(ls, l)
		}
		slices.Sort(ls)
		out = append(out, name+" "+typ+" "+strings.Join(ls, ","))
	}
	slices.Sort(out)
	return strings.Join(out, "\n") + "\n"
}

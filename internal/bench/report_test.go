package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// update rewrites the golden files under testdata/: go test ./internal/bench -run Golden -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func fptr(v float64) *float64 { return &v }

// syntheticStep builds a step with round numbers derived from base (ms).
func syntheticStep(target string, rate int, base float64, cpu *float64) Step {
	return Step{
		Target: target, Rate: rate, WindowS: 5, Scheduled: int64(rate * 5), Sent: int64(rate * 5), OK: int64(rate * 5),
		AchievedRPS: float64(rate), P50Ms: base, P90Ms: base * 1.5, P95Ms: base * 2, P99Ms: base * 4, P999Ms: base * 8,
		MaxMs: base * 20, ErrorsByKind: map[string]int64{}, CPUUsPerReq: cpu, GenCPUUsPerReq: 9.5,
		SendLagP50Ms: 0.07, SendLagP99Ms: 0.12, SendLagMaxMs: 0.9, Conns: 8,
	}
}

func syntheticResults(stream bool) *Results {
	res := &Results{
		Version: SchemaVersion,
		Machine: Machine{Hostname: "bench-host", OS: "linux", Arch: "amd64", Kernel: "6.1.0", CPUModel: "Test CPU @ 3.0GHz",
			CPUs: 2, GOMAXPROCS: 2, MemTotalMB: 24000, GoVersion: "go1.26.8", SluiceVersion: "v0.1.0-test",
			LoadAvgStart: [3]float64{0.5, 0.4, 0.3}, LoadAvgEnd: [3]float64{1.25, 0.6, 0.4},
			Started:  time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC),
			Finished: time.Date(2026, 11, 24, 22, 3, 0, 0, time.UTC)},
		Settings: Settings{Rates: []int{500, 1000, 2000}, StepS: 5, WarmupS: 2, SLOMs: 50, MaxErrorRate: 0.001,
			StopErrorRate: 0.5, TimeoutS: 10, MaxConns: 4096, Stream: stream, Profile: "throughput",
			Targets: []TargetRecord{
				{Name: Baseline, URL: "http://127.0.0.1:9000", Model: DefaultModel, PIDs: []int{100}},
				{Name: "l0", URL: "http://127.0.0.1:8080", Model: DefaultModel, HeaderNames: []string{"Authorization"}, PIDs: []int{200}},
				{Name: "nginx", URL: "http://127.0.0.1:9300", Model: DefaultModel},
			}},
		Knee:     Knee{SLOMs: 50, MaxErrorRate: 0.001, MinAchieved: minAchieved},
		Warnings: []string{"nginx at 2000/s: the generator fell behind its schedule (sent 1500/s); this step does not measure the target at its rate"},
	}
	for i, rate := range []int{500, 1000, 2000} {
		f := float64(i + 1)
		d := syntheticStep(Baseline, rate, 0.2*f, fptr(6+f))
		l := syntheticStep("l0", rate, 0.3*f, fptr(20+f))
		n := syntheticStep("nginx", rate, 0.25*f, nil)
		if rate == 2000 {
			// l0 misses the SLO at 2000/s; nginx errs and falls behind.
			l.P99Ms, l.P999Ms, l.MaxMs = 75, 90, 120
			n.Errors, n.ErrorsByKind = 30, map[string]int64{KindHTTP5xx: 20, KindReset: 10}
			n.ErrorRate = 0.003
			n.AchievedRPS = 1500
			n.OK -= 30
		}
		if stream {
			for _, s := range []*Step{&d, &l, &n} {
				s.Stream = &StreamStats{TTFTP50Ms: s.P50Ms / 2, TTFTP90Ms: s.P90Ms / 2, TTFTP99Ms: s.P99Ms / 2, TTFTMaxMs: s.MaxMs / 2,
					ITLP50Ms: 0.01 * f, ITLP90Ms: 0.02 * f, ITLP99Ms: 0.05 * f, ITLMaxMs: 1.5, Tokens: s.OK * 16, TokensPerS: 1600 / f}
			}
		}
		res.Steps = append(res.Steps, d, l, n)
	}
	computeOverhead(res.Steps)
	computeKnee(&res.Knee, res.Steps)
	return res
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended)\ngot:\n%s", path, got)
	}
}

func TestReportGolden(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := "report"
		if stream {
			name = "report-stream"
		}
		t.Run(name, func(t *testing.T) {
			var md bytes.Buffer
			if err := WriteMarkdown(&md, syntheticResults(stream)); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".md"), md.Bytes())
		})
	}
}

func TestOverheadAndKnee(t *testing.T) {
	res := syntheticResults(false)
	byKey := map[string]Step{}
	for _, s := range res.Steps {
		byKey[s.Target+"/"+string(rune('0'+s.Rate/500))] = s
	}
	l0 := byKey["l0/2"] // 1000/s: l0 p50 0.6, direct 0.4; p99 2.4 vs 1.6
	if l0.OverheadP50Ms == nil || *l0.OverheadP50Ms != 0.2 || *l0.OverheadP99Ms != 0.8 {
		t.Errorf("l0 overhead at 1000/s: %v %v, want 0.2 and 0.8", deref(l0.OverheadP50Ms), deref(l0.OverheadP99Ms))
	}
	if d := byKey["direct/2"]; d.OverheadP50Ms != nil || d.OverheadP99Ms != nil {
		t.Error("the baseline has an overhead")
	}
	want := map[string]any{Baseline: 2000, "l0": 1000, "nginx": 1000}
	for k, w := range want {
		if got := res.Knee.Targets[k]; got == nil || *got != w {
			t.Errorf("knee of %s = %v, want %v", k, deref2(got), w)
		}
	}

	// A faster, negative overhead is kept as it is; a missing baseline step gives null.
	steps := []Step{syntheticStep(Baseline, 100, 1, nil), syntheticStep("gw", 100, 0.9, nil), syntheticStep("gw", 200, 1, nil)}
	computeOverhead(steps)
	if *steps[1].OverheadP50Ms != -0.1 || steps[2].OverheadP50Ms != nil {
		t.Errorf("overheads %v %v", deref(steps[1].OverheadP50Ms), deref(steps[2].OverheadP50Ms))
	}

	// The knee is the top of the unbroken run of passing steps: a pass above a failure
	// does not count, and a failing first step gives null.
	k := Knee{SLOMs: 50, MaxErrorRate: 0.001, MinAchieved: minAchieved}
	a, b, c := syntheticStep("x", 100, 1, nil), syntheticStep("x", 200, 20, nil), syntheticStep("x", 400, 1, nil)
	e := syntheticStep("y", 100, 1, nil)
	e.ErrorRate = 0.001 // not under 0.1 %
	computeKnee(&k, []Step{c, a, b, e})
	if got := k.Targets["x"]; got == nil || *got != 100 {
		t.Errorf("knee of x = %v, want 100 (200/s has p99 80 ms)", deref2(got))
	}
	if k.Targets["y"] != nil {
		t.Errorf("knee of y = %v, want null", deref2(k.Targets["y"]))
	}
}

func deref2(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	res := syntheticResults(true)
	paths, err := Write(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if got := strings.Join(names, " "); got != "results.json report.md report.html latency.svg overhead.svg cpu.svg ttft.svg" {
		t.Errorf("wrote %s", got)
	}
	// results.json has the contract's keys, with null where the contract says so.
	b, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "machine", "steps", "knee"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("results.json lacks %q", k)
		}
	}
	step := raw["steps"].([]any)[0].(map[string]any)
	for _, k := range []string{"target", "rate", "achieved_rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms",
		"errors", "errors_by_kind", "error_rate", "overhead_p50_ms", "overhead_p99_ms", "cpu_us_per_req", "peak_rss_mb"} {
		if _, ok := step[k]; !ok {
			t.Errorf("step lacks %q", k)
		}
	}
	if step["target"] != Baseline || step["overhead_p50_ms"] != nil || step["peak_rss_mb"] != nil {
		t.Errorf("baseline step: %v", step)
	}
	var back Results
	if err := json.Unmarshal(b, &back); err != nil || len(back.Steps) != 9 {
		t.Fatalf("round trip: %v, %d steps", err, len(back.Steps))
	}
	// The HTML page is self-contained: charts inline, nothing fetched.
	page, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	for _, want := range []string{"<svg", "Latency vs rate", "<table>", "l0", "fell behind"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "src=", "href=", "@import"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("report.html contains %q: not self-contained", bad)
		}
	}
	for _, name := range names[3:] {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		checkXML(t, name, b)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "latency.svg"))
	if n := bytes.Count(svg, []byte("<polyline")); n != 6 {
		t.Errorf("latency.svg has %d lines, want 6 (p50 and p99 of 3 series)", n)
	}
}

// checkXML fails unless b is well-formed XML with no attribute given twice on one
// element (which SVG renderers reject and encoding/xml does not check).
func checkXML(t *testing.T, name string, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			seen := map[string]bool{}
			for _, a := range se.Attr {
				if seen[a.Name.Local] {
					t.Fatalf("%s: <%s> has attribute %s twice", name, se.Name.Local, a.Name.Local)
				}
				seen[a.Name.Local] = true
			}
		}
	}
}

func TestKneeAllowsTheProfileBackendLatency(t *testing.T) {
	k := Knee{SLOMs: 50, BackendMs: 500, MaxErrorRate: 0.001, MinAchieved: minAchieved}
	ok, slow := syntheticStep("x", 100, 130, nil), syntheticStep("x", 200, 140, nil) // p99 520 and 560 ms
	computeKnee(&k, []Step{ok, slow})
	if got := k.Targets["x"]; got == nil || *got != 100 {
		t.Errorf("knee %v, want 100 (p99 520 ms ≤ 500 + 50)", deref2(got))
	}
}

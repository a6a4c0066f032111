package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/bench"
)

func TestBenchFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // substring of the error; "" means success
	}{
		{"ok", []string{"--direct", "http://127.0.0.1:9000", "--target", "l0=http://127.0.0.1:8080",
			"--header", "l0=Authorization: Bearer sk-bench-0001", "--model", "l0=openai/gpt-4o-mini",
			"--pid", "l0=12,13", "--pid", "direct=7", "--rates", "seed", "--slo", "25", "--warmup", "0"}, ""},
		{"no direct", []string{"--target", "a=http://x:1"}, "--direct URL is required"},
		{"bad target", []string{"--direct", "http://x:1", "--target", "nourl"}, "want NAME=URL"},
		{"dup target", []string{"--direct", "http://x:1", "--target", "direct=http://x:2"}, "is taken"},
		{"unknown header target", []string{"--direct", "http://x:1", "--header", "gw=A:b"}, `no target named "gw"`},
		{"header without colon", []string{"--direct", "http://x:1", "--header", "direct=Ab"}, "Header-Name:value"},
		{"bad pid", []string{"--direct", "http://x:1", "--pid", "direct=x"}, "not a process id"},
		{"bad rates", []string{"--direct", "http://x:1", "--rates", "100,fast"}, "not a positive whole number"},
		{"bad slo", []string{"--direct", "http://x:1", "--slo", "-3ms"}, "--slo"},
		{"bad stop", []string{"--direct", "http://x:1", "--stop-error-rate", "2"}, "--stop-error-rate"},
		{"extra arg", []string{"--direct", "http://x:1", "extra"}, "unexpected argument"},
		{"unknown flag", []string{"--direct", "http://x:1", "--turbo"}, "turbo"},
		{"rates and concurrency", []string{"--direct", "http://x:1", "--rates", "5", "--concurrency", "5"}, "exclude each other"},
		{"bad concurrency", []string{"--direct", "http://x:1", "--concurrency", "seed"}, "requests in flight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, out, preflight, err := parseBenchFlags(tt.args)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !preflight || !strings.HasPrefix(filepath.Base(out), "sluice-bench-") {
				t.Errorf("preflight %v out %q", preflight, out)
			}
			if !slices.Equal(cfg.Rates, bench.SeedRates()) || cfg.SLO != 25*time.Millisecond || cfg.Warmup >= 0 {
				t.Errorf("rates %v slo %v warmup %v", cfg.Rates, cfg.SLO, cfg.Warmup)
			}
			l0 := cfg.Targets[1]
			if l0.Name != "l0" || l0.Model != "openai/gpt-4o-mini" || !slices.Equal(l0.PIDs, []int{12, 13}) ||
				len(l0.Headers) != 1 || l0.Headers[0] != (bench.Header{Name: "Authorization", Value: "Bearer sk-bench-0001"}) {
				t.Errorf("l0 = %+v", l0)
			}
			if d := cfg.Targets[0]; d.Name != bench.Baseline || !slices.Equal(d.PIDs, []int{7}) {
				t.Errorf("direct = %+v", d)
			}
		})
	}
}

// serveMock is startMock as a URL root.
func serveMock(t *testing.T) string {
	t.Helper()
	return "http://" + startMock(t)
}

func TestBenchConcurrencyFlag(t *testing.T) {
	cfg, _, _, err := parseBenchFlags([]string{"--direct", "http://x:1", "--concurrency", "1,8,64", "--stream"})
	if err != nil || !cfg.Closed || !slices.Equal(cfg.Rates, []int{1, 8, 64}) || !cfg.Stream {
		t.Errorf("cfg %+v, err %v", cfg, err)
	}
}

func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load")
	}
	direct, other := serveMock(t), serveMock(t)
	out := filepath.Join(t.TempDir(), "report")
	var stdout, stderr bytes.Buffer
	code := runBench(context.Background(), []string{"--direct", direct, "--target", "m2=" + other,
		"--rates", "100,200", "--step", "300ms", "--warmup", "100ms", "--out", out, "--slo", "5s",
		"--pid", "m2=" + strconv.Itoa(os.Getpid())}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"Report: " + filepath.Join(out, "report.html"), "direct", "m2", "200/s"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	// Not a terminal: one plain line per finished step, no carriage returns.
	if n := strings.Count(stderr.String(), "\n"); n != 4 || strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress on a pipe:\n%q", stderr.String())
	}
	for _, f := range []string{"results.json", "report.md", "report.html", "latency.svg", "overhead.svg", "cpu.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	var res bench.Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 4 || res.Settings.Args[1] != "bench" || res.Machine.SluiceVersion == "" {
		t.Errorf("results: %d steps, args %v, version %q", len(res.Steps), res.Settings.Args, res.Machine.SluiceVersion)
	}
}

func TestBenchPreflightRefusesFailingTarget(t *testing.T) {
	direct := serveMock(t)
	var stdout, stderr bytes.Buffer
	// A target that answers 401 would be measured on its cheap error path.
	code := runBench(context.Background(), []string{"--direct", direct, "--target", "bad=" + direct,
		"--header", "bad=X-Mock-Status:401", "--rates", "10", "--step", "200ms", "--out", t.TempDir()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `target "bad"`) || !strings.Contains(stderr.String(), "status 401") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
	// Nothing listening at all.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	code = runBench(context.Background(), []string{"--direct", "http://" + addr, "--out", t.TempDir()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "refused") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

func TestBenchHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "Usage: sluice bench") {
		t.Errorf("exit %d, stdout %q", code, stdout.String())
	}
}

func TestBenchProgressOnTerminal(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, tty: true}
	p.event(bench.Event{Kind: bench.EventStepStart, Index: 1, Total: 2, Target: "l0", Rate: 500})
	p.event(bench.Event{Kind: bench.EventTick, Index: 1, Total: 2, Target: "l0", Rate: 500, Phase: bench.PhaseMeasure,
		Elapsed: 1500 * time.Millisecond, Window: 5 * time.Second, AchievedRPS: 499, P99: 1234 * time.Microsecond})
	p.event(bench.Event{Kind: bench.EventStepDone, Index: 1, Total: 2, Target: "l0", Rate: 500,
		Step: &bench.Step{AchievedRPS: 500, P50Ms: 0.4, P99Ms: 1.2}})
	got := b.String()
	for _, want := range []string{"\r\033[K[1/2] l0 at 500/s: warming up", "measure 1.5/5s, sent 499/s, p99 1.23 ms",
		"\r\033[K[1/2] l0 at 500/s: sent 500/s, p50 0.400 ms, p99 1.200 ms, errors 0 (0.00%)\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, got)
		}
	}
}

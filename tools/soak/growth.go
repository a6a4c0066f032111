package main

import (
	"fmt"
	"math"
	"slices"
)

// sample is one round of measurements, T seconds after the soak load
// started.
type sample struct {
	T         float64      `json:"t_s"`
	Instances []instSample `json:"instances"`
	// DBRows counts the soak's rows in request_logs (-1: the database did
	// not answer, e.g. during an outage).
	DBRows int64 `json:"db_rows"`
	// Answered counts the soak's requests the clients have seen finished
	// so far (whatever their status).
	Answered int64 `json:"answered"`
	// Load1 is the machine's 1-minute load average (/proc/loadavg): what
	// else ran on it shows here.
	Load1 float64 `json:"load1"`
}

// instSample is one instance's resources. When Err is set the instance
// could not be read and the numbers are not used.
type instSample struct {
	RSSBytes   int64 `json:"rss_bytes"`
	Goroutines int   `json:"goroutines"`
	FDs        int   `json:"fds"`
	SpoolBytes int64 `json:"spool_bytes"`
	Served     int64 `json:"requests_served"` // sluice_requests_total, every label
	// CPUSeconds (process_cpu_seconds_total) and the request-duration
	// histogram's sum and count (gen_ai_server_request_duration_seconds),
	// for CPU use and mean request time between samples.
	CPUSeconds float64 `json:"cpu_s"`
	DurSum     float64 `json:"duration_sum_s"`
	DurCount   int64   `json:"duration_count"`
	// FDKinds sorts FDs by what they lead to (fdkinds.go).
	FDKinds map[string]int `json:"fd_kinds,omitempty"`
	Err     string         `json:"err,omitempty"`
}

// metric is one resource the growth rule applies to.
type metric struct {
	Name string
	Get  func(instSample) float64
	// Allowance is how far the last window's median may exceed the
	// first's even past maxGrowth (see poolAllowance).
	Allowance float64
}

// poolAllowance: goroutines and descriptors are small counts (tens) that
// follow the connection pools. A moment of higher concurrency (a stall of
// the machine, a burst) opens connections — each a descriptor and one or
// two goroutines in the instance — which close only after 30 s (the
// load client's idle timeout) to 90 s (an upstream connection's) without
// use, and a database pool keeps a connection it opened for 30 minutes.
// So a few more of them in the last window is not a leak; 5 % of 40 would
// be two connections. A leak grows with the requests or the faults, far
// past this.
const poolAllowance = 10

// growthMetrics are the resources that must not grow.
var growthMetrics = []metric{
	{"rss_bytes", func(s instSample) float64 { return float64(s.RSSBytes) }, 0},
	{"goroutines", func(s instSample) float64 { return float64(s.Goroutines) }, poolAllowance},
	{"fds", func(s instSample) float64 { return float64(s.FDs) }, poolAllowance},
}

// maxGrowth is the growth rule: the last window's median may exceed the
// first window's by at most this fraction (and the metric's allowance).
const maxGrowth = 0.05

// growth is the rule applied to one metric of one instance.
type growth struct {
	Instance    string  `json:"instance"`
	Metric      string  `json:"metric"`
	FirstMedian float64 `json:"first_median"`
	LastMedian  float64 `json:"last_median"`
	FirstN      int     `json:"first_samples"`
	LastN       int     `json:"last_samples"`
	// Growth is (last − first) / first; 0 when there was nothing to
	// compare.
	Growth    float64 `json:"growth"`
	Limit     float64 `json:"limit"`
	Allowance float64 `json:"allowance,omitempty"` // absolute, see poolAllowance
	OK        bool    `json:"ok"`
	Detail    string  `json:"detail,omitempty"`
	// ByKind, for descriptors, is each kind's median in the first and
	// the last window.
	ByKind map[string][2]float64 `json:"by_kind,omitempty"`
}

// minWindowSamples is how many readable samples each window needs for a
// median to mean something.
const minWindowSamples = 3

// computeGrowth applies the rule to every metric of every instance: the
// median of the samples in p's last window against the median of those
// in its first window.
func computeGrowth(p plan, names []string, samples []sample) []growth {
	var out []growth
	for i, name := range names {
		for _, m := range growthMetrics {
			var first, last []float64
			for _, s := range samples {
				if i >= len(s.Instances) || s.Instances[i].Err != "" {
					continue
				}
				switch p.window(secs(s.T)) {
				case "first":
					first = append(first, m.Get(s.Instances[i]))
				case "last":
					last = append(last, m.Get(s.Instances[i]))
				}
			}
			g := judge(name, m, first, last)
			if m.Name == "fds" {
				g.ByKind = fdKindMedians(p, i, samples)
			}
			out = append(out, g)
		}
	}
	return out
}

// fdKindMedians is the median of each kind of descriptor of instance i in
// the first and the last window.
func fdKindMedians(p plan, i int, samples []sample) map[string][2]float64 {
	first, last := map[string][]float64{}, map[string][]float64{}
	kinds := map[string]bool{}
	var nf, nl int
	for _, s := range samples {
		if i >= len(s.Instances) || s.Instances[i].Err != "" || s.Instances[i].FDKinds == nil {
			continue
		}
		w := p.window(secs(s.T))
		switch w {
		case "first":
			nf++
		case "last":
			nl++
		default:
			continue
		}
		for k := range s.Instances[i].FDKinds {
			kinds[k] = true
		}
	}
	if nf == 0 || nl == 0 {
		return nil
	}
	for _, s := range samples {
		if i >= len(s.Instances) || s.Instances[i].Err != "" || s.Instances[i].FDKinds == nil {
			continue
		}
		w := p.window(secs(s.T))
		for k := range kinds {
			v := float64(s.Instances[i].FDKinds[k]) // absent: 0
			switch w {
			case "first":
				first[k] = append(first[k], v)
			case "last":
				last[k] = append(last[k], v)
			}
		}
	}
	out := map[string][2]float64{}
	for k := range kinds {
		out[k] = [2]float64{median(first[k]), median(last[k])}
	}
	return out
}

// judge compares the two windows of one series of metric m.
func judge(instance string, m metric, first, last []float64) growth {
	g := growth{Instance: instance, Metric: m.Name, FirstN: len(first), LastN: len(last), Limit: maxGrowth, Allowance: m.Allowance}
	if len(first) < minWindowSamples || len(last) < minWindowSamples {
		g.Detail = fmt.Sprintf("too few samples to compare (%d and %d, need %d each)", len(first), len(last), minWindowSamples)
		return g
	}
	g.FirstMedian, g.LastMedian = median(first), median(last)
	if g.FirstMedian <= 0 {
		g.Detail = "first window's median is not positive"
		return g
	}
	g.Growth = (g.LastMedian - g.FirstMedian) / g.FirstMedian
	g.OK = g.Growth <= maxGrowth || g.LastMedian-g.FirstMedian <= m.Allowance
	return g
}

// median of v (v is reordered); NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

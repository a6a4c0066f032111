package main

import (
	"fmt"
	"io"
	"math"
)

// Rates between samples: what an instance did from one readable sample
// to the next, placed at the later one's time.
var (
	servedRate = func(a, b instSample, dt float64) (float64, bool) {
		return float64(b.Served-a.Served) / dt, b.Served >= a.Served
	}
	cpuCores = func(a, b instSample, dt float64) (float64, bool) {
		return (b.CPUSeconds - a.CPUSeconds) / dt, b.CPUSeconds >= a.CPUSeconds
	}
	meanMs = func(a, b instSample, _ float64) (float64, bool) {
		n := b.DurCount - a.DurCount
		return 1000 * (b.DurSum - a.DurSum) / float64(n), n > 0
	}
)

// between applies f to every pair of consecutive readable samples of
// instance i.
func between(samples []sample, i int, f func(a, b instSample, dt float64) (float64, bool)) (ts, ys []float64) {
	var prev *sample
	for k := range samples {
		s := &samples[k]
		if i >= len(s.Instances) || s.Instances[i].Err != "" {
			prev = nil
			continue
		}
		if prev != nil && s.T > prev.T {
			if y, ok := f(prev.Instances[i], s.Instances[i], s.T-prev.T); ok {
				ts, ys = append(ts, s.T), append(ys, y)
			}
		}
		prev = s
	}
	return ts, ys
}

// windowContext is what else differed between the two windows: the
// machine's load, and per instance the requests served, the CPU used and
// the mean request time, each a median over the window. Pools follow
// concurrency, which follows how busy the machine is; these numbers say
// whether the windows were alike.
type windowContext struct {
	Load1     [2]float64            `json:"load1"`
	ServedRPS map[string][2]float64 `json:"served_rps"`
	CPUCores  map[string][2]float64 `json:"cpu_cores"`
	MeanMs    map[string][2]float64 `json:"mean_request_ms"`
}

func contextOf(p plan, names []string, samples []sample) windowContext {
	split := func(ts, ys []float64) [2]float64 {
		var first, last []float64
		for k, t := range ts {
			switch p.window(secs(t)) {
			case "first":
				first = append(first, ys[k])
			case "last":
				last = append(last, ys[k])
			}
		}
		r2 := func(v float64) float64 { return math.Round(v*100) / 100 }
		return [2]float64{r2(median(first)), r2(median(last))}
	}
	var ts, load []float64
	for _, s := range samples {
		if s.Load1 >= 0 {
			ts, load = append(ts, s.T), append(load, s.Load1)
		}
	}
	c := windowContext{Load1: split(ts, load), ServedRPS: map[string][2]float64{},
		CPUCores: map[string][2]float64{}, MeanMs: map[string][2]float64{}}
	for i, n := range names {
		c.ServedRPS[n] = split(between(samples, i, servedRate))
		c.CPUCores[n] = split(between(samples, i, cpuCores))
		c.MeanMs[n] = split(between(samples, i, meanMs))
	}
	// JSON has no NaN: a window without a value reads -1.
	fix := func(v [2]float64) [2]float64 {
		for k := range v {
			if math.IsNaN(v[k]) {
				v[k] = -1
			}
		}
		return v
	}
	c.Load1 = fix(c.Load1)
	for _, m := range []map[string][2]float64{c.ServedRPS, c.CPUCores, c.MeanMs} {
		for k, v := range m {
			m[k] = fix(v)
		}
	}
	return c
}

// write prints the context, one line per quantity.
func (c windowContext) write(w io.Writer, names []string) {
	fmt.Fprintf(w, "windows (first → last, medians): machine load %g → %g", c.Load1[0], c.Load1[1])
	for _, n := range names {
		fmt.Fprintf(w, "; %s %g → %g req/s, %g → %g cores, %g → %g ms per request", n,
			c.ServedRPS[n][0], c.ServedRPS[n][1], c.CPUCores[n][0], c.CPUCores[n][1], c.MeanMs[n][0], c.MeanMs[n][1])
	}
	fmt.Fprintln(w)
}

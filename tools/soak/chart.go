package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// soak.svg: one small-multiples chart of every sample over time, one
// panel per quantity, one line per instance. The warm-up is shaded grey,
// the two windows the growth rule compares blue; each fault is a dashed
// vertical line in its kind's colour. (internal/bench's charts put rates,
// not time, on an evenly spaced x axis, so this is its own small drawer.)

const (
	panelW, panelH = 460, 200
	plotL, plotR   = 58, 12 // inside a panel
	plotT, plotB   = 26, 28
	cols           = 2
	headerH        = 64
	gapX, gapY     = 20, 16
	fontAttrs      = `font-family="system-ui, sans-serif" font-size="11"`
)

var instColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

var faultColors = map[string]string{
	"postgres": "#8c564b", "redis": "#e377c2", "cancel": "#ff7f0e", "upstream": "#17becf", "reload": "#7f7f7f",
}

// series is one line of a panel: (t, y) points, NaN y for a gap.
type series struct {
	label string
	color string
	t, y  []float64
}

// panel is one small chart.
type panel struct {
	title  string
	lines  []series
	legend bool // label the lines inside the panel (the header's legend names the instances)
}

// drawSoak renders the report's samples.
func drawSoak(r *report, p plan) string {
	panels := soakPanels(r)
	rows := (len(panels) + cols - 1) / cols
	w := cols*panelW + (cols+1)*gapX
	h := headerH + rows*(panelH+gapY) + gapY
	b := &strings.Builder{}
	f := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	title := fmt.Sprintf("Sluice soak: %s at %.0f req/s (%s), %d instances — %s",
		fmtDur(p.Duration.Seconds()), r.Setup.RateRPS, r.Setup.RateSource, r.Setup.Instances, verdictWord(r.OK))
	f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`+"\n", w, h, w, h, esc(title))
	f(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	f(`<text x="%d" y="22" font-family="system-ui, sans-serif" font-size="15" font-weight="600" fill="#222">%s</text>`+"\n", gapX, esc(title))
	// Legend: instances, bands, faults.
	x := gapX
	for i, n := range r.Setup.Names {
		f(`<line x1="%d" y1="44" x2="%d" y2="44" stroke="%s" stroke-width="2"/><text x="%d" y="48" %s fill="#222">%s</text>`+"\n",
			x, x+18, instColors[i%len(instColors)], x+22, fontAttrs, esc(n))
		x += 90
	}
	f(`<rect x="%d" y="38" width="14" height="12" fill="#eeeeee"/><text x="%d" y="48" %s fill="#222">warm-up</text>`+"\n", x, x+18, fontAttrs)
	x += 72
	f(`<rect x="%d" y="38" width="14" height="12" fill="#dbe9f7"/><text x="%d" y="48" %s fill="#222">compared windows</text>`+"\n", x, x+18, fontAttrs)
	x += 140
	for _, k := range faultKinds {
		f(`<line x1="%d" y1="38" x2="%d" y2="50" stroke="%s" stroke-width="2" stroke-dasharray="3 2"/><text x="%d" y="48" %s fill="#222">%s</text>`+"\n",
			x, x, faultColors[k.Name], x+5, fontAttrs, esc(k.Name))
		x += 14 + 7*len(k.Name)
	}
	for i, pn := range panels {
		px := gapX + (i%cols)*(panelW+gapX)
		py := headerH + (i/cols)*(panelH+gapY)
		drawPanel(b, px, py, pn, r, p)
	}
	f("</svg>\n")
	return b.String()
}

func verdictWord(ok bool) string {
	if ok {
		return "flat (pass)"
	}
	return "FAIL"
}

// soakPanels builds the panels from the samples.
func soakPanels(r *report) []panel {
	per := func(title string, get func(instSample) float64) panel {
		pn := panel{title: title}
		for i, name := range r.Setup.Names {
			s := series{label: name, color: instColors[i%len(instColors)]}
			for _, smp := range r.Samples {
				y := math.NaN()
				if i < len(smp.Instances) && smp.Instances[i].Err == "" {
					y = get(smp.Instances[i])
				}
				s.t, s.y = append(s.t, smp.T), append(s.y, y)
			}
			pn.lines = append(pn.lines, s)
		}
		return pn
	}
	withGrowth := func(pn panel, metric string) panel {
		var parts []string
		for _, g := range r.Growth {
			if g.Metric == metric && g.Detail == "" {
				parts = append(parts, fmt.Sprintf("%s %+.1f %%", g.Instance, 100*g.Growth))
			}
		}
		if len(parts) > 0 {
			pn.title += " — growth " + strings.Join(parts, ", ")
		}
		return pn
	}
	panels := []panel{
		withGrowth(per("RSS (MiB)", func(s instSample) float64 { return float64(s.RSSBytes) / (1 << 20) }), "rss_bytes"),
		withGrowth(per("Goroutines", func(s instSample) float64 { return float64(s.Goroutines) }), "goroutines"),
		withGrowth(per("Open file descriptors", func(s instSample) float64 { return float64(s.FDs) }), "fds"),
		per("Spool (KiB)", func(s instSample) float64 { return float64(s.SpoolBytes) / 1024 }),
	}
	logs := panel{title: "Request-log rows and requests answered (thousands)", legend: true}
	rows := series{label: "rows", color: "#2ca02c"}
	ans := series{label: "answered", color: "#444444"}
	for _, s := range r.Samples {
		y := math.NaN()
		if s.DBRows >= 0 {
			y = float64(s.DBRows) / 1000
		}
		rows.t, rows.y = append(rows.t, s.T), append(rows.y, y)
		ans.t, ans.y = append(ans.t, s.T), append(ans.y, float64(s.Answered)/1000)
	}
	logs.lines = []series{ans, rows}
	rate := func(title string, f func(a, b instSample, dt float64) (float64, bool)) panel {
		pn := panel{title: title}
		for i, name := range r.Setup.Names {
			s := series{label: name, color: instColors[i%len(instColors)]}
			s.t, s.y = between(r.Samples, i, f)
			pn.lines = append(pn.lines, s)
		}
		return pn
	}
	served := rate("Requests served per second", servedRate)
	cpu := rate("CPU (cores) per instance; machine load average (grey)", cpuCores)
	load := series{label: "load", color: "#999999"}
	for _, s := range r.Samples {
		if s.Load1 >= 0 {
			load.t, load.y = append(load.t, s.T), append(load.y, s.Load1)
		}
	}
	cpu.lines = append(cpu.lines, load)
	mean := rate("Mean request time (ms)", meanMs)
	return append(panels, logs, served, cpu, mean)
}

// drawPanel draws pn with its top-left corner at (px, py).
func drawPanel(b *strings.Builder, px, py int, pn panel, r *report, p plan) {
	f := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	x0, y0 := float64(px+plotL), float64(py+plotT)
	w, h := float64(panelW-plotL-plotR), float64(panelH-plotT-plotB)
	tmax := math.Max(p.Duration.Seconds(), 1)
	hi := 0.0
	for _, l := range pn.lines {
		for _, y := range l.y {
			if !math.IsNaN(y) {
				hi = math.Max(hi, y)
			}
		}
	}
	step := niceStep(math.Max(hi, 1e-9) / 4)
	if hi == 0 {
		step = 1
	}
	top := math.Ceil(hi/step) * step
	if top == 0 {
		top = step
	}
	xm := func(t float64) float64 { return x0 + math.Min(math.Max(t, 0), tmax)/tmax*w }
	ym := func(v float64) float64 { return y0 + h - v/top*h }

	f(`<text x="%d" y="%d" %s font-weight="600" fill="#222">%s</text>`+"\n", px+4, py+14, fontAttrs, esc(pn.title))
	band := func(a, c float64, fill string) {
		f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", xm(a), y0, xm(c)-xm(a), h, fill)
	}
	band(0, p.Warmup.Seconds(), "#eeeeee")
	band(p.Warmup.Seconds(), p.ChaosFrom.Seconds(), "#dbe9f7")
	band(p.LastFrom.Seconds(), p.Duration.Seconds(), "#dbe9f7")
	for v := 0.0; v <= top+step/2; v += step {
		y := ym(v)
		f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x0, y, x0+w, y)
		f(`<text x="%.1f" y="%.1f" %s text-anchor="end" fill="#222">%s</text>`+"\n", x0-4, y+4, fontAttrs, num(v))
	}
	tstep := niceTimeStep(tmax / 6)
	for t := 0.0; t <= tmax+tstep/100; t += tstep {
		f(`<text x="%.1f" y="%.1f" %s text-anchor="middle" fill="#222">%s</text>`+"\n", xm(t), y0+h+16, fontAttrs, fmtDur(t))
	}
	for _, fr := range r.Faults {
		if fr.Skipped {
			continue
		}
		x := xm(fr.AtS)
		f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="3 2"><title>%s at %s: %s</title></line>`+"\n",
			x, y0, x, y0+h, faultColors[fr.Kind], esc(fr.Kind), fmtDur(fr.AtS), esc(fr.Detail))
	}
	f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", x0, y0, w, h)
	for li, l := range pn.lines {
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				f(`<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"><title>%s</title></polyline>`+"\n",
					l.color, strings.Join(pts, " "), esc(l.label))
			} else if len(pts) == 1 {
				xy := strings.Split(pts[0], ",")
				f(`<circle cx="%s" cy="%s" r="2" fill="%s"/>`+"\n", xy[0], xy[1], l.color)
			}
			pts = pts[:0]
		}
		for i := range l.t {
			if math.IsNaN(l.y[i]) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xm(l.t[i]), ym(l.y[i])))
		}
		flush()
		if pn.legend {
			f(`<text x="%.1f" y="%.1f" %s fill="%s">%s</text>`+"\n", x0+6, y0+14+float64(li)*13, fontAttrs, l.color, esc(l.label))
		}
	}
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	pw := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pw >= raw {
			return m * pw
		}
	}
	return 10 * pw
}

// niceTimeStep rounds a raw step in seconds up to a readable one.
func niceTimeStep(raw float64) float64 {
	for _, s := range []float64{10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if s >= raw {
			return s
		}
	}
	return math.Ceil(raw/3600) * 3600
}

// fmtDur writes seconds as 45s, 2m, 2m30s or 1h5m.
func fmtDur(s float64) string {
	n := int(math.Round(s))
	switch {
	case n < 60:
		return fmt.Sprintf("%ds", n)
	case n < 3600 && n%60 == 0:
		return fmt.Sprintf("%dm", n/60)
	case n < 3600:
		return fmt.Sprintf("%dm%ds", n/60, n%60)
	case n%3600 == 0:
		return fmt.Sprintf("%dh", n/3600)
	}
	return fmt.Sprintf("%dh%dm", n/3600, n%3600/60)
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e12 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func esc(s string) string { return html.EscapeString(s) }

package bench

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chart is one SVG written beside the reports.
type chart struct {
	file, title string
	svg         string
}

// line is one series of a chart: a value per rate (NaN where there is none).
type line struct {
	label  string
	color  string
	dashed bool
	ys     []float64
}

// palette gives series distinct colours; the baseline is always dark grey.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22"}

const baselineColor = "#444444"

// seriesColors assigns each series a colour, stable for the run.
func (v *view) seriesColors() map[string]string {
	c := map[string]string{}
	i := 0
	for _, k := range v.series {
		if t, _, _ := strings.Cut(k, "@"); t == Baseline && !strings.Contains(k, "@") {
			c[k] = baselineColor
			continue
		}
		c[k] = palette[i%len(palette)]
		i++
	}
	return c
}

// valuesOf returns f of each step of series key, by rate index (NaN when missing or
// when f reports no value).
func (v *view) valuesOf(key string, f func(*Step) (float64, bool)) []float64 {
	ys := make([]float64, len(v.rates))
	for i := range ys {
		ys[i] = math.NaN()
	}
	for _, s := range v.stepsOf(key) {
		for i, r := range v.rates {
			if r == s.Rate {
				if y, ok := f(s); ok {
					ys[i] = y
				}
			}
		}
	}
	return ys
}

// buildCharts draws the report's charts: latency, overhead and CPU per request (and
// time to first token when streaming), each only when it has data.
func buildCharts(v *view) []chart {
	if len(v.rates) == 0 {
		return nil
	}
	colors := v.seriesColors()
	xl := "requests per second (scheduled)"
	if v.res.Settings.Closed {
		xl = "requests in flight (closed loop)"
	}
	var charts []chart
	var lat []line
	for _, k := range v.series {
		lat = append(lat,
			line{label: k + " p99", color: colors[k], ys: v.valuesOf(k, okOnly(func(s *Step) float64 { return s.P99Ms }))},
			line{label: k + " p50", color: colors[k], dashed: true, ys: v.valuesOf(k, okOnly(func(s *Step) float64 { return s.P50Ms }))})
	}
	slo := v.res.Knee.SLOMs + v.res.Knee.BackendMs
	charts = append(charts, chart{file: "latency.svg", title: "Latency vs rate (p99 solid, p50 dashed; log scale)",
		svg: drawChart("Latency vs rate (p99 solid, p50 dashed)", xl, "ms (log scale)", v.rates, lat, true, &slo, "SLO")})

	var over []line
	for _, k := range v.series {
		p99 := v.valuesOf(k, func(s *Step) (float64, bool) { return deref0(s.OverheadP99Ms) })
		if !hasValue(p99) {
			continue
		}
		over = append(over,
			line{label: k + " p99", color: colors[k], ys: p99},
			line{label: k + " p50", color: colors[k], dashed: true, ys: v.valuesOf(k, func(s *Step) (float64, bool) { return deref0(s.OverheadP50Ms) })})
	}
	if len(over) > 0 {
		charts = append(charts, chart{file: "overhead.svg", title: "Overhead vs direct (p99 solid, p50 dashed)",
			svg: drawChart("Overhead vs "+Baseline+" (p99 solid, p50 dashed)", xl, "ms added", v.rates, over, false, nil, "")})
	}

	var cpu []line
	for _, k := range v.series {
		ys := v.valuesOf(k, func(s *Step) (float64, bool) { return deref0(s.CPUUsPerReq) })
		if hasValue(ys) {
			cpu = append(cpu, line{label: k, color: colors[k], ys: ys})
		}
	}
	if len(cpu) > 0 {
		charts = append(charts, chart{file: "cpu.svg", title: "CPU per request",
			svg: drawChart("CPU per request", xl, "µs of CPU per request", v.rates, cpu, false, nil, "")})
	}

	if v.res.Settings.Stream {
		var ttft []line
		for _, k := range v.series {
			ttft = append(ttft,
				line{label: k + " p99", color: colors[k], ys: v.valuesOf(k, streamOnly(func(s *StreamStats) float64 { return s.TTFTP99Ms }))},
				line{label: k + " p50", color: colors[k], dashed: true, ys: v.valuesOf(k, streamOnly(func(s *StreamStats) float64 { return s.TTFTP50Ms }))})
		}
		charts = append(charts, chart{file: "ttft.svg", title: "Time to first token (p99 solid, p50 dashed; log scale)",
			svg: drawChart("Time to first token (p99 solid, p50 dashed)", xl, "ms (log scale)", v.rates, ttft, true, nil, "")})
	}
	return charts
}

func okOnly(f func(*Step) float64) func(*Step) (float64, bool) {
	return func(s *Step) (float64, bool) { return f(s), s.OK > 0 }
}

func streamOnly(f func(*StreamStats) float64) func(*Step) (float64, bool) {
	return func(s *Step) (float64, bool) {
		if s.Stream == nil || s.OK == 0 {
			return 0, false
		}
		return f(s.Stream), true
	}
}

func deref0(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

func hasValue(ys []float64) bool {
	for _, y := range ys {
		if !math.IsNaN(y) {
			return true
		}
	}
	return false
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH                   = 760, 400
	padL, padR, padT, padB           = 70, 200, 40, 50
	plotW, plotH                     = chartW - padL - padR, chartH - padT - padB
	logFloor                         = 0.01 // ms: values below are drawn at the floor
	fontAttr                         = `font-family="system-ui, sans-serif" font-size="12"`
	gridColor, axisColor, textColour = "#e5e5e5", "#888888", "#222222"
)

// drawChart renders a line chart with rates on an evenly spaced x axis and a linear or
// logarithmic y axis, with an optional horizontal reference line.
func drawChart(title, xLabel, yLabel string, rates []int, lines []line, logY bool, ref *float64, refLabel string) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		for _, y := range l.ys {
			if math.IsNaN(y) {
				continue
			}
			if logY {
				y = max(y, logFloor)
			}
			lo, hi = min(lo, y), max(hi, y)
		}
	}
	if ref != nil {
		lo, hi = min(lo, *ref), max(hi, *ref)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	var ticks []float64
	var ymap func(float64) float64
	if logY {
		l0, l1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if l1 <= l0 {
			l1 = l0 + 1
		}
		for e := l0; e <= l1; e++ {
			ticks = append(ticks, math.Pow(10, e))
		}
		ymap = func(y float64) float64 {
			y = max(y, logFloor)
			return padT + plotH - (math.Log10(y)-l0)/(l1-l0)*plotH
		}
	} else {
		lo, hi = min(lo, 0), max(hi, 0)
		if hi == lo {
			hi = lo + 1
		}
		step := niceStep((hi - lo) / 5)
		a, b := math.Floor(lo/step)*step, math.Ceil(hi/step)*step
		for t := a; t <= b+step/2; t += step {
			ticks = append(ticks, t)
		}
		ymap = func(y float64) float64 { return padT + plotH - (y-a)/(b-a)*plotH }
	}
	xmap := func(i int) float64 {
		if len(rates) == 1 {
			return padL + plotW/2
		}
		return padL + float64(i)*plotW/float64(len(rates)-1)
	}

	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`+"\n",
		chartW, chartH, chartW, chartH, esc(title))
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="%d" y="22" font-family="system-ui, sans-serif" font-size="15" font-weight="600" fill="%s">%s</text>`+"\n", padL, textColour, esc(title))
	for _, t := range ticks {
		y := ymap(t)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", padL, y, padL+plotW, y, gridColor)
		p(`<text x="%d" y="%.1f" %s text-anchor="end" fill="%s">%s</text>`+"\n", padL-6, y+4, fontAttr, textColour, tickLabel(t))
	}
	if !logY && ticks[0] < 0 {
		y := ymap(0)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n", padL, y, padL+plotW, y, axisColor)
	}
	for i, r := range rates {
		x := xmap(i)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", x, padT, x, padT+plotH, gridColor)
		p(`<text x="%.1f" y="%d" %s text-anchor="middle" fill="%s">%d</text>`+"\n", x, padT+plotH+18, fontAttr, textColour, r)
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`+"\n", padL, padT, plotW, plotH, axisColor)
	p(`<text x="%d" y="%d" %s text-anchor="middle" fill="%s">%s</text>`+"\n",
		padL+plotW/2, chartH-10, fontAttr, textColour, esc(xLabel))
	p(`<text transform="translate(16 %d) rotate(-90)" %s text-anchor="middle" fill="%s">%s</text>`+"\n",
		padT+plotH/2, fontAttr, textColour, esc(yLabel))
	if ref != nil {
		y := ymap(*ref)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#cc0000" stroke-dasharray="2 4" stroke-width="1.5"/>`+"\n", padL, y, padL+plotW, y)
		p(`<text x="%d" y="%.1f" %s fill="#cc0000">%s %s ms</text>`+"\n", padL+4, y-4, fontAttr, esc(refLabel), tickLabel(*ref))
	}
	for _, l := range lines {
		dash := ""
		if l.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				p(`<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", l.color, dash, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, y := range l.ys {
			if math.IsNaN(y) {
				flush()
				continue
			}
			x, yy := xmap(i), ymap(y)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, yy))
			p(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s at %d/s: %s</title></circle>`+"\n",
				x, yy, l.color, esc(l.label), rates[i], fmtMs(y))
		}
		flush()
	}
	for i, l := range lines {
		y := padT + 8 + i*18
		dash := ""
		if l.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", padL+plotW+14, y, padL+plotW+40, y, l.color, dash)
		p(`<text x="%d" y="%d" %s fill="%s">%s</text>`+"\n", padL+plotW+46, y+4, fontAttr, textColour, esc(l.label))
	}
	p("</svg>\n")
	return b.String()
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func esc(s string) string { return html.EscapeString(s) }

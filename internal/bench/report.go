package bench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// view is what both reports show, derived once from Results.
type view struct {
	res     *Results
	rates   []int    // every rate measured, ascending
	series  []string // series keys, baseline first, then in the configured order
	charts  []chart  // the charts written beside the report
	summary []summaryRow
}

type summaryRow struct {
	series                   string
	knee                     string
	overheadP50, overheadP99 string
	cpu, rss                 string
}

// newView orders what res holds for display.
func newView(res *Results) *view {
	v := &view{res: res}
	for _, s := range res.Steps {
		if !slices.Contains(v.rates, s.Rate) {
			v.rates = append(v.rates, s.Rate)
		}
	}
	slices.Sort(v.rates)
	rank := map[string]int{}
	for i, t := range res.Settings.Targets {
		rank[t.Name] = i + 1
	}
	rank[Baseline] = 0
	for _, s := range res.Steps {
		if k := seriesKey(s.Target, s.Variant); !slices.Contains(v.series, k) {
			v.series = append(v.series, k)
		}
	}
	variantOf := func(k string) string { _, after, _ := strings.Cut(k, "@"); return after }
	targetOf := func(k string) string { before, _, _ := strings.Cut(k, "@"); return before }
	slices.SortStableFunc(v.series, func(a, b string) int {
		return cmp.Or(cmp.Compare(variantOrder(variantOf(a)), variantOrder(variantOf(b))),
			cmp.Compare(rank[targetOf(a)], rank[targetOf(b)]))
	})
	for _, key := range v.series {
		v.summary = append(v.summary, v.summarize(key))
	}
	v.charts = buildCharts(v)
	return v
}

// variantOrder sorts variants by size where they have one (1KB < 10KB < 100KB).
func variantOrder(name string) int {
	switch name {
	case "":
		return 0
	case "1KB":
		return 1
	case "10KB":
		return 2
	case "100KB":
		return 3
	}
	return 4
}

// stepsOf returns the steps of one series, by rate.
func (v *view) stepsOf(key string) []*Step {
	var out []*Step
	for i := range v.res.Steps {
		s := &v.res.Steps[i]
		if seriesKey(s.Target, s.Variant) == key {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b *Step) int { return cmp.Compare(a.Rate, b.Rate) })
	return out
}

// summarize gives a series' knee and the medians of its figures over the steps up to
// its knee (all its steps when it has none).
func (v *view) summarize(key string) summaryRow {
	row := summaryRow{series: key, knee: "none"}
	steps := v.stepsOf(key)
	knee := v.res.Knee.Targets[key]
	if knee != nil {
		row.knee = fmt.Sprintf("%d/s", *knee)
		steps = slices.DeleteFunc(slices.Clone(steps), func(s *Step) bool { return s.Rate > *knee })
	}
	var o50, o99, cpu []float64
	var rss float64
	var rssOK bool
	for _, s := range steps {
		if s.OverheadP50Ms != nil {
			o50 = append(o50, *s.OverheadP50Ms)
			o99 = append(o99, *s.OverheadP99Ms)
		}
		if s.CPUUsPerReq != nil {
			cpu = append(cpu, *s.CPUUsPerReq)
		}
		if s.PeakRSSMB != nil {
			rss, rssOK = max(rss, *s.PeakRSSMB), true
		}
	}
	row.overheadP50, row.overheadP99 = fmtSigned(median(o50), len(o50) > 0), fmtSigned(median(o99), len(o99) > 0)
	row.cpu = fmtOpt(median(cpu), len(cpu) > 0, "%.1f")
	row.rss = fmtOpt(rss, rssOK, "%.0f")
	return row
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fmtMs formats milliseconds with about three significant digits.
func fmtMs(v float64) string {
	switch a := max(v, -v); {
	case a < 10:
		return fmt.Sprintf("%.3f", v)
	case a < 100:
		return fmt.Sprintf("%.2f", v)
	case a < 1000:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtSigned(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	if v >= 0 {
		return "+" + fmtMs(v)
	}
	return "−" + fmtMs(-v)
}

func fmtOpt(v float64, ok bool, format string) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func fmtPtr(p *float64, format string) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf(format, *p)
}

func fmtPct(rate float64) string {
	switch {
	case rate == 0:
		return "0"
	case rate < 0.0001:
		return "<0.01%"
	}
	return fmt.Sprintf("%.2f%%", rate*100)
}

func errorKinds(s *Step) string {
	if len(s.ErrorsByKind) == 0 {
		return ""
	}
	var parts []string
	for _, k := range allKinds {
		if n := s.ErrorsByKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

// table is one table of the reports: a heading, a sentence saying what it shows, and
// cells already formatted. right[i] aligns column i to the right.
type table struct {
	title, intro string
	head         []string
	right        []bool
	rows         [][]string
}

// facts are the bullet points that open both reports.
func (v *view) facts() []string {
	r := v.res
	m := r.Machine
	f := []string{fmt.Sprintf("Machine: %s, %s, %d CPUs (GOMAXPROCS %d), %.0f MiB, %s/%s, kernel %s, %s",
		m.Hostname, orUnknown(m.CPUModel), m.CPUs, m.GOMAXPROCS, m.MemTotalMB, m.OS, m.Arch, orUnknown(m.Kernel), m.GoVersion)}
	if m.SluiceVersion != "" {
		f = append(f, "Sluice: "+m.SluiceVersion)
	}
	f = append(f, fmt.Sprintf("Load average (1 min): %.2f at the start, %.2f at the end", m.LoadAvgStart[0], m.LoadAvgEnd[0]))
	mode := "non-streaming"
	if r.Settings.Stream {
		mode = "streaming"
	}
	auto := ""
	if r.Settings.AutoRates {
		auto = " (automatic ladder)"
	}
	if r.Settings.Closed {
		f = append(f, fmt.Sprintf("Load: closed loop, %s, profile %s, %s requests in flight, %.3gs measured per target and step after %.3gs warm-up",
			mode, r.Settings.Profile, joinInts(r.Settings.Rates), r.Settings.StepS, r.Settings.WarmupS))
		f = append(f, fmt.Sprintf("Knee: the most requests in flight up to which every step has p99 ≤ %s and errors < %s",
			v.sloText(), fmtPct(r.Knee.MaxErrorRate)))
	} else {
		f = append(f, fmt.Sprintf("Load: open loop, %s, profile %s, rates %s/s%s, %.3gs measured per target and step after %.3gs warm-up",
			mode, r.Settings.Profile, joinInts(r.Settings.Rates), auto, r.Settings.StepS, r.Settings.WarmupS))
		f = append(f, fmt.Sprintf("Knee: the highest rate up to which every step has p99 ≤ %s, errors < %s and at least %.0f%% of the rate sent",
			v.sloText(), fmtPct(r.Knee.MaxErrorRate), r.Knee.MinAchieved*100))
	}
	return f
}

// tables returns the reports' tables, leaving out those with nothing to show.
func (v *view) tables() []table {
	r := v.res
	var ts []table
	targets := table{head: []string{"target", "URL", "model", "PIDs"}}
	for _, t := range r.Settings.Targets {
		targets.rows = append(targets.rows, []string{t.Name, t.URL, t.Model, joinInts(t.PIDs)})
	}
	ts = append(ts, targets)

	sum := table{title: "Summary",
		intro: "Overhead and CPU are medians over the steps up to the series' knee (all its steps when it has none); peak RSS is the largest seen.",
		head:  []string{"series", "knee", "overhead p50 ms", "overhead p99 ms", "CPU µs/req", "peak RSS MiB"},
		right: []bool{false, true, true, true, true, true}}
	for _, s := range v.summary {
		sum.rows = append(sum.rows, []string{s.series, s.knee, s.overheadP50, s.overheadP99, s.cpu, s.rss})
	}
	ts = append(ts, sum)

	lat := table{title: "Latency",
		intro: "Milliseconds from the scheduled send time to the last byte, successful requests only; overhead is against " + Baseline + " at the same rate.",
		head: []string{v.rateHead(), "series", "sent/s", "p50", "p90", "p95", "p99", "p99.9", "max", "errors",
			"overhead p50", "overhead p99", "CPU µs/req", "peak RSS MiB"},
		right: []bool{true, false, true, true, true, true, true, true, true, true, true, true, true, true}}
	for _, rate := range v.rates {
		for _, s := range v.stepsAt(rate) {
			lat.rows = append(lat.rows, []string{fmt.Sprint(s.Rate), seriesKey(s.Target, s.Variant), fmt.Sprintf("%.0f", s.AchievedRPS),
				fmtMs(s.P50Ms), fmtMs(s.P90Ms), fmtMs(s.P95Ms), fmtMs(s.P99Ms), fmtMs(s.P999Ms), fmtMs(s.MaxMs), fmtPct(s.ErrorRate),
				fmtSignedPtr(s.OverheadP50Ms), fmtSignedPtr(s.OverheadP99Ms), fmtPtr(s.CPUUsPerReq, "%.1f"), fmtPtr(s.PeakRSSMB, "%.0f")})
		}
	}
	ts = append(ts, lat)

	if r.Settings.Stream {
		st := table{title: "Streaming",
			intro: "Milliseconds. Time to first token from the scheduled send time; gaps between consecutive tokens of a stream; tokens per second of stream time.",
			head: []string{v.rateHead(), "series", "TTFT p50", "TTFT p99", "gap p50", "gap p99", "gap max", "tokens/s",
				"TTFT overhead p50", "TTFT overhead p99", "gap overhead p99"},
			right: []bool{true, false, true, true, true, true, true, true, true, true, true}}
		for _, rate := range v.rates {
			for _, s := range v.stepsAt(rate) {
				if x := s.Stream; x != nil {
					st.rows = append(st.rows, []string{fmt.Sprint(s.Rate), seriesKey(s.Target, s.Variant),
						fmtMs(x.TTFTP50Ms), fmtMs(x.TTFTP99Ms), fmtMs(x.ITLP50Ms), fmtMs(x.ITLP99Ms), fmtMs(x.ITLMaxMs),
						fmt.Sprintf("%.0f", x.TokensPerS), fmtSignedPtr(x.OverheadTTFTP50Ms), fmtSignedPtr(x.OverheadTTFTP99Ms),
						fmtSignedPtr(x.OverheadITLP99Ms)})
				}
			}
		}
		ts = append(ts, st)
	}

	errs := table{title: "Errors", intro: "Errors of the measured requests, by kind.",
		head: []string{v.rateHead(), "series", "errors", "error rate", "by kind"}, right: []bool{true, false, true, true, false}}
	for _, rate := range v.rates {
		for _, s := range v.stepsAt(rate) {
			if s.Errors > 0 {
				errs.rows = append(errs.rows, []string{fmt.Sprint(s.Rate), seriesKey(s.Target, s.Variant),
					fmt.Sprint(s.Errors), fmtPct(s.ErrorRate), errorKinds(s)})
			}
		}
	}
	if len(errs.rows) > 0 {
		ts = append(ts, errs)
	}

	gen := table{title: "Generator",
		intro: "How the load generator kept its schedule: requests scheduled in and sent during the window, how late it sent them, its own CPU per request and the connections it used.",
		head:  []string{v.rateHead(), "series", "scheduled", "sent", "lag p50 ms", "lag p99 ms", "lag max ms", "generator CPU µs/req", "conns"},
		right: []bool{true, false, true, true, true, true, true, true, true}}
	for _, rate := range v.rates {
		for _, s := range v.stepsAt(rate) {
			gen.rows = append(gen.rows, []string{fmt.Sprint(s.Rate), seriesKey(s.Target, s.Variant), fmt.Sprint(s.Scheduled),
				fmt.Sprint(s.Sent), fmtMs(s.SendLagP50Ms), fmtMs(s.SendLagP99Ms), fmtMs(s.SendLagMaxMs),
				fmt.Sprintf("%.1f", s.GenCPUUsPerReq), fmt.Sprint(s.Conns)})
		}
	}
	return append(ts, gen)
}

// sloText is the knee's latency bound: the SLO, plus the backend latency the profile
// asks for.
func (v *view) sloText() string {
	k := v.res.Knee
	if k.BackendMs > 0 {
		return fmt.Sprintf("%g ms (the profile's %g ms backend latency + the %g ms SLO)", k.SLOMs+k.BackendMs, k.BackendMs, k.SLOMs)
	}
	return fmt.Sprintf("%g ms", k.SLOMs)
}

// rateHead names the steps' load: a rate, or requests in flight in a closed loop.
func (v *view) rateHead() string {
	if v.res.Settings.Closed {
		return "in flight"
	}
	return "rate"
}

// title is the reports' heading.
func (v *view) title() string {
	return "Sluice bench, " + v.res.Machine.Started.Format("2006-01-02 15:04 UTC")
}

// WriteMarkdown writes report.md's content for res.
func WriteMarkdown(w io.Writer, res *Results) error {
	return newView(res).markdown(w)
}

func (v *view) markdown(w io.Writer) error {
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# %s\n\n", v.title())
	for _, f := range v.facts() {
		p("- %s\n", f)
	}
	for _, t := range v.tables() {
		if t.title != "" {
			p("\n## %s\n", t.title)
		}
		if t.intro != "" {
			p("\n%s\n", t.intro)
		}
		p("\n| %s |\n|", strings.Join(t.head, " | "))
		for i := range t.head {
			if i < len(t.right) && t.right[i] {
				p("---:|")
			} else {
				p("---|")
			}
		}
		p("\n")
		for _, row := range t.rows {
			p("| %s |\n", strings.Join(row, " | "))
		}
	}
	if len(v.res.Warnings) > 0 {
		p("\n## Warnings\n\n")
		for _, w := range v.res.Warnings {
			p("- %s\n", w)
		}
	}
	if len(v.charts) > 0 {
		p("\n## Charts\n\n")
		for _, c := range v.charts {
			p("![%s](%s)\n\n", c.title, c.file)
		}
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// stepsAt returns the steps at rate in series order.
func (v *view) stepsAt(rate int) []*Step {
	var out []*Step
	for _, key := range v.series {
		for _, s := range v.stepsOf(key) {
			if s.Rate == rate {
				out = append(out, s)
			}
		}
	}
	return out
}

func fmtSignedPtr(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmtSigned(*p, true)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func joinInts(v []int) string {
	if len(v) == 0 {
		return "–"
	}
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

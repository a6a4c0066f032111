package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// report is soak.json.
type report struct {
	Version  int             `json:"version"`
	Started  time.Time       `json:"started"`
	WallS    float64         `json:"wall_s"` // setup to verdict
	Commit   string          `json:"commit,omitempty"`
	Machine  harness.Machine `json:"machine"`
	Setup    setupInfo       `json:"setup"`
	Timeline timeline        `json:"timeline"`
	Samples  []sample        `json:"samples"`
	Faults   []faultRecord   `json:"faults"`
	Growth   []growth        `json:"growth"`
	Context  *windowContext  `json:"window_context,omitempty"`
	Logs     *logsInfo       `json:"logs,omitempty"`
	Checks   []harness.Check `json:"checks"`
	OK       bool            `json:"ok"`
}

type setupInfo struct {
	Instances int      `json:"instances"`
	Names     []string `json:"names"`
	RateRPS   float64  `json:"rate_rps"`
	// RateSource is "measured" (soak_fraction of the capacity ladder's
	// result) or "given" (-rate).
	RateSource   string  `json:"rate_source"`
	CapacityRPS  float64 `json:"capacity_rps,omitempty"`
	SoakFraction float64 `json:"soak_fraction,omitempty"`
	Ladder       []step  `json:"ladder,omitempty"`
	SetupS       float64 `json:"setup_s"`
	// RedisURLOptions is what the soak adds to the instances' Redis URL
	// (redisPoolCap).
	RedisURLOptions string `json:"redis_url_options"`
}

// timeline is the plan in seconds.
type timeline struct {
	DurationS   float64    `json:"duration_s"`
	WarmupS     float64    `json:"warmup_s"`
	IntervalS   float64    `json:"sample_interval_s"`
	FaultGapS   float64    `json:"fault_gap_s"`
	FirstWindow [2]float64 `json:"first_window_s"`
	LastWindow  [2]float64 `json:"last_window_s"`
	MaxGrowth   float64    `json:"max_growth"`
}

func timelineOf(p plan) timeline {
	s := func(d time.Duration) float64 { return harness.Round1(d.Seconds()) }
	return timeline{DurationS: s(p.Duration), WarmupS: s(p.Warmup), IntervalS: s(p.Interval), FaultGapS: s(p.FaultGap),
		FirstWindow: [2]float64{s(p.Warmup), s(p.ChaosFrom)}, LastWindow: [2]float64{s(p.LastFrom), s(p.Duration)},
		MaxGrowth: maxGrowth}
}

// logsInfo is the request-log accounting over the whole soak.
type logsInfo struct {
	harness.Accounting
	LostIDs []string `json:"lost_ids,omitempty"`
	// DBRows counts soak-… rows in request_logs at the end.
	DBRows   int64                     `json:"db_rows"`
	Segments int                       `json:"segments"`
	Skipped  int                       `json:"skipped"` // not sent: the client's in-flight cap was reached
	Statuses map[string]map[string]int `json:"statuses"`
	// LoadNotOK counts soak-load requests that were not a whole 200.
	LoadNotOK int `json:"load_not_ok"`
}

func (r *report) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, harness.Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// verdict sets OK: every check held.
func (r *report) verdict() {
	r.OK = len(r.Checks) > 0
	for _, c := range r.Checks {
		r.OK = r.OK && c.OK
	}
}

// growthChecks turns the growth rows into checks.
func (r *report) growthChecks() {
	for _, g := range r.Growth {
		detail := g.Detail
		if detail == "" {
			limit := fmt.Sprintf("+%.0f %%", 100*g.Limit)
			if g.Allowance > 0 {
				limit += fmt.Sprintf(" or +%.0f", g.Allowance)
			}
			detail = fmt.Sprintf("median %s → %s (%+.1f %%, limit %s; %d and %d samples)%s",
				fmtMetric(g.Metric, g.FirstMedian), fmtMetric(g.Metric, g.LastMedian), 100*g.Growth, limit, g.FirstN, g.LastN, kindLine(g.ByKind))
		}
		r.check(fmt.Sprintf("%s %s does not grow", g.Instance, g.Metric), g.OK, "%s", detail)
	}
}

// faultChecks turns the faults into checks (skipped ones are listed, not
// judged).
func (r *report) faultChecks() {
	for _, f := range r.Faults {
		if f.Skipped {
			continue
		}
		r.check(fmt.Sprintf("fault %s at %.0f s", f.Kind, f.AtS), f.OK, "%s", f.Detail)
	}
}

// kindLine writes descriptor kinds' medians: "; by kind: clients 12 → 14, ...".
func kindLine(m map[string][2]float64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %g → %g", k, m[k][0], m[k][1]))
	}
	return "; by kind: " + strings.Join(parts, ", ")
}

func fmtMetric(name string, v float64) string {
	if name == "rss_bytes" {
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.0f", v)
}

// summary writes the growth table and every check.
func (r *report) summary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "instance\tmetric\tfirst window\tlast window\tgrowth\tresult")
	for _, g := range r.Growth {
		res := "ok"
		if !g.OK {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%+.1f %%\t%s\n", g.Instance, g.Metric,
			fmtMetric(g.Metric, g.FirstMedian), fmtMetric(g.Metric, g.LastMedian), 100*g.Growth, res)
	}
	tw.Flush()
	if r.Context != nil {
		r.Context.write(w, r.Setup.Names)
	}
	run, skipped := 0, 0
	for _, f := range r.Faults {
		if f.Skipped {
			skipped++
		} else {
			run++
		}
	}
	fmt.Fprintf(w, "faults: %d run, %d skipped (the previous ran too long to fit)\n", run, skipped)
	fmt.Fprintln(w)
	for _, c := range r.Checks {
		fmt.Fprintln(w, c.Line())
	}
}

// write prints the summary and saves soak.json, soak.svg and summary.txt
// in dir.
func (r *report) write(dir string, stdout io.Writer, p plan) error {
	var b strings.Builder
	r.summary(&b)
	return harness.SaveResults("soak", dir, stdout, b.String(), "soak.json", r,
		harness.File{Name: "soak.svg", Data: []byte(drawSoak(r, p))},
		harness.File{Name: "summary.txt", Data: []byte(b.String())})
}

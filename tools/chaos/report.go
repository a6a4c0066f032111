package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// report is results.json.
type report struct {
	Version   int             `json:"version"`
	Started   time.Time       `json:"started"`
	DurationS float64         `json:"duration_s"`
	Commit    string          `json:"commit,omitempty"`
	Machine   harness.Machine `json:"machine"`
	Setup     setup           `json:"setup"`
	Scenarios []*outcome      `json:"scenarios"`
	OK        bool            `json:"ok"`
}

type setup struct {
	Instances int     `json:"instances"`
	RateRPS   float64 `json:"rate_rps"`
	SetupS    float64 `json:"setup_s"`
}

// outcome is one scenario's record.
type outcome struct {
	Name      string  `json:"name"`
	Fault     string  `json:"fault"`
	DurationS float64 `json:"duration_s"`
	Requests  int     `json:"requests"`
	// Skipped: requests the load did not send because its in-flight cap
	// was reached (the client's own shedding, reported, not a failure).
	Skipped  int                 `json:"skipped"`
	Statuses map[string]int      `json:"statuses"`
	Limits   *limitResult        `json:"limits,omitempty"`
	Logs     *harness.Accounting `json:"logs,omitempty"`
	Measured map[string]any      `json:"measured,omitempty"`
	Checks   []harness.Check     `json:"checks"`
	OK       bool                `json:"ok"`
}

// limitResult says whether rate limits held in a scenario.
type limitResult struct {
	Held   bool   `json:"held"`
	Detail string `json:"detail"`
}

func newOutcome(name, fault string) *outcome {
	return &outcome{Name: name, Fault: fault, Statuses: map[string]int{}, Measured: map[string]any{}, OK: true}
}

// check records a bound.
func (o *outcome) check(name string, ok bool, format string, args ...any) {
	o.Checks = append(o.Checks, harness.Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	if !ok {
		o.OK = false
	}
}

// fail records that the scenario itself could not be carried out.
func (o *outcome) fail(err error) {
	o.check("scenario ran", false, "%v", err)
}

// addResults counts results into the status table.
func (o *outcome) addResults(rs []harness.Result) {
	o.Requests += len(rs)
	for _, r := range rs {
		o.Statuses[r.Outcome()]++
	}
}

// table writes the summary table.
func (r *report) table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\trequests\tclients saw\tlimits\trows lost\tdup\tresult")
	for _, s := range r.Scenarios {
		limits := "—"
		if s.Limits != nil {
			limits = "held"
			if !s.Limits.Held {
				limits = "BROKEN"
			}
		}
		lost, dup := "—", "—"
		if s.Logs != nil {
			lost, dup = fmt.Sprint(s.Logs.Lost), fmt.Sprint(s.Logs.Duplicated)
			if v, ok := s.Measured["lost_allowed"]; ok {
				lost += fmt.Sprintf(" (%v)", v)
			}
		}
		res := "ok"
		if !s.OK {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Requests, harness.StatusLine(s.Statuses), limits, lost, dup, res)
	}
	tw.Flush()
}

// details writes every check, one line each.
func (r *report) details(w io.Writer) {
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "\n%s — %s (%.1f s)\n", s.Name, s.Fault, s.DurationS)
		for _, c := range s.Checks {
			fmt.Fprintf(w, "  %s\n", c.Line())
		}
	}
}

// write prints the table and details and saves results.json and
// table.txt in dir.
func (r *report) write(dir string, stdout io.Writer) error {
	var b strings.Builder
	r.table(&b)
	r.details(&b)
	return harness.SaveResults("chaos", dir, stdout, b.String(), "results.json", r,
		harness.File{Name: "table.txt", Data: []byte(b.String())})
}

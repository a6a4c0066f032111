// "sluice usage": usage sums through a running gateway's admin API.

package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-gw/sluice/internal/telemetry"
)

const usagePath = "/admin/v1/usage"

const usageAbout = `Show usage (GET /admin/v1/usage): requests, errors (HTTP status 400 and
over, 499 included), tokens and cost, summed per group over a time range: a
table, CSV with --csv, or the server's JSON with --json. Without --group-by,
one total row. Whole UTC days come from the gateway's daily rollups, the
rest from the request logs: the sums are the same either way.`

// cmdUsage runs "sluice usage". args are the arguments after "usage".
func cmdUsage(args []string, stdout, stderr io.Writer) int {
	c := &keysCLI{stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now, prog: "sluice usage", timeout: 30 * time.Second}
	return runUsage(c, args)
}

// usageColumns are the table's and the CSV's columns after the groups:
// header, CSV name.
var usageColumns = [][2]string{
	{"REQUESTS", "requests"}, {"ERRORS", "errors"}, {"INPUT", "prompt_tokens"}, {"OUTPUT", "completion_tokens"},
	{"CACHED", "cached_tokens"}, {"CACHE WRITE", "cache_write_tokens"}, {"REASONING", "reasoning_tokens"}, {"COST", "cost_usd"},
}

// usageGroupColumns are the group columns by telemetry.Groups' order:
// header, CSV name.
var usageGroupColumns = [][2]string{{"KEY", "key_id"}, {"TEAM", "team"}, {"MODEL", "model"}, {"END USER", "end_user"}, {"DAY", "day"}}

func runUsage(c *keysCLI, args []string) int {
	fs := flag.NewFlagSet("sluice usage", flag.ContinueOnError)
	cmd := &keysCommand{c: c, fs: fs, synopsis: "[--since TIME] [--until TIME] [--group-by GROUPS] [flags]", about: usageAbout}
	c.commonFlags(fs)
	var when whenFlags
	when.declare(cmd, "requests")
	groupBy := fs.String("group-by", "", "comma-separated `GROUPS` to sum per: key, team, model, end_user, day (UTC)")
	asCSV := fs.Bool("csv", false, "print CSV (a header line, then a line per group) instead of a table")
	if _, code, ok := cmd.parse(args); !ok {
		return code
	}
	if *asCSV && c.json {
		return cmd.fail("--csv and --json do not go together")
	}
	q := url.Values{}
	if err := when.query(c.now(), q.Set); err != nil {
		return cmd.fail("%v", err)
	}
	var groups []string
	for g := range strings.SplitSeq(*groupBy, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !slices.Contains(telemetry.Groups, g) {
			return cmd.fail("--group-by: unknown group %q: want key, team, model, end_user or day", g)
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	// The server's order (telemetry.Groups), which is its columns'.
	slices.SortFunc(groups, func(a, b string) int { return slices.Index(telemetry.Groups, a) - slices.Index(telemetry.Groups, b) })
	if len(groups) > 0 {
		q.Set("group_by", strings.Join(groups, ","))
	}
	if code := c.setup(); code != 0 {
		return code
	}
	body, ok := c.call(http.MethodGet, usagePath, q, nil)
	if !ok {
		return 1
	}
	if c.json {
		return c.printJSON(body)
	}
	var resp struct {
		Data []telemetry.UsageRow `json:"data"`
	}
	if code := c.decode(body, &resp); code != 0 {
		return code
	}
	cols := make([]int, len(groups))
	for i, g := range groups {
		cols[i] = slices.Index(telemetry.Groups, g)
	}
	if *asCSV {
		return usageCSV(c, cols, resp.Data)
	}
	usageTable(c.stdout, cols, resp.Data)
	return 0
}

// usageGroup is the value of the i-th group column of r.
func usageGroup(r *telemetry.UsageRow, i int) string {
	return [...]string{r.KeyID, r.Team, r.Model, r.EndUser, r.Day}[i]
}

func usageSums(r *telemetry.UsageRow) []int64 {
	return []int64{r.Requests, r.Errors, r.PromptTokens, r.CompletionTokens, r.CachedTokens, r.CacheWriteTokens, r.ReasoningTokens}
}

// usageTable prints the rows in columns two spaces apart: groups
// left-aligned, numbers right-aligned.
func usageTable(w io.Writer, cols []int, rows []telemetry.UsageRow) {
	lines := [][]string{{}}
	for _, i := range cols {
		lines[0] = append(lines[0], usageGroupColumns[i][0])
	}
	for _, c := range usageColumns {
		lines[0] = append(lines[0], c[0])
	}
	for k := range rows {
		r := &rows[k]
		var cells []string
		for _, i := range cols {
			cells = append(cells, keysCell(usageGroup(r, i)))
		}
		for _, v := range usageSums(r) {
			cells = append(cells, strconv.FormatInt(v, 10))
		}
		lines = append(lines, append(cells, fmt.Sprintf("$%.6f", r.CostUSD)))
	}
	widths := make([]int, len(lines[0]))
	for _, l := range lines {
		for j, c := range l {
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.Reset()
		for j, c := range l {
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c))
			if j > 0 {
				b.WriteString("  ")
			}
			if j < len(cols) {
				b.WriteString(c)
				if j < len(l)-1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func usageCSV(c *keysCLI, cols []int, rows []telemetry.UsageRow) int {
	w := csv.NewWriter(c.stdout)
	var head []string
	for _, i := range cols {
		head = append(head, usageGroupColumns[i][1])
	}
	for _, col := range usageColumns {
		head = append(head, col[1])
	}
	_ = w.Write(head)
	for k := range rows {
		r := &rows[k]
		var rec []string
		for _, i := range cols {
			rec = append(rec, csvCell(usageGroup(r, i)))
		}
		for _, v := range usageSums(r) {
			rec = append(rec, strconv.FormatInt(v, 10))
		}
		_ = w.Write(append(rec, strconv.FormatFloat(r.CostUSD, 'f', -1, 64)))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		c.errorf("%v\n", err)
		return 1
	}
	return 0
}

// csvCell keeps a spreadsheet from reading a value as a formula: one that
// starts with =, +, -, @, a tab or a carriage return (an end user's name is
// whatever a client sent) gets a leading apostrophe, which spreadsheets show
// as text and do not evaluate.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

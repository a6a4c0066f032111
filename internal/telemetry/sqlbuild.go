package telemetry

import (
	"strconv"
	"strings"
	"time"
)

// columns are request_logs' columns in the order both sinks write and
// read them (see the migrations).
var columns = []string{
	"time", "request_id", "key_id", "key_name", "team", "tags",
	"end_user", "client_ip", "user_agent", "route", "format", "model",
	"provider", "upstream_model", "stream", "status", "error_code", "attempts",
	"fallback", "latency_ns", "ttft_ns", "upstream_ns", "overhead_ns",
	"prompt_tokens", "completion_tokens", "cached_tokens", "tokens_estimated",
	"cost_usd", "guardrails", "rate_limit", "request_body", "response_body",
}

var columnList = strings.Join(columns, ", ")

// dialect is what differs between the sinks' queries. Only the fixed
// strings below and whitelisted column names ever become SQL; every value
// from a query is a parameter.
type dialect struct {
	// param is the placeholder of the n-th parameter (1-based).
	param func(n int) string
	// timeArg converts a time to the column's type.
	timeArg func(time.Time) any
	// dayExpr is the UTC day of time as "YYYY-MM-DD".
	dayExpr string
	// sumInt wraps an integer sum so it scans as int64.
	sumInt func(col string) string
}

var pgDialect = dialect{
	param:   func(n int) string { return "$" + strconv.Itoa(n) },
	timeArg: func(t time.Time) any { return t.UTC() },
	dayExpr: "to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
	sumInt:  func(col string) string { return "COALESCE(sum(" + col + "), 0)::bigint" },
}

var sqliteDialect = dialect{
	param:   func(int) string { return "?" },
	timeArg: func(t time.Time) any { return t.UnixNano() },
	dayExpr: "strftime('%Y-%m-%d', time / 1000000000, 'unixepoch')",
	sumInt:  func(col string) string { return "COALESCE(sum(" + col + "), 0)" },
}

// where collects conditions and their parameters.
type where struct {
	d     dialect
	conds []string
	args  []any
}

// add appends a condition; each "?" in expr becomes the next parameter.
func (w *where) add(expr string, args ...any) {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(expr, '?')
		w.args = append(w.args, a)
		b.WriteString(expr[:i])
		b.WriteString(w.d.param(len(w.args)))
		expr = expr[i+1:]
	}
	b.WriteString(expr)
	w.conds = append(w.conds, b.String())
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// logsSQL is the query of one page (limit+1 rows, to know whether another
// page follows), newest first: keyset pagination on (time, request_id),
// which the (time, request_id) and (key_id, time, request_id) indexes
// serve in order.
func logsSQL(d dialect, p logPlan) (string, []any) {
	w := where{d: d}
	q := p.q
	if q.RequestID != "" {
		w.add("request_id = ?", q.RequestID)
	}
	if q.KeyID != "" {
		w.add("key_id = ?", q.KeyID)
	}
	if q.Model != "" {
		w.add("model = ?", q.Model)
	}
	if q.EndUser != "" {
		w.add("end_user = ?", q.EndUser)
	}
	if q.Status != 0 {
		w.add("status = ?", q.Status)
	}
	if !q.Since.IsZero() {
		w.add("time >= ?", d.timeArg(q.Since))
	}
	if !q.Until.IsZero() {
		w.add("time < ?", d.timeArg(q.Until))
	}
	if p.after != nil {
		w.add("(time, request_id) < (?, ?)", d.timeArg(p.after.time), p.after.id)
	}
	w.args = append(w.args, p.limit+1)
	return "SELECT " + columnList + " FROM request_logs" + w.sql() +
		" ORDER BY time DESC, request_id DESC LIMIT " + d.param(len(w.args)), w.args
}

// usageSQL sums per group over [since, until), through the time index.
// Its columns are the chosen groups in the order key, model, day, then
// requests, errors, the three token sums and cost.
func usageSQL(d dialect, p usagePlan) (string, []any) {
	var groups []string
	if p.byKey {
		groups = append(groups, "key_id")
	}
	if p.byModel {
		groups = append(groups, "model")
	}
	if p.day {
		groups = append(groups, d.dayExpr)
	}
	sel := append([]string{}, groups...)
	sel = append(sel,
		"count(*)",
		d.sumInt("CASE WHEN status >= 400 THEN 1 ELSE 0 END"),
		d.sumInt("prompt_tokens"), d.sumInt("completion_tokens"), d.sumInt("cached_tokens"),
		"COALESCE(sum(cost_usd), 0)")
	w := where{d: d}
	if !p.q.Since.IsZero() {
		w.add("time >= ?", d.timeArg(p.q.Since))
	}
	if !p.q.Until.IsZero() {
		w.add("time < ?", d.timeArg(p.q.Until))
	}
	s := "SELECT " + strings.Join(sel, ", ") + " FROM request_logs" + w.sql()
	if len(groups) > 0 {
		pos := make([]string, len(groups))
		for i := range groups {
			pos[i] = strconv.Itoa(i + 1)
		}
		s += " GROUP BY " + strings.Join(pos, ", ") + " ORDER BY " + strings.Join(pos, ", ")
	}
	return s, w.args
}

// usageDest is where a usage row's columns scan to, in usageSQL's order.
func usageDest(p usagePlan, r *UsageRow) []any {
	var dst []any
	if p.byKey {
		dst = append(dst, &r.KeyID)
	}
	if p.byModel {
		dst = append(dst, &r.Model)
	}
	if p.day {
		dst = append(dst, &r.Day)
	}
	return append(dst, &r.Requests, &r.Errors, &r.PromptTokens, &r.CompletionTokens, &r.CachedTokens, &r.CostUSD)
}

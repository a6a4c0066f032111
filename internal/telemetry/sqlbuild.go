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
	"prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens",
	"reasoning_tokens", "tokens_estimated",
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
	// rollupDayExpr is a rollup row's day as "YYYY-MM-DD".
	rollupDayExpr string
	// dayArg converts a UTC day number to the rollups' day column type,
	// and dayCast gives a parameter that type where nothing else does.
	dayArg  func(day int64) any
	dayCast string
	// sum is the aggregate that sums an integer column to an integer:
	// PostgreSQL's sum(bigint) adds in 128 bits and returns a numeric,
	// which costs about a third of a 90-day usage query by end user
	// (docs/benchmarks.md), so its sink defines usage_sum (migration
	// 0003: bigint addition, an error on overflow, as SQLite's sum).
	sum string
	// byteOrder makes an ORDER BY list sort text as Go compares strings
	// (bytes), as writes lock rollup rows.
	byteOrder func(cols string) string
}

var pgDialect = dialect{
	param:         func(n int) string { return "$" + strconv.Itoa(n) },
	timeArg:       func(t time.Time) any { return t.UTC() },
	dayExpr:       "to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
	rollupDayExpr: "to_char(day, 'YYYY-MM-DD')",
	dayArg:        func(day int64) any { return dayStart(day) },
	dayCast:       "::date",
	sum:           "usage_sum",
	byteOrder: func(cols string) string {
		return strings.ReplaceAll(cols, ",", ` COLLATE "C",`) + ` COLLATE "C"`
	},
}

var sqliteDialect = dialect{
	param:   func(int) string { return "?" },
	timeArg: func(t time.Time) any { return t.UnixNano() },
	// Integer division truncates toward zero: floor times before 1970.
	dayExpr:       "strftime('%Y-%m-%d', (time - (time < 0) * 999999999) / 1000000000, 'unixepoch')",
	rollupDayExpr: "day",
	dayArg:        func(day int64) any { return dayText(day) },
	sum:           "sum",
	byteOrder:     func(cols string) string { return cols }, // BINARY, the default
}

// dayText is a UTC day number as "YYYY-MM-DD".
func dayText(day int64) string { return dayStart(day).Format(time.DateOnly) }

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

// param returns expr with its "?" replaced by the next parameter, arg.
func (w *where) param(expr string, arg any) string {
	w.args = append(w.args, arg)
	return strings.Replace(expr, "?", w.d.param(len(w.args)), 1)
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
	if q.Team != "" {
		w.add("team = ?", q.Team)
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

// groupCols are the columns of Groups, in the same order; day is an
// expression (dialect.dayExpr, rollupDayExpr).
var groupCols = [...]string{"key_id", "team", "model", "end_user", "day"}

// Indexes of groupCols and Groups.
const (
	groupKey = iota
	groupTeam
	groupModel
	groupEndUser
	groupDay
)

// rawTerms are what a request_logs row adds to each sum of a usage row,
// in UsageRow's order (requests, errors, tokens, cost); a rollup row adds
// its rollupColumns.
var (
	rawTerms = []string{"1", "CASE WHEN status >= 400 THEN 1 ELSE 0 END",
		"prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd"}
	// partTerms are the terms of the parts, as usageSelect names them.
	partTerms = []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}
)

// usageSQL sums per group over [since, until). Its columns are the chosen
// groups in the order of Groups, then requests, errors, the five token
// sums and cost. Without finalized whole days in the range (or with
// p.raw) it reads request_logs through the time index; otherwise those
// days come from the smallest rollup table that keeps the groups (and
// its coarse buckets, if it has them), and the rest of the range from
// request_logs, in one statement (one snapshot) that sums the rows of
// all the parts at once: summing each part first, then the parts' sums,
// costs two hash tables of every group and sums of numerics (measured on
// 10 million rows, docs/benchmarks.md).
func usageSQL(d dialect, p usagePlan) (string, []any) {
	w := where{d: d}
	sp := p.span()
	if !sp.ok {
		conds := w.timeRange(p.q.Since, p.q.Until)
		return usageSelect(d, p, rawTerms, d.dayExpr, "request_logs", conds, true), w.args
	}
	// A part per range: each reads one range of its table's key (ORing
	// the ranges in one part made PostgreSQL OR bitmaps, and cost about
	// 20% more on 10 million rows).
	var parts []string
	for _, r := range sp.days {
		parts = append(parts, usageSelect(d, p, rollupColumns, d.rollupDayExpr, sp.table.name, w.dayConds(r), false))
	}
	for _, r := range sp.spans {
		parts = append(parts, usageSelect(d, p, rollupColumns, "", sp.spanTable.name, w.spanConds(r), false))
	}
	for _, r := range sp.raw {
		parts = append(parts, usageSelect(d, p, rawTerms, d.dayExpr, "request_logs", w.timeRange(r[0], r[1]), false))
	}
	from := "(" + strings.Join(parts, " UNION ALL ") + ") parts"
	return usageSelect(d, p, partTerms, "day", from, nil, true), w.args
}

// timeRange is the conditions of since <= time < until; a zero bound is
// open.
func (w *where) timeRange(since, until time.Time) []string {
	var conds []string
	if !since.IsZero() {
		conds = append(conds, w.param("time >= ?", w.d.timeArg(since)))
	}
	if !until.IsZero() {
		conds = append(conds, w.param("time < ?", w.d.timeArg(until)))
	}
	return conds
}

// usageSelect is SELECT groups, sums FROM from WHERE conds GROUP BY
// groups, summing terms (rawTerms, rollupColumns or partTerms), and
// orders its rows; its sums scan as int64s and a float64 (no NULL sums).
// A part (top false) is SELECT groups, terms FROM from WHERE conds, one
// row per row of from, its columns named for the query around it (groups
// by their names, the terms s0, s1, ...).
func usageSelect(d dialect, p usagePlan, terms []string, dayExpr, from string, conds []string, top bool) string {
	var sel, pos []string
	for i, on := range p.group {
		if !on {
			continue
		}
		col := groupCols[i]
		if i == groupDay {
			col = dayExpr + " AS day"
		}
		sel = append(sel, col)
		pos = append(pos, strconv.Itoa(len(sel)))
	}
	for i, t := range terms {
		var s string
		switch {
		case !top:
			s = t
		case t == "1":
			s = "count(*)"
		case i == len(terms)-1:
			s = "COALESCE(sum(" + t + "), 0)" // cost, a float
		default:
			s = "COALESCE(" + d.sum + "(" + t + "), 0)"
		}
		if !top {
			s += " AS " + partTerms[i]
		}
		sel = append(sel, s)
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + from
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	if len(pos) > 0 && top {
		q += " GROUP BY " + strings.Join(pos, ", ") + " ORDER BY " + strings.Join(pos, ", ")
	}
	return q
}

// usageDest is where a usage row's columns scan to, in usageSQL's order.
func usageDest(p usagePlan, r *UsageRow) []any {
	var dst []any
	for i, on := range p.group {
		if on {
			dst = append(dst, [...]*string{&r.KeyID, &r.Team, &r.Model, &r.EndUser, &r.Day}[i])
		}
	}
	return append(dst, &r.Requests, &r.Errors, &r.PromptTokens, &r.CompletionTokens, &r.CachedTokens,
		&r.CacheWriteTokens, &r.ReasoningTokens, &r.CostUSD)
}

// "sluice logs": the request logs through a running gateway's admin API.

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/telemetry"
)

const (
	logsPath = "/admin/v1/logs"
	// followLookback is how far before the newest row seen --follow asks
	// again, for rows logged late: a request is logged when it ends,
	// with the time it started, so a long stream comes after shorter
	// requests that started later.
	followLookback = time.Minute
	// followMaxPages bounds the pages one poll reads (of 1000 rows).
	followMaxPages = 10
	// followFirst is how many rows --follow shows before the new ones,
	// unless --limit says otherwise.
	followFirst = 20
)

const logsAbout = `Show the request logs (GET /admin/v1/logs), newest first: a table, or
the server's JSON with --json. Filters combine (all must match).

With --follow, print the newest rows (oldest first), then every row logged
afterwards, once, polling every second until interrupted (Ctrl-C); with
--json each row is one line of JSON. A request is logged when it ends, with
the time it started: --follow looks back a minute before the newest row
for such late rows.`

// cmdLogs runs "sluice logs". args are the arguments after "logs".
func cmdLogs(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l := &logsCLI{
		c:    &keysCLI{stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now, prog: "sluice logs", timeout: 10 * time.Second},
		wait: waitInterval(time.Second),
	}
	return l.run(ctx, args)
}

// waitInterval waits d, or until ctx ends (then it returns false).
func waitInterval(d time.Duration) func(context.Context) bool {
	return func(ctx context.Context) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// logsCLI is one run of "sluice logs".
type logsCLI struct {
	c *keysCLI
	// wait is the pause between two polls of --follow; false ends it
	// (interrupted). Tests replace it.
	wait func(context.Context) bool
}

func (l *logsCLI) run(ctx context.Context, args []string) int {
	c := l.c
	fs := flag.NewFlagSet("sluice logs", flag.ContinueOnError)
	cmd := &keysCommand{c: c, fs: fs, synopsis: "[flags]", about: logsAbout}
	c.commonFlags(fs)
	q := url.Values{}
	for _, f := range []struct{ flag, param, what string }{
		{"request-id", "request_id", "the request `ID` (its x-request-id)"},
		{"key-id", "key_id", "the virtual key `ID`"},
		{"model", "model", "the public `MODEL` asked for"},
		{"end-user", "end_user", "the end `USER` (the request's user field)"},
		{"team", "team", "the `TEAM` (the key's team id, or its team label)"},
	} {
		fs.Func(f.flag, "only the rows of "+f.what, func(s string) error {
			q.Set(f.param, s)
			return nil
		})
	}
	status := fs.Int("status", 0, "only the rows answered with HTTP `STATUS`, such as 429")
	var when whenFlags
	when.declare(cmd, "rows")
	limit := fs.Int("limit", 0, "`N` rows per page (0: the server's default, 100; at most 1000)")
	cursor := fs.String("cursor", "", "start at `CURSOR`, the next_cursor of an earlier page (older rows)")
	follow := fs.Bool("follow", false, "then print new rows as they are logged, until interrupted")
	if _, code, ok := cmd.parse(args); !ok {
		return code
	}
	switch {
	case *status != 0 && (*status < 100 || *status > 599):
		return cmd.fail("--status must be an HTTP status from 100 to 599")
	case *limit < 0 || *limit > 1000:
		return cmd.fail("--limit must be from 1 to 1000")
	case *follow && *cursor != "":
		return cmd.fail("--follow starts at the newest rows: it takes no --cursor")
	case *follow && when.until != "":
		return cmd.fail("--follow prints rows as they come: it takes no --until")
	}
	if *status != 0 {
		q.Set("status", strconv.Itoa(*status))
	}
	if err := when.query(c.now(), q.Set); err != nil {
		return cmd.fail("%v", err)
	}
	if *cursor != "" {
		q.Set("cursor", *cursor)
	}
	if code := c.setup(); code != 0 {
		return code
	}
	if *follow {
		first := *limit
		if first == 0 {
			first = followFirst
		}
		return l.follow(ctx, q, first)
	}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	body, ok := c.call(http.MethodGet, logsPath, q, nil)
	if !ok {
		return 1
	}
	if c.json {
		return c.printJSON(body)
	}
	var page telemetry.LogPage
	if code := c.decode(body, &page); code != 0 {
		return code
	}
	logsHeader(c.stdout)
	for i := range page.Data {
		logsRow(c.stdout, &page.Data[i])
	}
	if page.NextCursor != "" {
		fmt.Fprintf(c.stderr, "older rows follow: run with --cursor %s for the next page\n", keysSanitize(page.NextCursor))
	}
	return 0
}

// follow prints the newest first rows, then the rows logged afterwards,
// until ctx ends or l.wait says so. It keeps the rows of the last
// followLookback (before the newest one) it has seen, and asks for that
// whole window each time, so that a row logged late is printed once too.
func (l *logsCLI) follow(ctx context.Context, filters url.Values, first int) int {
	c := l.c
	userSince := filters.Get("since")
	seen := map[string]time.Time{}
	// The newest first rows: the first window reaches back to the oldest
	// of them (or a minute before the newest, if that is earlier).
	q := url.Values{}
	for k, v := range filters {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(first))
	body, ok := c.call(http.MethodGet, logsPath, q, nil)
	if !ok {
		return 1
	}
	var page telemetry.LogPage
	if code := c.decode(body, &page); code != 0 {
		return code
	}
	var newest, from time.Time
	if n := len(page.Data); n > 0 {
		newest = page.Data[0].Time
		from = newest.Add(-followLookback)
		if oldest := page.Data[n-1].Time; oldest.Before(from) {
			from = oldest
		}
	}
	warned := false
	for round := 0; ; round++ {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		if !newest.IsZero() {
			since := newest.Add(-followLookback)
			if round == 0 {
				since = from
			}
			if t, err := time.Parse(time.RFC3339Nano, userSince); err == nil && t.After(since) {
				since = t
			}
			q.Set("since", since.Format(time.RFC3339Nano))
		}
		rows, complete, ok := l.window(q)
		if !ok {
			return 1
		}
		if !complete && !warned {
			fmt.Fprintf(c.stderr, "%s: over %d rows in a minute: some may be missed (narrow the filters)\n", c.name(), followMaxPages*1000)
			warned = true
		}
		var fresh []telemetry.Record
		for _, r := range rows {
			id := r.RequestID + "\x00" + r.Time.Format(time.RFC3339Nano)
			if _, ok := seen[id]; ok {
				continue
			}
			seen[id] = r.Time
			fresh = append(fresh, r)
			if r.Time.After(newest) {
				newest = r.Time
			}
		}
		slices.SortFunc(fresh, func(a, b telemetry.Record) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.RequestID, b.RequestID))
		})
		if round == 0 {
			// What was there before: only the newest rows.
			fresh = fresh[max(0, len(fresh)-first):]
			if !c.json {
				logsHeader(c.stdout)
			}
		}
		for i := range fresh {
			if code := l.print(&fresh[i]); code != 0 {
				return code
			}
		}
		for id, t := range seen {
			if t.Before(newest.Add(-followLookback)) {
				delete(seen, id)
			}
		}
		if !l.wait(ctx) {
			return 0
		}
	}
}

// window reads every page of q, newest first, up to followMaxPages of
// 1000 rows; complete is false when more pages were left.
func (l *logsCLI) window(q url.Values) (rows []telemetry.Record, complete, ok bool) {
	q.Set("limit", "1000")
	for range followMaxPages {
		body, ok := l.c.call(http.MethodGet, logsPath, q, nil)
		if !ok {
			return nil, false, false
		}
		var page telemetry.LogPage
		if l.c.decode(body, &page) != 0 {
			return nil, false, false
		}
		rows = append(rows, page.Data...)
		if page.NextCursor == "" {
			return rows, true, true
		}
		q.Set("cursor", page.NextCursor)
	}
	return rows, false, true
}

// print writes one row of --follow: a table line, or a line of JSON.
func (l *logsCLI) print(r *telemetry.Record) int {
	if !l.c.json {
		logsRow(l.c.stdout, r)
		return 0
	}
	b, err := json.Marshal(r)
	if err != nil {
		l.c.errorf("%v\n", err)
		return 1
	}
	if _, err := l.c.stdout.Write(append(b, '\n')); err != nil {
		l.c.errorf("%v\n", err)
		return 1
	}
	return 0
}

// logsFormat lays out a logs table line. The widths are fixed (a longer
// value widens its line only), so that --follow's lines, printed as they
// come, stay in columns.
const logsFormat = "%-24s  %-20s  %-12s  %-10s  %-10s  %-18s  %6s  %9s  %7s  %7s  %10s  %s\n"

func logsHeader(w io.Writer) {
	fmt.Fprintf(w, logsFormat, "TIME", "REQUEST ID", "KEY", "TEAM", "END USER", "MODEL", "STATUS", "LATENCY", "IN", "OUT", "COST", "ERROR")
}

func logsRow(w io.Writer, r *telemetry.Record) {
	errText := r.ErrorCode
	if r.RateLimit != "" {
		errText = strings.TrimPrefix(errText+" ("+r.RateLimit+")", " ")
	}
	fmt.Fprintf(w, logsFormat, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), keysCell(r.RequestID),
		keysCell(r.KeyID), keysCell(r.Team), keysCell(r.EndUser), keysCell(r.Model), strconv.Itoa(r.Status),
		fmt.Sprintf("%dms", r.Latency.Milliseconds()), strconv.FormatInt(r.PromptTokens, 10),
		strconv.FormatInt(r.CompletionTokens, 10), fmt.Sprintf("$%.6f", r.CostUSD), keysCell(errText))
}

// The admin API client of "sluice keys" (and "sluice teams") and what it
// prints.

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/sluice-gw/sluice/internal/auth"
)

// name is the command the CLI runs as, for messages: "sluice keys" unless
// prog says otherwise.
func (c *keysCLI) name() string {
	if c.prog == "" {
		return "sluice keys"
	}
	return c.prog
}

// what is what the command's IDs name: "key" unless noun says otherwise.
func (c *keysCLI) what() string {
	if c.noun == "" {
		return "key"
	}
	return c.noun
}

// errorf reports a failure on stderr, after the command's name.
func (c *keysCLI) errorf(format string, a ...any) {
	fmt.Fprintf(c.stderr, "%s: %s", c.name(), fmt.Sprintf(format, a...))
}

// setup resolves the admin URL and token, after the flags. It returns 0,
// or the exit status of a mistake it reported.
func (c *keysCLI) setup() int {
	token := c.token.v
	if token == "" {
		token = c.getenv(envAdminToken)
	}
	if token == "" {
		c.errorf("no admin token: set %s or pass --admin-token\n", envAdminToken)
		return 2
	}
	c.token.v = token
	raw := c.rawURL
	if raw == "" {
		raw = c.getenv(envAdminURL)
	}
	if raw == "" {
		raw = defaultAdminURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.errorf("--url %q: must be an http:// or https:// URL such as %s\n", keysSanitize(raw), defaultAdminURL)
		return 2
	}
	if u.User != nil {
		c.errorf("--url must not hold credentials: pass the token with %s or --admin-token\n", envAdminToken)
		return 2
	}
	if c.timeout <= 0 {
		c.errorf("--timeout must be positive\n")
		return 2
	}
	c.base = strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	c.client = &http.Client{
		Timeout: c.timeout,
		// The admin API does not redirect; following one would send the
		// token somewhere the operator did not name.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return 0
}

// call sends one admin API request and returns the body of a 2xx answer.
// Any failure is reported on stderr and ok is false (exit status 1).
func (c *keysCLI) call(method, path string, query url.Values, body []byte) (resp []byte, ok bool) {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		c.errorf("%v\n", err)
		return nil, false
	}
	req.Header.Set("Authorization", "Bearer "+c.token.v)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sluice-cli/"+buildVersion())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.client.Do(req)
	if err != nil {
		c.reportTransport(err)
		return nil, false
	}
	defer res.Body.Close()
	resp, err = io.ReadAll(io.LimitReader(res.Body, maxAdminBody+1))
	if err != nil {
		c.reportTransport(err)
		return nil, false
	}
	if len(resp) > maxAdminBody {
		c.errorf("the admin API's answer is over %d MiB\n", maxAdminBody>>20)
		return nil, false
	}
	if res.StatusCode/100 != 2 {
		c.reportStatus(res, resp)
		return nil, false
	}
	return resp, true
}

// reportTransport reports a request that got no HTTP answer.
func (c *keysCLI) reportTransport(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		c.errorf("cannot connect to the admin API at %s: connection refused (is the gateway running there? see --url and %s)\n", c.base, envAdminURL)
	case errors.As(err, &ne) && ne.Timeout():
		c.errorf("the admin API at %s did not answer within %s (see --timeout)\n", c.base, c.timeout)
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		c.errorf("request to the admin API at %s failed: %s\n", c.base, c.clean(err.Error()))
	}
}

// reportStatus reports a non-2xx answer: the message of the server's
// {"error": {...}} object, or else the status and the body's first line.
func (c *keysCLI) reportStatus(res *http.Response, body []byte) {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg := e.Error.Message
		if p := e.Error.Param; p != "" && !strings.Contains(msg, p) {
			msg = p + ": " + msg
		}
		c.errorf("%s (HTTP %d)\n", c.clean(msg), res.StatusCode)
		return
	}
	msg := fmt.Sprintf("%s: the admin API at %s answered HTTP %s", c.name(), c.base, res.Status)
	if loc := res.Header.Get("Location"); res.StatusCode/100 == 3 && loc != "" {
		msg += fmt.Sprintf(" (a redirect to %s: use that --url)", c.clean(loc))
	} else if line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n"); line != "" {
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		msg += ": " + c.clean(line)
	}
	fmt.Fprintln(c.stderr, msg)
}

// clean makes text from elsewhere safe to print: no control characters,
// and never the admin token, should a server echo it.
func (c *keysCLI) clean(s string) string {
	s = keysSanitize(s)
	if c.token.v != "" {
		s = strings.ReplaceAll(s, c.token.v, "[admin token]")
	}
	return s
}

// printJSON prints a JSON body indented. It returns the exit status.
func (c *keysCLI) printJSON(body []byte) int {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(body), "", "  "); err != nil {
		c.errorf("the admin API answered with malformed JSON: %v\n", err)
		return 1
	}
	buf.WriteByte('\n')
	if _, err := c.stdout.Write(buf.Bytes()); err != nil {
		c.errorf("%v\n", err)
		return 1
	}
	return 0
}

// decode decodes a successful answer into v. It returns the exit status.
func (c *keysCLI) decode(body []byte, v any) int {
	if err := json.Unmarshal(body, v); err != nil {
		c.errorf("the admin API answered with an unexpected body: %v\n", err)
		return 1
	}
	return 0
}

// keysPage is one page of a list answer.
type keysPage struct {
	Data       []json.RawMessage `json:"data"`
	NextCursor string            `json:"next_cursor"`
}

// pages fetches one page of a listing, or every page with all. With --json
// it prints the answer (for all pages, one object whose data holds every
// item) and returns done true. Otherwise it returns the items and the
// cursor of the next page ("" after the last).
func (c *keysCLI) pages(path string, q url.Values, all bool) (items []json.RawMessage, next string, code int, done bool) {
	seen := map[string]bool{}
	for {
		body, ok := c.call(http.MethodGet, path, q, nil)
		if !ok {
			return nil, "", 1, true
		}
		if c.json && !all {
			return nil, "", c.printJSON(body), true
		}
		var p keysPage
		if code := c.decode(body, &p); code != 0 {
			return nil, "", code, true
		}
		items = append(items, p.Data...)
		next = p.NextCursor
		if !all || next == "" {
			break
		}
		if seen[next] {
			c.errorf("the admin API returned the same next_cursor twice\n")
			return nil, "", 1, true
		}
		seen[next] = true
		q.Set("cursor", next)
	}
	if c.json {
		if items == nil {
			items = []json.RawMessage{}
		}
		b, err := json.Marshal(keysPage{Data: items})
		if err != nil {
			c.errorf("%v\n", err)
			return nil, "", 1, true
		}
		return nil, "", c.printJSON(b), true
	}
	return items, next, 0, false
}

// createdKey is the answer to create and rotate: the key object plus its
// secret.
type createdKey struct {
	auth.Key
	Secret string `json:"key"`
}

// printCreated prints a created or rotated key and its secret, once.
func (c *keysCLI) printCreated(body []byte) int {
	if c.json {
		return c.printJSON(body)
	}
	var k createdKey
	if code := c.decode(body, &k); code != 0 {
		return code
	}
	if k.Secret == "" {
		c.errorf("the admin API's answer holds no secret\n")
		return 1
	}
	c.keyTable([]auth.Key{k.Key})
	fmt.Fprintf(c.stdout, "\nThe secret of key %s follows. It will not be shown again: store it now.\n%s\n", keysSanitize(k.ID), k.Secret)
	return 0
}

// printKey prints a key object: JSON, or one table row.
func (c *keysCLI) printKey(body []byte, detail bool) int {
	if c.json {
		return c.printJSON(body)
	}
	var k auth.Key
	if code := c.decode(body, &k); code != 0 {
		return code
	}
	if detail {
		c.keyDetail(&k)
	} else {
		c.keyTable([]auth.Key{k})
	}
	return 0
}

// keyState is a key's state as the table shows it.
func keyState(k *auth.Key, now time.Time) string {
	switch {
	case k.Revoked:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	case k.Disabled:
		return "disabled"
	}
	return "active"
}

func (c *keysCLI) keyTable(keys []auth.Key) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tMODELS\tRPM\tTPM\tBUDGET\tSTATE\tCREATED")
	now := c.now()
	for i := range keys {
		k := &keys[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", keysCell(k.ID), keysCell(k.Name), keysCell(k.Prefix),
			keysModels(k.Models), keysLimit(k.RPM), keysLimit(k.TPM), keysBudget(k), keyState(k, now), keysTime(k.CreatedAt))
	}
	_ = tw.Flush()
}

// keyDetail prints every field of one key, a line each.
func (c *keysCLI) keyDetail(k *auth.Key) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	expires := "never"
	if k.ExpiresAt != nil {
		expires = keysTime(*k.ExpiresAt)
	}
	tags := make([]string, 0, len(k.Tags))
	for _, name := range slices.Sorted(maps.Keys(k.Tags)) {
		tags = append(tags, name+"="+k.Tags[name])
	}
	limits := make([]string, 0, len(k.ModelLimits))
	for _, m := range slices.Sorted(maps.Keys(k.ModelLimits)) {
		l := k.ModelLimits[m]
		limits = append(limits, fmt.Sprintf("%s (rpm %s, tpm %s)", m, keysLimit(l.RPM), keysLimit(l.TPM)))
	}
	guard := "the model's"
	if len(k.Guardrails) > 0 {
		guard = strings.Join(k.Guardrails, ", ")
	}
	budget := keysBudget(k)
	if budget == "-" {
		budget = "none"
	}
	models := "all"
	if len(k.Models) > 0 {
		models = strings.Join(k.Models, ", ")
	}
	rows := [][2]string{
		{"id", k.ID}, {"name", k.Name}, {"prefix", k.Prefix}, {"state", keyState(k, c.now())},
		{"models", models}, {"rpm", keysOrDefault(keysLimit(k.RPM))}, {"tpm", keysOrDefault(keysLimit(k.TPM))},
		{"max concurrent", keysOrDefault(keysLimit(k.MaxConcurrent))}, {"budget", budget},
		{"spend", fmt.Sprintf("$%.2f", k.SpendUSD)}, {"expires", expires}, {"team", k.Team},
		{"team id", k.TeamID}, {"end users", endUsersCell(k.EndUserLimits, "no limits")},
		{"tags", strings.Join(tags, ", ")}, {"model limits", strings.Join(limits, "; ")},
		{"guardrails", guard}, {"routing headers", keysAllowed(k.AllowRoutingHeaders)}, {"priority", keysPriority(k.Priority)},
		{"created", keysTime(k.CreatedAt)}, {"updated", keysTime(k.UpdatedAt)},
	}
	if k.Static {
		rows = append(rows, [2]string{"static", "yes: defined in the config file, read-only here"})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], keysCell(r[1]))
	}
	_ = tw.Flush()
}

func (c *keysCLI) auditTable(entries []auth.AuditEntry) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tKEY\tCHANGES")
	for _, e := range entries {
		changes := strings.Join(slices.Sorted(maps.Keys(e.Changes)), ",")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", keysTime(e.Time), keysCell(e.Action), keysCell(e.KeyID), keysCell(changes))
	}
	_ = tw.Flush()
}

// keysOrDefault spells out a limit cell's "-" for the detail view.
func keysOrDefault(s string) string {
	if s == "-" {
		return "default"
	}
	return s
}

// keysPriority shows a key's priority; a server from before priorities
// sends none, which is normal.
func keysPriority(p string) string {
	if p == "" {
		return auth.PriorityNormal
	}
	return p
}

func keysAllowed(b bool) string {
	if b {
		return "allowed"
	}
	return "not allowed"
}

// keysModels shows at most three models.
func keysModels(models []string) string {
	if len(models) == 0 {
		return "all"
	}
	if len(models) > 3 {
		return keysCell(strings.Join(models[:3], ",")) + fmt.Sprintf(",+%d", len(models)-3)
	}
	return keysCell(strings.Join(models, ","))
}

// keysLimit shows a limit; 0 is the configured default.
func keysLimit(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func keysBudget(k *auth.Key) string {
	if k.BudgetUSD == 0 {
		return "-"
	}
	period := k.BudgetPeriod
	if period == "" {
		period = auth.PeriodTotal
	}
	return fmt.Sprintf("$%.2f/%s", k.BudgetUSD, keysCell(period))
}

func keysTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// cell is text for a table cell: sanitized, "-" when empty.
func keysCell(s string) string {
	if s == "" {
		return "-"
	}
	return keysSanitize(s)
}

// sanitize replaces control characters (tabs and newlines included), so
// that server text cannot break a table or drive the terminal.
func keysSanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

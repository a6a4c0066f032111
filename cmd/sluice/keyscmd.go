package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
)

const keysUsage = `Usage: sluice keys COMMAND [flags]

Manage virtual API keys through a running gateway's admin API.

Commands:
  create --name NAME [flags]   create a key and print its secret, once
  list [--limit N] [--all]     list keys
  get ID                       show one key
  update ID [flags]            change only the fields whose flags are given
  revoke ID                    revoke a key for good
  rotate ID                    give a key a new secret and print it, once
  audit [--key ID] [--limit N] show the audit log, newest first

Flags of every command (before or after it):
  --url URL            admin API root (default $SLUICE_ADMIN_URL, else
                       http://127.0.0.1:8080)
  --admin-token TOKEN  admin token (default $SLUICE_ADMIN_TOKEN; prefer the
                       variable: arguments are visible to other local users)
  --json               print the server's JSON objects, indented
  --timeout DURATION   time limit of each request (default 10s)

Run "sluice keys COMMAND --help" for a command's flags.
Exit status: 0 on success, 1 when a request fails or the server refuses it,
2 when the command line is wrong.
`

const (
	defaultAdminURL = "http://127.0.0.1:8080"
	envAdminURL     = "SLUICE_ADMIN_URL"
	envAdminToken   = "SLUICE_ADMIN_TOKEN"
	keysPath        = "/admin/v1/keys"
	auditPath       = "/admin/v1/audit"
	// maxAdminBody bounds what is read of one admin API response.
	maxAdminBody = 64 << 20
)

// cmdKeys runs "sluice keys ...". args are the arguments after "keys". It
// returns the process exit status.
func cmdKeys(args []string, stdout, stderr io.Writer) int {
	c := &keysCLI{stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	return c.run(args)
}

// keysCLI is one run of "sluice keys".
type keysCLI struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time

	// Flags shared by every command; set before and after the command name.
	rawURL  string
	token   secretFlag
	json    bool
	timeout time.Duration

	// Set by setup.
	base   string // admin API root, without a trailing slash
	client *http.Client
}

// secretFlag is a flag value that never shows itself, not even as a
// default in --help.
type secretFlag struct{ v string }

func (s *secretFlag) String() string     { return "" }
func (s *secretFlag) Set(v string) error { s.v = v; return nil }

// commonFlags declares the shared flags on fs, with their current values
// as defaults, so that the command's flag set keeps what was given before
// the command name.
func (c *keysCLI) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.rawURL, "url", c.rawURL, "admin API root `URL` (default $SLUICE_ADMIN_URL, else "+defaultAdminURL+")")
	fs.Var(&c.token, "admin-token", "admin `TOKEN` (default $SLUICE_ADMIN_TOKEN; prefer the variable: arguments are visible to other local users)")
	fs.BoolVar(&c.json, "json", c.json, "print the server's JSON objects, indented, instead of tables")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "time limit of each request")
}

func (c *keysCLI) run(args []string) int {
	c.timeout = 10 * time.Second
	fs := flag.NewFlagSet("sluice keys", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {}
	c.commonFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, keysUsage)
			return 0
		}
		fmt.Fprintf(c.stderr, "\n%s", keysUsage)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(c.stderr, keysUsage)
		return 2
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	switch sub {
	case "create":
		return c.create(rest)
	case "list":
		return c.list(rest)
	case "get":
		return c.get(rest)
	case "update":
		return c.update(rest)
	case "revoke":
		return c.revoke(rest)
	case "rotate":
		return c.rotate(rest)
	case "audit":
		return c.audit(rest)
	case "help":
		if len(rest) > 0 {
			return c.run([]string{rest[0], "--help"})
		}
		fmt.Fprint(c.stdout, keysUsage)
		return 0
	}
	fmt.Fprintf(c.stderr, "sluice keys: unknown command %q\n\n%s", sub, keysUsage)
	return 2
}

// command is the flag set and help text of one "sluice keys" command.
type command struct {
	c        *keysCLI
	fs       *flag.FlagSet
	synopsis string // after "sluice keys "
	about    string
	npos     int // positional arguments the command takes (0 or 1)
}

func (c *keysCLI) command(name, synopsis, about string, npos int) *command {
	fs := flag.NewFlagSet("sluice keys "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {}
	c.commonFlags(fs)
	return &command{c: c, fs: fs, synopsis: synopsis, about: about, npos: npos}
}

func (cmd *command) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: sluice keys %s\n\n%s\n\nFlags:\n", cmd.synopsis, cmd.about)
	cmd.fs.SetOutput(w)
	cmd.fs.PrintDefaults()
	cmd.fs.SetOutput(cmd.c.stderr)
}

// fail reports a command-line mistake and returns exit status 2.
func (cmd *command) fail(format string, a ...any) int {
	fmt.Fprintf(cmd.c.stderr, "%s: %s\n\n", cmd.fs.Name(), fmt.Sprintf(format, a...))
	cmd.usage(cmd.c.stderr)
	return 2
}

// parse parses args, in which flags and positional arguments may mix
// ("update ID --rpm 60" and "update --rpm 60 ID"), and returns the
// positional arguments. When ok is false the run ends with status code
// (help printed, or a mistake reported).
func (cmd *command) parse(args []string) (pos []string, code int, ok bool) {
	for {
		if err := cmd.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmd.usage(cmd.c.stdout)
				return nil, 0, false
			}
			fmt.Fprintln(cmd.c.stderr)
			cmd.usage(cmd.c.stderr)
			return nil, 2, false
		}
		if cmd.fs.NArg() == 0 {
			break
		}
		pos = append(pos, cmd.fs.Arg(0))
		args = cmd.fs.Args()[1:]
	}
	switch {
	case len(pos) < cmd.npos:
		return nil, cmd.fail("missing the key ID"), false
	case len(pos) > cmd.npos:
		return nil, cmd.fail("unexpected argument %q", pos[cmd.npos]), false
	}
	return pos, 0, true
}

// setup resolves the admin URL and token, after the flags. It returns 0,
// or the exit status of a mistake it reported.
func (c *keysCLI) setup() int {
	token := c.token.v
	if token == "" {
		token = c.getenv(envAdminToken)
	}
	if token == "" {
		fmt.Fprintf(c.stderr, "sluice keys: no admin token: set %s or pass --admin-token\n", envAdminToken)
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
		fmt.Fprintf(c.stderr, "sluice keys: --url %q: must be an http:// or https:// URL such as %s\n", sanitize(raw), defaultAdminURL)
		return 2
	}
	if u.User != nil {
		fmt.Fprintf(c.stderr, "sluice keys: --url must not hold credentials: pass the token with %s or --admin-token\n", envAdminToken)
		return 2
	}
	if c.timeout <= 0 {
		fmt.Fprintf(c.stderr, "sluice keys: --timeout must be positive\n")
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
		fmt.Fprintf(c.stderr, "sluice keys: %v\n", err)
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
		fmt.Fprintf(c.stderr, "sluice keys: the admin API's answer is over %d MiB\n", maxAdminBody>>20)
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
		fmt.Fprintf(c.stderr, "sluice keys: cannot connect to the admin API at %s: connection refused (is the gateway running there? see --url and %s)\n", c.base, envAdminURL)
	case errors.As(err, &ne) && ne.Timeout():
		fmt.Fprintf(c.stderr, "sluice keys: the admin API at %s did not answer within %s (see --timeout)\n", c.base, c.timeout)
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		fmt.Fprintf(c.stderr, "sluice keys: request to the admin API at %s failed: %s\n", c.base, c.clean(err.Error()))
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
		fmt.Fprintf(c.stderr, "sluice keys: %s (HTTP %d)\n", c.clean(msg), res.StatusCode)
		return
	}
	msg := fmt.Sprintf("sluice keys: the admin API at %s answered HTTP %s", c.base, res.Status)
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
	s = sanitize(s)
	if c.token.v != "" {
		s = strings.ReplaceAll(s, c.token.v, "[admin token]")
	}
	return s
}

// printJSON prints a JSON body indented. It returns the exit status.
func (c *keysCLI) printJSON(body []byte) int {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(body), "", "  "); err != nil {
		fmt.Fprintf(c.stderr, "sluice keys: the admin API answered with malformed JSON: %v\n", err)
		return 1
	}
	buf.WriteByte('\n')
	if _, err := c.stdout.Write(buf.Bytes()); err != nil {
		fmt.Fprintf(c.stderr, "sluice keys: %v\n", err)
		return 1
	}
	return 0
}

// decode decodes a successful answer into v. It returns the exit status.
func (c *keysCLI) decode(body []byte, v any) int {
	if err := json.Unmarshal(body, v); err != nil {
		fmt.Fprintf(c.stderr, "sluice keys: the admin API answered with an unexpected body: %v\n", err)
		return 1
	}
	return 0
}

// page is one page of a list answer.
type page struct {
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
		var p page
		if code := c.decode(body, &p); code != 0 {
			return nil, "", code, true
		}
		items = append(items, p.Data...)
		next = p.NextCursor
		if !all || next == "" {
			break
		}
		if seen[next] {
			fmt.Fprintf(c.stderr, "sluice keys: the admin API returned the same next_cursor twice\n")
			return nil, "", 1, true
		}
		seen[next] = true
		q.Set("cursor", next)
	}
	if c.json {
		if items == nil {
			items = []json.RawMessage{}
		}
		b, err := json.Marshal(page{Data: items})
		if err != nil {
			fmt.Fprintf(c.stderr, "sluice keys: %v\n", err)
			return nil, "", 1, true
		}
		return nil, "", c.printJSON(b), true
	}
	return items, next, 0, false
}

// pageFlags declares --limit, --cursor and --all.
func pageFlags(fs *flag.FlagSet, what string) (limit *int, cursor *string, all *bool) {
	limit = fs.Int("limit", 0, "`N` "+what+" per page (0: the server's default, 50; at most 500)")
	cursor = fs.String("cursor", "", "start at this next_cursor of an earlier page")
	all = fs.Bool("all", false, "follow next_cursor to the last page")
	return limit, cursor, all
}

func pageQuery(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
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
		fmt.Fprintf(c.stderr, "sluice keys: the admin API's answer holds no secret\n")
		return 1
	}
	c.keyTable([]auth.Key{k.Key})
	fmt.Fprintf(c.stdout, "\nThe secret of key %s follows. It will not be shown again: store it now.\n%s\n", sanitize(k.ID), k.Secret)
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

func keyPath(id string) string { return keysPath + "/" + url.PathEscape(id) }

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
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
	token   keysTokenFlag
	json    bool
	timeout time.Duration

	// Set by setup.
	base   string // admin API root, without a trailing slash
	client *http.Client

	// prog and noun name the command and what its IDs name, for
	// messages: "sluice keys" and "key" when empty ("sluice teams" and
	// "team" for teamsCLI).
	prog, noun string
}

// keysTokenFlag is a flag value that never shows itself, not even as a
// default in --help.
type keysTokenFlag struct{ v string }

func (s *keysTokenFlag) String() string     { return "" }
func (s *keysTokenFlag) Set(v string) error { s.v = v; return nil }

// commonFlags declares the shared flags on fs, with their current values
// as defaults, so that the command's flag set keeps what was given before
// the command name.
func (c *keysCLI) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.rawURL, "url", c.rawURL, "admin API root `URL` (default $SLUICE_ADMIN_URL, else "+defaultAdminURL+")")
	fs.Var(&c.token, "admin-token", "admin `TOKEN` (default $SLUICE_ADMIN_TOKEN; prefer the variable: arguments are visible to other local users)")
	fs.BoolVar(&c.json, "json", c.json, "print the server's JSON objects, indented, instead of tables")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "time limit of each request, a `DURATION` such as 10s or 1m")
}

func (c *keysCLI) run(args []string) int {
	return c.dispatch("sluice keys", keysUsage, args, map[string]func([]string) int{
		"create": c.create, "list": c.list, "get": c.get, "update": c.update,
		"revoke": c.revoke, "rotate": c.rotate, "audit": c.audit,
	})
}

// dispatch parses the flags common to an admin API command (prog, such as
// "sluice keys") and runs the subcommand of subs its first argument names;
// "help" and --help print usage.
func (c *keysCLI) dispatch(prog, usage string, args []string, subs map[string]func([]string) int) int {
	c.timeout = 10 * time.Second
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	c.commonFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, usage)
			return 0
		}
		fmt.Fprintf(c.stderr, "%s: %v\n\n%s", prog, err, usage)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(c.stderr, usage)
		return 2
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	if run, ok := subs[sub]; ok {
		return run(rest)
	}
	if sub == "help" {
		if len(rest) > 0 {
			return c.dispatch(prog, usage, []string{rest[0], "--help"}, subs)
		}
		fmt.Fprint(c.stdout, usage)
		return 0
	}
	fmt.Fprintf(c.stderr, "%s: unknown command %q\n\n%s", prog, sub, usage)
	return 2
}

// keysCommand is the flag set and help text of one "sluice keys" (or
// "sluice teams") command.
type keysCommand struct {
	c        *keysCLI
	fs       *flag.FlagSet
	synopsis string // after "sluice keys "
	about    string
	npos     int // positional arguments the command takes (0 or 1)
}

func (c *keysCLI) command(name, synopsis, about string, npos int) *keysCommand {
	fs := flag.NewFlagSet(c.name()+" "+name, flag.ContinueOnError)
	c.commonFlags(fs)
	return &keysCommand{c: c, fs: fs, synopsis: synopsis, about: about, npos: npos}
}

func (cmd *keysCommand) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s %s\n\n%s\n\nFlags:\n", cmd.c.name(), cmd.synopsis, cmd.about)
	printFlags(w, cmd.fs)
}

// fail reports a command-line mistake and returns exit status 2.
func (cmd *keysCommand) fail(format string, a ...any) int {
	fmt.Fprintf(cmd.c.stderr, "%s: %s\n\n", cmd.fs.Name(), fmt.Sprintf(format, a...))
	cmd.usage(cmd.c.stderr)
	return 2
}

// parse parses args, in which flags and positional arguments may mix
// ("update ID --rpm 60" and "update --rpm 60 ID"), and returns the
// positional arguments. When ok is false the run ends with status code
// (help printed, or a mistake reported).
func (cmd *keysCommand) parse(args []string) (pos []string, code int, ok bool) {
	for {
		if err := parseFlags(cmd.fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmd.usage(cmd.c.stdout)
				return nil, 0, false
			}
			return nil, cmd.fail("%v", err), false
		}
		if cmd.fs.NArg() == 0 {
			break
		}
		pos = append(pos, cmd.fs.Arg(0))
		args = cmd.fs.Args()[1:]
	}
	switch {
	case len(pos) < cmd.npos:
		return nil, cmd.fail("missing the %s ID", cmd.c.what()), false
	case len(pos) > cmd.npos:
		return nil, cmd.fail("unexpected argument %q", pos[cmd.npos]), false
	}
	// A server that decodes and cleans the path (fasthttp does) would
	// read "a/../b" as another key's path: refuse such IDs here.
	for _, id := range pos {
		if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
			return nil, cmd.fail("%q is not a %s ID", id, cmd.c.what()), false
		}
	}
	return pos, 0, true
}

// keysPageFlags declares --limit, --cursor and --all.
func keysPageFlags(fs *flag.FlagSet, what string) (limit *int, cursor *string, all *bool) {
	limit = fs.Int("limit", 0, "`N` "+what+" per page (0: the server's default, 50; at most 500)")
	cursor = fs.String("cursor", "", "start at `CURSOR`, the next_cursor of an earlier page")
	all = fs.Bool("all", false, "follow next_cursor to the last page")
	return limit, cursor, all
}

func keysPageQuery(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}

func keyPath(id string) string { return keysPath + "/" + url.PathEscape(id) }

// keyFlags are the writable key fields, as flags of create and update.
type keyFlags struct {
	name, team, teamID, budgetPeriod string
	expiresAt, priority              string
	models, guardrails               string
	rpm, tpm, maxConcurrent          int64
	budgetUSD                        float64
	disabled, allowRoutingHeaders    bool
	tags, removeTags                 []string
	endUsers                         *endUserFlags
}

func declareKeyFlags(fs *flag.FlagSet, update bool) *keyFlags {
	f := &keyFlags{}
	fs.StringVar(&f.name, "name", "", "the key's `NAME`")
	fs.StringVar(&f.models, "models", "", "comma-separated public `MODELS` the key may use (empty: all)")
	fs.Int64Var(&f.rpm, "rpm", 0, "`N` requests per minute (0: the default for keys)")
	fs.Int64Var(&f.tpm, "tpm", 0, "`N` tokens per minute (0: the default for keys)")
	fs.Int64Var(&f.maxConcurrent, "max-concurrent", 0, "`N` requests in flight at once (0: the default for keys)")
	fs.Float64Var(&f.budgetUSD, "budget-usd", 0, "spending budget in `USD` (0: none)")
	fs.StringVar(&f.budgetPeriod, "budget-period", "", "budget `PERIOD`: day, month or total (UTC; default total)")
	expires := "expiry `TIME`, RFC 3339 such as 2026-12-31T23:59:59Z"
	if update {
		expires += ` ("": never)`
	}
	fs.StringVar(&f.expiresAt, "expires-at", "", expires)
	fs.StringVar(&f.team, "team", "", "the key's `TEAM` label (free text, for reports)")
	teamID := "the `ID` of the team whose limits and budget the key shares (sluice teams)"
	if update {
		teamID += `; "": none`
	}
	fs.StringVar(&f.teamID, "team-id", "", teamID)
	declareTagFlags(fs, update, &f.tags, &f.removeTags)
	fs.BoolVar(&f.disabled, "disabled", false, "disable the key (--disabled=false enables it)")
	fs.BoolVar(&f.allowRoutingHeaders, "allow-routing-headers", false, "let the key's requests steer routing with headers")
	fs.StringVar(&f.guardrails, "guardrails", "", "comma-separated guardrail `SETS` (empty: the model's)")
	fs.StringVar(&f.priority, "priority", "", "`PRIORITY`: normal, or high to be shed last when the gateway is overloaded (default normal)")
	f.endUsers = declareEndUserFlags(fs, "key")
	return f
}

// body returns the JSON object of the fields whose flags were given on fs:
// a create body, or a JSON merge patch (RFC 7396) for update, where
// --expires-at "" is null and --remove-tag a null tag.
func (f *keyFlags) body(fs *flag.FlagSet, update bool) (map[string]any, error) {
	m := map[string]any{}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			m["name"] = f.name
		case "models":
			m["models"] = keysSplitList(f.models)
		case "rpm":
			m["rpm"] = f.rpm
		case "tpm":
			m["tpm"] = f.tpm
		case "max-concurrent":
			m["max_concurrent"] = f.maxConcurrent
		case "budget-usd":
			m["budget_usd"] = f.budgetUSD
		case "budget-period":
			m["budget_period"] = f.budgetPeriod
		case "expires-at":
			switch {
			case f.expiresAt == "" && update:
				m["expires_at"] = nil
			case f.expiresAt == "":
			default:
				if _, perr := time.Parse(time.RFC3339, f.expiresAt); perr != nil {
					err = fmt.Errorf("--expires-at %q: want an RFC 3339 time such as 2026-12-31T23:59:59Z", f.expiresAt)
				}
				m["expires_at"] = f.expiresAt
			}
		case "team":
			m["team"] = f.team
		case "team-id":
			m["team_id"] = f.teamID
		case "disabled":
			m["disabled"] = f.disabled
		case "allow-routing-headers":
			m["allow_routing_headers"] = f.allowRoutingHeaders
		case "guardrails":
			m["guardrails"] = keysSplitList(f.guardrails)
		case "priority":
			m["priority"] = f.priority
		}
	})
	f.endUsers.add(fs, m)
	if err := addTagsPatch(m, f.tags, f.removeTags); err != nil {
		return nil, err
	}
	return m, err
}

// keysSplitList splits a comma-separated list, dropping blanks; "" is an
// empty, non-nil list.
func keysSplitList(s string) []string {
	out := []string{}
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (c *keysCLI) create(args []string) int {
	cmd := c.command("create", "create --name NAME [flags]",
		"Create a key (POST /admin/v1/keys). Its secret is printed once, on the\nlast line; the server keeps only its hash.", 0)
	f := declareKeyFlags(cmd.fs, false)
	if _, code, ok := cmd.parse(args); !ok {
		return code
	}
	if f.name == "" {
		return cmd.fail("--name is required")
	}
	body, err := f.body(cmd.fs, false)
	if err != nil {
		return cmd.fail("%v", err)
	}
	if code := c.setup(); code != 0 {
		return code
	}
	b, err := json.Marshal(body)
	if err != nil {
		fmt.Fprintf(c.stderr, "sluice keys: %v\n", err)
		return 1
	}
	resp, ok := c.call(http.MethodPost, keysPath, nil, b)
	if !ok {
		return 1
	}
	return c.printCreated(resp)
}

func (c *keysCLI) update(args []string) int {
	cmd := c.command("update", "update ID [flags]",
		"Change a key (PATCH /admin/v1/keys/ID, a JSON merge patch): only the\nfields whose flags are given change.", 1)
	f := declareKeyFlags(cmd.fs, true)
	pos, code, ok := cmd.parse(args)
	if !ok {
		return code
	}
	body, err := f.body(cmd.fs, true)
	if err != nil {
		return cmd.fail("%v", err)
	}
	if len(body) == 0 {
		return cmd.fail("nothing to change: give at least one field's flag")
	}
	if code := c.setup(); code != 0 {
		return code
	}
	b, err := json.Marshal(body)
	if err != nil {
		fmt.Fprintf(c.stderr, "sluice keys: %v\n", err)
		return 1
	}
	resp, ok := c.call(http.MethodPatch, keyPath(pos[0]), nil, b)
	if !ok {
		return 1
	}
	return c.printKey(resp, false)
}

func (c *keysCLI) list(args []string) int {
	return listObjects(c, args, "keys", keysPath,
		"List keys (GET /admin/v1/keys): static keys first, then the others\nin creation order, revoked ones included.", c.keyTable)
}

// listObjects runs "list" for the objects under path (keys or teams,
// plural names them): a page, or every page with --all, printed by table.
func listObjects[T any](c *keysCLI, args []string, plural, path, about string, table func([]T)) int {
	cmd := c.command("list", "list [--limit N] [--all]", about, 0)
	limit, cursor, all := keysPageFlags(cmd.fs, plural)
	if _, code, ok := cmd.parse(args); !ok {
		return code
	}
	if *limit < 0 {
		return cmd.fail("--limit must not be negative")
	}
	if code := c.setup(); code != 0 {
		return code
	}
	items, next, code, done := c.pages(path, keysPageQuery(*limit, *cursor), *all)
	if done {
		return code
	}
	objs := make([]T, len(items))
	for i, it := range items {
		if code := c.decode(it, &objs[i]); code != 0 {
			return code
		}
	}
	table(objs)
	if next != "" {
		fmt.Fprintf(c.stderr, "more %s follow: run with --all, or --cursor %s for the next page\n", plural, keysSanitize(next))
	}
	return 0
}

// byID runs a command that takes one key ID and sends no body.
func (c *keysCLI) byID(args []string, name, about, method, suffix string, show func([]byte, string) int) int {
	cmd := c.command(name, name+" ID", about, 1)
	pos, code, ok := cmd.parse(args)
	if !ok {
		return code
	}
	if code := c.setup(); code != 0 {
		return code
	}
	resp, ok := c.call(method, keyPath(pos[0])+suffix, nil, nil)
	if !ok {
		return 1
	}
	return show(resp, pos[0])
}

func (c *keysCLI) get(args []string) int {
	return c.byID(args, "get", "Show one key (GET /admin/v1/keys/ID).", http.MethodGet, "",
		func(b []byte, _ string) int { return c.printKey(b, true) })
}

func (c *keysCLI) revoke(args []string) int {
	return c.byID(args, "revoke", "Revoke a key for good (DELETE /admin/v1/keys/ID): its secret stops\nworking at once. Revoking a revoked key succeeds.", http.MethodDelete, "",
		func(b []byte, id string) int {
			if c.json {
				if len(bytes.TrimSpace(b)) > 0 {
					return c.printJSON(b)
				}
				return 0
			}
			fmt.Fprintf(c.stdout, "key %s revoked\n", keysSanitize(id))
			return 0
		})
}

func (c *keysCLI) rotate(args []string) int {
	return c.byID(args, "rotate", "Give a key a new secret (POST /admin/v1/keys/ID/rotate) and print it\nonce, on the last line. The old secret stops working at once, unless\nthe gateway has a rotation grace period.", http.MethodPost, "/rotate",
		func(b []byte, _ string) int { return c.printCreated(b) })
}

func (c *keysCLI) audit(args []string) int {
	cmd := c.command("audit", "audit [--key ID] [--limit N]",
		"Show the audit log of admin actions (GET /admin/v1/audit), newest first.", 0)
	key := cmd.fs.String("key", "", "only the entries of the key `ID`")
	limit, cursor, all := keysPageFlags(cmd.fs, "entries")
	if _, code, ok := cmd.parse(args); !ok {
		return code
	}
	if *limit < 0 {
		return cmd.fail("--limit must not be negative")
	}
	if code := c.setup(); code != 0 {
		return code
	}
	q := keysPageQuery(*limit, *cursor)
	if *key != "" {
		q.Set("key_id", *key)
	}
	items, next, code, done := c.pages(auditPath, q, *all)
	if done {
		return code
	}
	entries := make([]auth.AuditEntry, len(items))
	for i, it := range items {
		if code := c.decode(it, &entries[i]); code != 0 {
			return code
		}
	}
	c.auditTable(entries)
	if next != "" {
		fmt.Fprintf(c.stderr, "more entries follow: run with --all, or --cursor %s for the next page\n", keysSanitize(next))
	}
	return 0
}

// declareTagFlags declares --tag K=V (repeatable), collected in tags, and
// for an update --remove-tag NAME, collected in removeTags: the tag flags
// of sluice keys and sluice teams.
func declareTagFlags(fs *flag.FlagSet, update bool, tags, removeTags *[]string) {
	tag := "set tag `K=V` (repeatable)"
	if update {
		tag += "; other tags are kept"
	}
	fs.Func("tag", tag, func(s string) error {
		k, _, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return errors.New("want NAME=VALUE")
		}
		*tags = append(*tags, s)
		return nil
	})
	if update {
		fs.Func("remove-tag", "remove the tag `NAME` (repeatable)", func(s string) error {
			if s == "" {
				return errors.New("want a tag name")
			}
			*removeTags = append(*removeTags, s)
			return nil
		})
	}
}

// addTagsPatch sets m["tags"] to the merge patch of --tag and --remove-tag
// (a value per set tag, null per removed one), when either was given.
func addTagsPatch(m map[string]any, tags, removeTags []string) error {
	if len(tags) == 0 && len(removeTags) == 0 {
		return nil
	}
	patch := map[string]any{}
	for _, t := range tags {
		k, v, _ := strings.Cut(t, "=")
		patch[k] = v
	}
	for _, k := range removeTags {
		if _, ok := patch[k]; ok {
			return fmt.Errorf("tag %q is both set and removed", k)
		}
		patch[k] = nil
	}
	m["tags"] = patch
	return nil
}

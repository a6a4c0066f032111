package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
)

const teamsUsage = `Usage: sluice teams COMMAND [flags]

Manage teams through a running gateway's admin API. Keys that name a team
(sluice keys create --team-id ID) share its limits, budget and allowlist.

Commands:
  create [--id ID] [flags]     create a team
  list [--limit N] [--all]     list teams
  get ID                       show one team
  update ID [flags]            change only the fields whose flags are given
  delete ID                    delete a team that no key uses

Flags of every command (before or after it):
  --url URL            admin API root (default $SLUICE_ADMIN_URL, else
                       http://127.0.0.1:8080)
  --admin-token TOKEN  admin token (default $SLUICE_ADMIN_TOKEN; prefer the
                       variable: arguments are visible to other local users)
  --json               print the server's JSON objects, indented
  --timeout DURATION   time limit of each request (default 10s)

Run "sluice teams COMMAND --help" for a command's flags.
Exit status: 0 on success, 1 when a request fails or the server refuses it,
2 when the command line is wrong.
`

const teamsPath = "/admin/v1/teams"

// cmdTeams runs "sluice teams ...". args are the arguments after "teams".
// It returns the process exit status.
func cmdTeams(args []string, stdout, stderr io.Writer) int {
	c := &teamsCLI{keysCLI{stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}}
	return c.run(args)
}

// teamsCLI is one run of "sluice teams": the admin API client of "sluice
// keys" with the team commands.
type teamsCLI struct{ keysCLI }

func (c *teamsCLI) run(args []string) int {
	c.prog, c.noun = "sluice teams", "team"
	return c.dispatch("sluice teams", teamsUsage, args, map[string]func([]string) int{
		"create": c.create, "list": c.list, "get": c.get, "update": c.update, "delete": c.delete,
	})
}

func teamPath(id string) string { return teamsPath + "/" + url.PathEscape(id) }

// endUserFlags are the fields of end_user_limits, as flags of keys and
// teams.
type endUserFlags struct {
	rpm, tpm  int64
	budgetUSD float64
	period    string
}

func declareEndUserFlags(fs *flag.FlagSet, of string) *endUserFlags {
	f := &endUserFlags{}
	fs.Int64Var(&f.rpm, "end-user-rpm", 0, "`N` requests per minute for each end user of the "+of+" (0: no limit)")
	fs.Int64Var(&f.tpm, "end-user-tpm", 0, "`N` tokens per minute for each end user of the "+of+" (0: no limit)")
	fs.Float64Var(&f.budgetUSD, "end-user-budget-usd", 0, "budget in `USD` for each end user of the "+of+" (0: none)")
	fs.StringVar(&f.period, "end-user-budget-period", "", "end users' budget `PERIOD`: day, month or total (UTC; default total)")
	return f
}

// add sets end_user_limits in m to the fields whose flags were given on
// fs: a merge patch of the object, which keeps the others.
func (f *endUserFlags) add(fs *flag.FlagSet, m map[string]any) {
	e := map[string]any{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "end-user-rpm":
			e["rpm"] = f.rpm
		case "end-user-tpm":
			e["tpm"] = f.tpm
		case "end-user-budget-usd":
			e["budget_usd"] = f.budgetUSD
		case "end-user-budget-period":
			e["budget_period"] = f.period
		}
	})
	if len(e) > 0 {
		m["end_user_limits"] = e
	}
}

// teamFlags are the writable team fields, as flags of create and update.
type teamFlags struct {
	id, name, models, budgetPeriod string
	rpm, tpm, maxConcurrent        int64
	budgetUSD                      float64
	tags, removeTags               []string
	endUsers                       *endUserFlags
}

func declareTeamFlags(fs *flag.FlagSet, update bool) *teamFlags {
	f := &teamFlags{}
	if !update {
		fs.StringVar(&f.id, "id", "", "the team's `ID`: letters, digits, \".\", \"_\" and \"-\" (default: generated, team_...)")
	}
	fs.StringVar(&f.name, "name", "", "the team's `NAME`")
	fs.StringVar(&f.models, "models", "", "comma-separated public `MODELS` the team's keys may use (empty: all)")
	fs.Int64Var(&f.rpm, "rpm", 0, "`N` requests per minute, shared by the team's keys (0: no team limit)")
	fs.Int64Var(&f.tpm, "tpm", 0, "`N` tokens per minute, shared by the team's keys (0: no team limit)")
	fs.Int64Var(&f.maxConcurrent, "max-concurrent", 0, "`N` requests in flight at once, for the team (0: no team limit)")
	fs.Float64Var(&f.budgetUSD, "budget-usd", 0, "the team's spending budget in `USD` (0: none)")
	fs.StringVar(&f.budgetPeriod, "budget-period", "", "budget `PERIOD`: day, month or total (UTC; default total)")
	declareTagFlags(fs, update, &f.tags, &f.removeTags)
	f.endUsers = declareEndUserFlags(fs, "team")
	return f
}

// body returns the JSON object of the fields whose flags were given on fs:
// a create body, or a JSON merge patch for update.
func (f *teamFlags) body(fs *flag.FlagSet) (map[string]any, error) {
	m := map[string]any{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "id":
			m["id"] = f.id
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
		}
	})
	f.endUsers.add(fs, m)
	if err := addTagsPatch(m, f.tags, f.removeTags); err != nil {
		return nil, err
	}
	return m, nil
}

// send marshals body and sends it; it returns the answer or an exit status.
func (c *teamsCLI) send(method, path string, body map[string]any) ([]byte, int) {
	b, err := json.Marshal(body)
	if err != nil {
		c.errorf("%v\n", err)
		return nil, 1
	}
	resp, ok := c.call(method, path, nil, b)
	if !ok {
		return nil, 1
	}
	return resp, 0
}

func (c *teamsCLI) create(args []string) int {
	cmd := c.command("create", "create [--id ID] [flags]",
		"Create a team (POST /admin/v1/teams). Keys join it with\n\"sluice keys create|update --team-id ID\".", 0)
	f := declareTeamFlags(cmd.fs, false)
	if _, code, ok := cmd.parse(args); !ok {
		return code
	}
	body, err := f.body(cmd.fs)
	if err != nil {
		return cmd.fail("%v", err)
	}
	if code := c.setup(); code != 0 {
		return code
	}
	resp, code := c.send(http.MethodPost, teamsPath, body)
	if code != 0 {
		return code
	}
	return c.printTeam(resp, false)
}

func (c *teamsCLI) update(args []string) int {
	cmd := c.command("update", "update ID [flags]",
		"Change a team (PATCH /admin/v1/teams/ID, a JSON merge patch): only the\nfields whose flags are given change, at once for all the team's keys.", 1)
	f := declareTeamFlags(cmd.fs, true)
	pos, code, ok := cmd.parse(args)
	if !ok {
		return code
	}
	body, err := f.body(cmd.fs)
	if err != nil {
		return cmd.fail("%v", err)
	}
	if len(body) == 0 {
		return cmd.fail("nothing to change: give at least one field's flag")
	}
	if code := c.setup(); code != 0 {
		return code
	}
	resp, code := c.send(http.MethodPatch, teamPath(pos[0]), body)
	if code != 0 {
		return code
	}
	return c.printTeam(resp, false)
}

func (c *teamsCLI) list(args []string) int {
	return listObjects(&c.keysCLI, args, "teams", teamsPath,
		"List teams (GET /admin/v1/teams): static teams (auth.teams of the\nconfig) first, then the others in creation order.", c.teamTable)
}

// byID runs a command that takes one team ID and sends no body.
func (c *teamsCLI) byID(args []string, name, about, method string, show func([]byte, string) int) int {
	cmd := c.command(name, name+" ID", about, 1)
	pos, code, ok := cmd.parse(args)
	if !ok {
		return code
	}
	if code := c.setup(); code != 0 {
		return code
	}
	resp, ok := c.call(method, teamPath(pos[0]), nil, nil)
	if !ok {
		return 1
	}
	return show(resp, pos[0])
}

func (c *teamsCLI) get(args []string) int {
	return c.byID(args, "get", "Show one team (GET /admin/v1/teams/ID) with its current spend.", http.MethodGet,
		func(b []byte, _ string) int { return c.printTeam(b, true) })
}

func (c *teamsCLI) delete(args []string) int {
	return c.byID(args, "delete", "Delete a team (DELETE /admin/v1/teams/ID). The server refuses while\nkeys that are not revoked name it: move them (sluice keys update ID\n--team-id OTHER) or revoke them first.", http.MethodDelete,
		func(b []byte, id string) int {
			if c.json {
				if len(bytes.TrimSpace(b)) > 0 {
					return c.printJSON(b)
				}
				return 0
			}
			fmt.Fprintf(c.stdout, "team %s deleted\n", keysSanitize(id))
			return 0
		})
}

// printTeam prints a team object: JSON, or a table row or every field.
func (c *teamsCLI) printTeam(body []byte, detail bool) int {
	if c.json {
		return c.printJSON(body)
	}
	var t auth.Team
	if code := c.decode(body, &t); code != 0 {
		return code
	}
	if detail {
		c.teamDetail(&t)
	} else {
		c.teamTable([]auth.Team{t})
	}
	return 0
}

func (c *teamsCLI) teamTable(teams []auth.Team) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tMODELS\tRPM\tTPM\tCONCURRENT\tBUDGET\tSPEND\tPER-USER\tCREATED")
	for i := range teams {
		t := &teams[i]
		name := keysCell(t.Name)
		if t.Static {
			name += " (static)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t$%.2f\t%s\t%s\n", keysCell(t.ID), name, keysModels(t.Models),
			keysLimit(t.RPM), keysLimit(t.TPM), keysLimit(t.MaxConcurrent), budgetCell(t.BudgetUSD, t.BudgetPeriod),
			t.SpendUSD, endUsersCompact(t.EndUserLimits), keysTime(t.CreatedAt))
	}
	_ = tw.Flush()
}

// teamDetail prints every field of one team, a line each.
func (c *teamsCLI) teamDetail(t *auth.Team) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	tags := make([]string, 0, len(t.Tags))
	for _, name := range slices.Sorted(maps.Keys(t.Tags)) {
		tags = append(tags, name+"="+t.Tags[name])
	}
	models := "all"
	if len(t.Models) > 0 {
		models = strings.Join(t.Models, ", ")
	}
	none := func(s string) string {
		if s == "-" {
			return "none"
		}
		return s
	}
	rows := [][2]string{
		{"id", t.ID}, {"name", t.Name}, {"models", models},
		{"rpm", none(keysLimit(t.RPM))}, {"tpm", none(keysLimit(t.TPM))},
		{"max concurrent", none(keysLimit(t.MaxConcurrent))}, {"budget", none(budgetCell(t.BudgetUSD, t.BudgetPeriod))},
		{"spend", fmt.Sprintf("$%.2f", t.SpendUSD)}, {"end users", endUsersCell(t.EndUserLimits, "no limits")},
		{"tags", strings.Join(tags, ", ")}, {"created", keysTime(t.CreatedAt)}, {"updated", keysTime(t.UpdatedAt)},
	}
	if t.Static {
		rows = append(rows, [2]string{"static", "yes: defined in the config file, read-only here"})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], keysCell(r[1]))
	}
	_ = tw.Flush()
}

// budgetCell shows a budget: "-" for none.
func budgetCell(usd float64, period string) string {
	if usd == 0 {
		return "-"
	}
	if period == "" {
		period = auth.PeriodTotal
	}
	return fmt.Sprintf("$%.2f/%s", usd, keysCell(period))
}

// endUsersCompact shows end-user limits in a table cell, without spaces:
// "rpm=10,tpm=20000,$1.00/day"; "-" when none are set.
func endUsersCompact(e auth.EndUserLimits) string {
	s := strings.ReplaceAll(endUsersCell(e, "-"), ", ", ",")
	return strings.ReplaceAll(strings.ReplaceAll(s, "rpm ", "rpm="), "tpm ", "tpm=")
}

// endUsersCell shows end-user limits for a detail view: "rpm 10, tpm
// 20000, $1.00/day"; empty when none are set.
func endUsersCell(e auth.EndUserLimits, empty string) string {
	var parts []string
	if e.RPM > 0 {
		parts = append(parts, fmt.Sprintf("rpm %d", e.RPM))
	}
	if e.TPM > 0 {
		parts = append(parts, fmt.Sprintf("tpm %d", e.TPM))
	}
	if e.BudgetUSD > 0 {
		parts = append(parts, budgetCell(e.BudgetUSD, e.BudgetPeriod))
	}
	if len(parts) == 0 {
		return empty
	}
	return strings.Join(parts, ", ")
}

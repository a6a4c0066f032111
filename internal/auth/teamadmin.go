package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Team objects: the admin API's view of a team (DESIGN.md, Admin API), its
// writable part and how a request body becomes one. The request path's
// view is TeamPolicy (team.go).

// Errors of the team admin operations. Match them with errors.Is; bad input
// is a *FieldError, as for keys.
var (
	// ErrTeamNotFound: no team has this id (HTTP 404).
	ErrTeamNotFound = errors.New("no such team")
	// ErrTeamExists: a team with this id exists already (HTTP 409).
	ErrTeamExists = errors.New("a team with this id exists already: choose another id, or PATCH that team")
	// ErrStaticTeam: the team is defined in the config file and the admin
	// API cannot change it (HTTP 409).
	ErrStaticTeam = errors.New("the team is defined in the config file (auth.teams) and is read-only: change it there")
	// ErrTeamInUse: keys that are not revoked still name the team, so it
	// cannot be deleted (HTTP 409). The error is a *TeamInUseError.
	ErrTeamInUse = errors.New("the team still has keys")
)

// TeamInUseError is ErrTeamInUse with the counts: stored keys that are
// not revoked, and static keys (auth.keys), whose team_id is the team.
type TeamInUseError struct {
	ID     string
	Keys   int
	Static int
}

func (e *TeamInUseError) Error() string {
	msg := fmt.Sprintf("team %s still has ", e.ID)
	switch {
	case e.Keys > 0 && e.Static > 0:
		msg += fmt.Sprintf("%s and %s", plural(e.Keys, "key"), plural(e.Static, "static key"))
	case e.Static > 0:
		msg += plural(e.Static, "static key")
	default:
		msg += plural(e.Keys, "key")
	}
	msg += " that are not revoked: move them to another team (PATCH their team_id) or revoke them first"
	if e.Static > 0 {
		msg += "; static keys change in auth.keys of the config file"
	}
	return msg
}

// Is makes errors.Is(err, ErrTeamInUse) hold.
func (e *TeamInUseError) Is(target error) bool { return target == ErrTeamInUse }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Team audit actions. A team's audit entries carry KeyID
// TeamSpendID(team id) ("team:" + id), which no key id can be, so that
// GET /admin/v1/audit?key_id=team:ID lists one team's history.
const (
	ActionTeamCreate = "team.create"
	ActionTeamUpdate = "team.update"
	ActionTeamDelete = "team.delete"
)

// teamIDPrefix starts generated team ids.
const teamIDPrefix = "team_"

// MaxTeamIDLen bounds a team id, as config.MaxKeyIDLen bounds key ids.
const MaxTeamIDLen = 64

// Team is the admin API's team object. Slices and maps are never nil in a
// Team returned by the Service, so they marshal as [] and {}.
type Team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Models is the team's allowlist; empty: all. A key's own allowlist
	// can only narrow it.
	Models []string `json:"models"`
	// RPM, TPM and MaxConcurrent are shared by every key of the team; 0:
	// no team limit.
	RPM           int64 `json:"rpm"`
	TPM           int64 `json:"tpm"`
	MaxConcurrent int64 `json:"max_concurrent"`
	// BudgetUSD: 0 is no budget. BudgetPeriod is day, month or total (UTC);
	// total when a budget is set without a period.
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetPeriod string  `json:"budget_period"`
	// SpendUSD is the team's spend in its current budget period, kept
	// under TeamSpendID(ID) by the limiter. Read-only.
	SpendUSD float64           `json:"spend_usd"`
	Tags     map[string]string `json:"tags"`
	// EndUserLimits apply to each end user across the team's keys.
	EndUserLimits EndUserLimits `json:"end_user_limits"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	// Static marks a team from the config file (read-only); omitted for
	// teams created through the admin API.
	Static bool `json:"static,omitempty"`
}

// TeamInput is the writable part of a team: the body of a create request
// (less its optional id), and what a PATCH merges into.
type TeamInput struct {
	Name          string            `json:"name"`
	Models        []string          `json:"models"`
	RPM           int64             `json:"rpm"`
	TPM           int64             `json:"tpm"`
	MaxConcurrent int64             `json:"max_concurrent"`
	BudgetUSD     float64           `json:"budget_usd"`
	BudgetPeriod  string            `json:"budget_period"`
	Tags          map[string]string `json:"tags"`
	EndUserLimits EndUserLimits     `json:"end_user_limits"`
}

// TeamRecord is a stored team: the team object and what the store keeps
// beside it.
type TeamRecord struct {
	Team
	// Seq orders teams by creation, for pagination.
	Seq int64
	// Version is the store version of the team's last write.
	Version int64
	// Deleted marks the tombstone a delete leaves, so that other
	// instances learn of the delete through Changes.
	Deleted bool
}

func (t *Team) input() TeamInput {
	return TeamInput{
		Name: t.Name, Models: t.Models, RPM: t.RPM, TPM: t.TPM, MaxConcurrent: t.MaxConcurrent,
		BudgetUSD: t.BudgetUSD, BudgetPeriod: t.BudgetPeriod, Tags: t.Tags, EndUserLimits: t.EndUserLimits,
	}
}

func (t *Team) setInput(in TeamInput) {
	t.Name, t.Models, t.RPM, t.TPM, t.MaxConcurrent = in.Name, in.Models, in.RPM, in.TPM, in.MaxConcurrent
	t.BudgetUSD, t.BudgetPeriod, t.Tags, t.EndUserLimits = in.BudgetUSD, in.BudgetPeriod, in.Tags, in.EndUserLimits
}

// clone returns t with its own copies of its slices and maps.
func (t Team) clone() Team {
	t.Models = slices.Clone(t.Models)
	t.Tags = maps.Clone(t.Tags)
	return t
}

// policy builds the request path's view of t.
func (t *Team) policy() *TeamPolicy {
	return NewTeamPolicy(TeamPolicy{
		ID: t.ID, Name: t.Name, Models: t.Models, RPM: t.RPM, TPM: t.TPM, MaxConcurrent: t.MaxConcurrent,
		BudgetUSD: t.BudgetUSD, BudgetPeriod: t.BudgetPeriod, EndUsers: t.EndUserLimits, Tags: t.Tags,
	})
}

// teamFieldRole says what a client may do with a team object field; id is
// writable on create only.
func teamFieldRole(create bool) func(string) (bool, string, bool) {
	return func(name string) (writable bool, hint string, known bool) {
		switch name {
		case "name", "models", "rpm", "tpm", "max_concurrent", "budget_usd", "budget_period", "tags", "end_user_limits":
			return true, "", true
		case "id":
			if create {
				return true, "", true
			}
			return false, "is read-only: a team keeps its id (create a new team for another)", true
		case "spend_usd", "created_at", "updated_at", "static":
			return false, "is read-only", true
		}
		return false, "", false
	}
}

// DecodeTeamInput parses the body of a team create request: a JSON object
// with the writable fields of a team object and an optional id, all
// optional. Unknown fields, read-only fields, wrong types and invalid
// values are a *FieldError naming the field. id is "" when absent (the
// Service generates one). The result is normalized.
func DecodeTeamInput(body []byte) (id string, in TeamInput, err error) {
	fields, err := patchFields(TeamInput{}, body, teamFieldRole(true))
	if err != nil {
		return "", TeamInput{}, err
	}
	if raw, ok := fields["id"]; ok {
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", TeamInput{}, &FieldError{Field: "id", Msg: "must be a team id (a string)"}
		}
		if msg := teamIDProblem(id); msg != "" {
			return "", TeamInput{}, &FieldError{Field: "id", Msg: msg}
		}
		delete(fields, "id")
	}
	in, err = decodeTeamFields(fields)
	if err != nil {
		return "", TeamInput{}, err
	}
	return id, in, nil
}

// applyTeamPatch applies a JSON merge patch to a team's writable fields
// and returns the validated, normalized result.
func applyTeamPatch(cur TeamInput, patch []byte) (TeamInput, error) {
	fields, err := patchFields(cur, patch, teamFieldRole(false))
	if err != nil {
		return TeamInput{}, err
	}
	return decodeTeamFields(fields)
}

// decodeTeamFields decodes the fields of a merged team object, naming the
// field of any type error, then normalizes and validates the result.
func decodeTeamFields(fields map[string]json.RawMessage) (TeamInput, error) {
	var in TeamInput
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		raw := fields[name]
		if string(raw) == "null" {
			continue // the zero value
		}
		var err error
		var want string
		switch name {
		case "name":
			err, want = json.Unmarshal(raw, &in.Name), "a string"
		case "models":
			err, want = json.Unmarshal(raw, &in.Models), "a list of model names"
		case "rpm":
			err, want = json.Unmarshal(raw, &in.RPM), "a whole number"
		case "tpm":
			err, want = json.Unmarshal(raw, &in.TPM), "a whole number"
		case "max_concurrent":
			err, want = json.Unmarshal(raw, &in.MaxConcurrent), "a whole number"
		case "budget_usd":
			err, want = json.Unmarshal(raw, &in.BudgetUSD), "a number"
		case "budget_period":
			err, want = json.Unmarshal(raw, &in.BudgetPeriod), `"day", "month" or "total"`
		case "tags":
			err, want = json.Unmarshal(raw, &in.Tags), "an object of strings"
		case "end_user_limits":
			if in.EndUserLimits, err = decodeEndUserLimits(raw); err != nil {
				return TeamInput{}, err
			}
		}
		if err != nil {
			return TeamInput{}, &FieldError{Field: name, Msg: "must be " + want}
		}
	}
	normalizeTeam(&in)
	if err := validateTeam(&in); err != nil {
		return TeamInput{}, err
	}
	return in, nil
}

// normalizeTeam gives equal inputs one form, as normalize does for keys.
func normalizeTeam(in *TeamInput) {
	in.Models = dedupe(in.Models)
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	if in.BudgetUSD > 0 && in.BudgetPeriod == "" {
		in.BudgetPeriod = PeriodTotal
	}
	normalizeEndUsers(&in.EndUserLimits)
}

// validateTeam checks the values of a normalized team input, with the
// rules of keys.
func validateTeam(in *TeamInput) error {
	if len(in.Name) > maxTextLen {
		return &FieldError{Field: "name", Msg: fmt.Sprintf("must be at most %d bytes", maxTextLen)}
	}
	if err := validateModels(in.Models); err != nil {
		return err
	}
	if err := validateLimits("", "0 means no team limit", in.RPM, in.TPM, in.MaxConcurrent); err != nil {
		return err
	}
	if err := validateBudget("", in.BudgetUSD, in.BudgetPeriod); err != nil {
		return err
	}
	if err := validateEndUsers(&in.EndUserLimits); err != nil {
		return err
	}
	return validateTags(in.Tags)
}

// teamIDProblem says what is wrong with a team id, "" when nothing: 1 to
// MaxTeamIDLen letters, digits, ".", "_" and "-" (as static key ids), so
// that it never holds the ':' of TeamSpendID.
func teamIDProblem(id string) string {
	if id == "" || len(id) > MaxTeamIDLen || !setName(id) {
		return fmt.Sprintf("must be a team id: 1 to %d letters, digits, \".\", \"_\" and \"-\"", MaxTeamIDLen)
	}
	return ""
}

// newTeamID returns a generated team id: "team_" + 22 base62 characters.
func newTeamID() (string, error) {
	s, err := randomBase62(16, 22)
	if err != nil {
		return "", err
	}
	return teamIDPrefix + s, nil
}

// teamChanges returns the fields whose JSON differs between old and next,
// with their new values, for an audit entry.
func teamChanges(old, next TeamInput) (map[string]json.RawMessage, error) {
	return jsonChanges(old, next)
}

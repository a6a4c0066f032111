package auth

import (
	"maps"
	"strings"

	"github.com/sluice-gw/sluice/internal/config"
)

// EndUserLimits are the limits each end user of a key or a team gets: the
// request's "user" field (Anthropic: metadata.user_id) names the end user.
// Zero fields: no such limit. JSON name end_user_limits on key and team
// objects.
type EndUserLimits struct {
	RPM          int64   `json:"rpm"`
	TPM          int64   `json:"tpm"`
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetPeriod string  `json:"budget_period"`
}

// IsZero reports whether e sets no limit.
func (e EndUserLimits) IsZero() bool { return e.RPM <= 0 && e.TPM <= 0 && e.BudgetUSD <= 0 }

// TeamSpendID is the id a team's spend is kept under in the spend store
// (api_key_spend.key_id): "team:" + the team id. Key ids never contain
// ':', so the two never collide.
func TeamSpendID(teamID string) string { return "team:" + teamID }

// allowlist is a models allowlist as the request path checks it: exact
// names and pattern prefixes ("claude-*": "claude-"). The zero value
// allows every model.
type allowlist struct {
	exact    map[string]struct{} // nil: all models
	prefixes []string
}

func newAllowlist(models []string) allowlist {
	if len(models) == 0 {
		return allowlist{}
	}
	a := allowlist{exact: make(map[string]struct{}, len(models))}
	for _, m := range models {
		if pre, ok := config.ModelPattern(m); ok {
			a.prefixes = append(a.prefixes, pre)
		} else {
			a.exact[m] = struct{}{}
		}
	}
	return a
}

func (a *allowlist) allows(model string) bool {
	if a.exact == nil {
		return true
	}
	if _, ok := a.exact[model]; ok {
		return true
	}
	for _, pre := range a.prefixes {
		if strings.HasPrefix(model, pre) {
			return true
		}
	}
	return false
}

func (a *allowlist) allowsBytes(model []byte) bool {
	if a.exact == nil {
		return true
	}
	if _, ok := a.exact[string(model)]; ok {
		return true
	}
	for _, pre := range a.prefixes {
		if len(model) >= len(pre) && string(model[:len(pre)]) == pre {
			return true
		}
	}
	return false
}

// TeamPolicy is the precomputed, immutable view of one team that the
// request path uses, shared by the policies of every key in the team.
// Never modify one.
type TeamPolicy struct {
	ID   string
	Name string
	// Models is the team's allowlist as configured; empty: all models. A
	// key's own allowlist can only narrow it.
	Models []string
	// Limits shared by every key of the team; 0: none.
	RPM           int64
	TPM           int64
	MaxConcurrent int64
	// BudgetUSD is 0 for no budget; BudgetPeriod is day, month or total.
	BudgetUSD    float64
	BudgetPeriod string
	// EndUsers are the limits of each end user across the team's keys.
	EndUsers EndUserLimits
	// Tags is read-only.
	Tags map[string]string
	// SpendID is TeamSpendID(ID), set by NewTeamPolicy.
	SpendID string

	allow allowlist
}

// NewTeamPolicy builds a team policy from its fields; it copies models and
// tags.
func NewTeamPolicy(t TeamPolicy) *TeamPolicy {
	p := t
	p.Models = append([]string(nil), t.Models...)
	if len(t.Tags) > 0 {
		p.Tags = maps.Clone(t.Tags)
	}
	p.allow = newAllowlist(p.Models)
	p.SpendID = TeamSpendID(p.ID)
	return &p
}

// Allows reports whether the team's allowlist allows model.
func (t *TeamPolicy) Allows(model string) bool { return t.allow.allows(model) }

package auth

import (
	"maps"
	"slices"
	"time"
)

// Status is the outcome of an authentication.
type Status uint8

const (
	// StatusOK: the key is valid; the request may proceed.
	StatusOK Status = iota
	// StatusMissing: no key was presented.
	StatusMissing
	// StatusUnknown: no such key, or it was revoked (or rotated away). The
	// two are deliberately indistinguishable.
	StatusUnknown
	// StatusExpired: the key's expires_at has passed.
	StatusExpired
	// StatusDisabled: the key is disabled.
	StatusDisabled
)

// String names s for logs and metrics.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusMissing:
		return "missing"
	case StatusUnknown:
		return "unknown"
	case StatusExpired:
		return "expired"
	case StatusDisabled:
		return "disabled"
	}
	return "invalid"
}

// Message is the client-facing message of a refusal (HTTP 401,
// invalid_api_key): it says what to do and never echoes the key. It is ""
// for StatusOK.
func (s Status) Message() string {
	switch s {
	case StatusOK:
		return ""
	case StatusMissing:
		return "Missing API key: send your Sluice key as \"Authorization: Bearer <key>\" or in the x-api-key header."
	case StatusExpired:
		return "This API key has expired: ask your platform team for a new key."
	case StatusDisabled:
		return "This API key is disabled: ask your platform team to enable it or issue a new one."
	}
	return "Invalid API key: the key is unknown or has been revoked. Check the key you are sending."
}

// Policy is the precomputed, immutable view of one key that the request
// path uses. It is shared by every request made with the key and across
// goroutines: never modify one.
type Policy struct {
	ID   string
	Name string
	Team string
	// Tags is read-only.
	Tags map[string]string
	// Models is the allowlist as configured; nil or empty: all models. An
	// entry ending in '*' allows every name with that prefix. Use Allows
	// to check a model.
	Models []string
	// Limits; 0 is the configured default for keys.
	RPM           int64
	TPM           int64
	MaxConcurrent int64
	// ModelLimits is read-only; a model absent from it has the key's limits.
	ModelLimits map[string]ModelLimit
	// BudgetUSD is 0 for no budget; BudgetPeriod is day, month or total.
	BudgetUSD    float64
	BudgetPeriod string
	// ExpiresAt is the zero time for a key that never expires.
	ExpiresAt           time.Time
	Disabled            bool
	AllowRoutingHeaders bool
	// Guardrails names guardrail sets; nil: the model's. Read-only.
	Guardrails []string
	// Static marks a key from the config file.
	Static bool
	// TeamID is the key's team_id ("" for none); TeamPolicy is that
	// team's policy, nil when the key has no team or the team does not
	// exist (then the key has no team limits). Team above is the old
	// free-text label. Read-only.
	TeamID     string
	TeamPolicy *TeamPolicy
	// EndUsers are the limits of each end user of this key.
	EndUsers EndUserLimits
	// HighPriority: the key's priority is high, so its requests are shed
	// last when Sluice is overloaded; false for normal.
	HighPriority bool

	allow allowlist // the key's own allowlist
	// graceUntil is set on the entry of a rotated key's previous secret:
	// that secret is unknown from this time on.
	graceUntil time.Time
}

// Allows reports whether the key may use the requested model name model:
// an exact entry of the allowlist, or a pattern entry ("claude-*") that is
// a prefix of it; an empty allowlist allows every model. A key in a team
// must pass the team's allowlist too (the key's can only narrow it). It
// does not allocate.
func (p *Policy) Allows(model string) bool {
	if p.TeamPolicy != nil && !p.TeamPolicy.allow.allows(model) {
		return false
	}
	return p.allow.allows(model)
}

// AllowsBytes is Allows for a model name held as bytes, such as one sliced
// from a request body; it does not allocate.
func (p *Policy) AllowsBytes(model []byte) bool {
	if p.TeamPolicy != nil && !p.TeamPolicy.allow.allowsBytes(model) {
		return false
	}
	return p.allow.allowsBytes(model)
}

// LimitsFor returns the request and token limits for model: the model's
// own where it has them, else the key's (0: the default for keys).
func (p *Policy) LimitsFor(model string) (rpm, tpm int64) {
	rpm, tpm = p.RPM, p.TPM
	if l, ok := p.ModelLimits[model]; ok {
		if l.RPM > 0 {
			rpm = l.RPM
		}
		if l.TPM > 0 {
			tpm = l.TPM
		}
	}
	return rpm, tpm
}

// newPolicy builds the policy of k. It copies what it keeps, so k may
// change afterwards.
func newPolicy(k *Key) *Policy {
	p := &Policy{
		ID: k.ID, Name: k.Name, Team: k.Team,
		RPM: k.RPM, TPM: k.TPM, MaxConcurrent: k.MaxConcurrent,
		BudgetUSD: k.BudgetUSD, BudgetPeriod: k.BudgetPeriod,
		Disabled: k.Disabled, AllowRoutingHeaders: k.AllowRoutingHeaders, Static: k.Static,
		TeamID: k.TeamID, EndUsers: k.EndUserLimits, HighPriority: k.Priority == PriorityHigh,
	}
	if len(k.Tags) > 0 {
		p.Tags = maps.Clone(k.Tags)
	}
	if len(k.ModelLimits) > 0 {
		p.ModelLimits = maps.Clone(k.ModelLimits)
	}
	if len(k.Guardrails) > 0 {
		p.Guardrails = slices.Clone(k.Guardrails)
	}
	if len(k.Models) > 0 {
		p.Models = slices.Clone(k.Models)
		p.allow = newAllowlist(p.Models)
	}
	if k.ExpiresAt != nil {
		p.ExpiresAt = *k.ExpiresAt
	}
	return p
}

// teamedPolicy caches a key's policy with its team's policy set, so that
// a rebuild copies a key's policy only when its team changed.
type teamedPolicy struct {
	team *TeamPolicy
	p    *Policy
}

// resolve returns base with TeamPolicy team: base itself for no team (nil),
// else the cached copy while team is the one it was made for.
func (c *teamedPolicy) resolve(base *Policy, team *TeamPolicy) *Policy {
	if team == nil {
		return base
	}
	if c.p == nil || c.team != team {
		q := *base
		q.TeamPolicy = team
		c.team, c.p = team, &q
	}
	return c.p
}

// withGrace returns a copy of p for a previous secret valid until until.
func (p *Policy) withGrace(until time.Time) *Policy {
	q := *p
	q.graceUntil = until
	return &q
}

package auth

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"
)

// Errors of the admin operations. Match them with errors.Is; bad input is a
// *FieldError (match with errors.As).
var (
	// ErrNotFound: no key has this id (HTTP 404).
	ErrNotFound = errors.New("no such key")
	// ErrStaticKey: the key is defined in the config file, and the admin API
	// cannot change it (HTTP 409).
	ErrStaticKey = errors.New("the key is defined in the config file (auth.keys) and is read-only: change it there")
	// ErrRevoked: the key is revoked and cannot be changed or rotated
	// (HTTP 409). Revoking it again succeeds and changes nothing.
	ErrRevoked = errors.New("the key is revoked: create a new key instead")
	// ErrNotReady: the key store has not loaded yet, for example because
	// PostgreSQL is down (HTTP 503).
	ErrNotReady = errors.New("the key store is not available yet")
)

// FieldError is a problem with one field of an admin request (HTTP 400).
// Field is the JSON name, dotted for nested fields ("model_limits.gpt-4o.rpm");
// for unknown fields it lists them all, comma-separated; it is empty when
// the body as a whole is wrong. The message never quotes a secret.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Budget periods.
const (
	PeriodDay   = "day"
	PeriodMonth = "month"
	PeriodTotal = "total"
)

// Priorities of a key: under overload, Sluice sheds the requests of
// normal keys before those of high keys.
const (
	PriorityNormal = "normal"
	PriorityHigh   = "high"
)

// ModelLimit is a per-model limit of a key. A zero value is the key's own
// limit.
type ModelLimit struct {
	RPM int64 `json:"rpm"`
	TPM int64 `json:"tpm"`
}

// Key is the admin API's key object (DESIGN.md, Admin API). It never holds
// the secret. Slices and maps are never nil in a Key returned by the
// Service, so they marshal as [] and {}.
type Key struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	// Models are the public model names the key may use; empty: all.
	Models []string `json:"models"`
	// RPM, TPM and MaxConcurrent: 0 is the configured default for keys.
	RPM           int64 `json:"rpm"`
	TPM           int64 `json:"tpm"`
	MaxConcurrent int64 `json:"max_concurrent"`
	// BudgetUSD: 0 is no budget. BudgetPeriod is day, month or total (UTC);
	// total when a budget is set without a period.
	BudgetUSD    float64 `json:"budget_usd"`
	BudgetPeriod string  `json:"budget_period"`
	// SpendUSD is the key's spend in its current budget period (UTC day or
	// month; in total for a total budget or none), as the limiter has
	// written it to the store (every few seconds). Read-only.
	SpendUSD float64 `json:"spend_usd"`
	// ExpiresAt is nil (JSON null) for a key that never expires.
	ExpiresAt *time.Time `json:"expires_at"`
	Disabled  bool       `json:"disabled"`
	Revoked   bool       `json:"revoked"`
	// Team is the old free-text label, kept for reports; TeamID names
	// the team object whose limits and budget the key shares ("": none).
	Team   string `json:"team"`
	TeamID string `json:"team_id"`
	// EndUserLimits are the limits of each end user of the key (the
	// request's "user"); zero fields: none.
	EndUserLimits       EndUserLimits         `json:"end_user_limits"`
	Tags                map[string]string     `json:"tags"`
	ModelLimits         map[string]ModelLimit `json:"model_limits"`
	AllowRoutingHeaders bool                  `json:"allow_routing_headers"`
	// Guardrails names guardrail sets; empty: the model's.
	Guardrails []string `json:"guardrails"`
	// Priority is normal or high: when Sluice is overloaded, the requests
	// of high keys are shed last.
	Priority  string    `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Static marks a key from the config file (read-only); omitted for
	// keys created through the admin API.
	Static bool `json:"static,omitempty"`
}

// KeyInput is the writable part of a key: the body of a create request,
// and what a PATCH merges into. Zero values mean what they mean in Key.
type KeyInput struct {
	Name                string                `json:"name"`
	Models              []string              `json:"models"`
	RPM                 int64                 `json:"rpm"`
	TPM                 int64                 `json:"tpm"`
	MaxConcurrent       int64                 `json:"max_concurrent"`
	BudgetUSD           float64               `json:"budget_usd"`
	BudgetPeriod        string                `json:"budget_period"`
	ExpiresAt           *time.Time            `json:"expires_at"`
	Disabled            bool                  `json:"disabled"`
	Team                string                `json:"team"`
	TeamID              string                `json:"team_id"`
	EndUserLimits       EndUserLimits         `json:"end_user_limits"`
	Tags                map[string]string     `json:"tags"`
	ModelLimits         map[string]ModelLimit `json:"model_limits"`
	AllowRoutingHeaders bool                  `json:"allow_routing_headers"`
	Guardrails          []string              `json:"guardrails"`
	// Priority is normal or high; "" (omitted, so that a merge patch
	// on the zero input sees no value) normalizes to normal.
	Priority string `json:"priority,omitempty"`
}

// Audit actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionRotate = "rotate"
	ActionRevoke = "revoke"
)

// AuditEntry records one admin action. Changes maps each changed field to
// its new value (for create: every field set; for rotate: the new prefix);
// it never holds a secret.
type AuditEntry struct {
	ID      int64                      `json:"id"`
	Time    time.Time                  `json:"time"`
	Action  string                     `json:"action"`
	KeyID   string                     `json:"key_id"`
	Changes map[string]json.RawMessage `json:"changes"`
	// Actor is who acted, as the caller told WithActor; "" when unknown.
	Actor string `json:"actor,omitempty"`
}

// input returns the writable part of k.
func (k *Key) input() KeyInput {
	return KeyInput{
		Name: k.Name, Models: k.Models, RPM: k.RPM, TPM: k.TPM, MaxConcurrent: k.MaxConcurrent,
		BudgetUSD: k.BudgetUSD, BudgetPeriod: k.BudgetPeriod, ExpiresAt: k.ExpiresAt, Disabled: k.Disabled,
		Team: k.Team, TeamID: k.TeamID, EndUserLimits: k.EndUserLimits, Tags: k.Tags, ModelLimits: k.ModelLimits,
		AllowRoutingHeaders: k.AllowRoutingHeaders, Guardrails: k.Guardrails, Priority: k.Priority,
	}
}

// setInput sets the writable part of k from in.
func (k *Key) setInput(in KeyInput) {
	k.Name, k.Models, k.RPM, k.TPM, k.MaxConcurrent = in.Name, in.Models, in.RPM, in.TPM, in.MaxConcurrent
	k.BudgetUSD, k.BudgetPeriod, k.ExpiresAt, k.Disabled = in.BudgetUSD, in.BudgetPeriod, in.ExpiresAt, in.Disabled
	k.Team, k.Tags, k.ModelLimits, k.AllowRoutingHeaders = in.Team, in.Tags, in.ModelLimits, in.AllowRoutingHeaders
	k.Guardrails, k.TeamID, k.EndUserLimits, k.Priority = in.Guardrails, in.TeamID, in.EndUserLimits, in.Priority
}

// clone returns k with its own copies of its slices and maps.
func (k Key) clone() Key {
	k.Models = slices.Clone(k.Models)
	k.Guardrails = slices.Clone(k.Guardrails)
	k.Tags = maps.Clone(k.Tags)
	k.ModelLimits = maps.Clone(k.ModelLimits)
	if k.ExpiresAt != nil {
		t := *k.ExpiresAt
		k.ExpiresAt = &t
	}
	return k
}

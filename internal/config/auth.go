package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Storage names shared storage engines. Both URLs usually come from the
// environment (${SLUICE_POSTGRES_URL}, ${SLUICE_REDIS_URL}); an expansion
// that yields "" leaves the embedded default in place.
type Storage struct {
	// PostgresURL, when set, holds virtual keys, teams and request logs
	// in PostgreSQL: a postgres:// URL or a "key=value ..." connection
	// string. Empty: SQLite in DataDir/sluice.db.
	PostgresURL Secret `yaml:"postgres_url"`
	// RedisURL, when set, holds rate limits and budgets in Redis so that
	// several instances share them: redis://, rediss:// or unix://. Empty:
	// limits live in each process's memory.
	RedisURL Secret `yaml:"redis_url"`
}

// Auth configures virtual-key authentication.
type Auth struct {
	// Enabled turns authentication on: every /v1 request needs a key.
	// Default false: no authentication (tier L0), and then Keys must be
	// empty, so that a config listing keys never runs open by mistake.
	Enabled bool `yaml:"enabled"`
	// Keys are static keys, defined here rather than through the admin
	// API. They are read-only to the admin API.
	Keys []StaticKey `yaml:"keys"`
	// Teams are static teams, defined here rather than through the admin
	// API; read-only to it, and listed before the stored teams. A static
	// team wins over a stored team of the same id.
	Teams []StaticTeam `yaml:"teams"`
	// SyncInterval is how often an instance polls the key store for
	// changes made through another instance's admin API: a change reaches
	// every instance within SyncInterval plus one store round trip. Default
	// 1s; at most 4s, which keeps the contract's 5 s bound.
	SyncInterval Duration `yaml:"sync_interval"`
	// RotationGrace is how long the old secret of a rotated key keeps
	// working. Default 0: rotation invalidates the old secret at once.
	RotationGrace Duration `yaml:"rotation_grace"`
}

// StaticKey is a virtual key defined in the config file. Its policy fields
// mean what the admin API key object's fields of the same name mean; a zero
// limit is the configured default for keys (unlimited unless configured).
type StaticKey struct {
	// Key is the secret clients send: any visible ASCII string without
	// spaces, at most MaxStaticKeyLen bytes. Required. Only its SHA-256 is
	// kept once the key store has loaded it.
	Key Secret `yaml:"key"`
	// ID names the key in logs, metrics and the admin API. Default:
	// "static-" + the first 12 hex digits of the key's SHA-256, which stays
	// the same across restarts and reorderings. Letters, digits, ".", "_"
	// and "-", at most 64; ids starting with "key_" are reserved for keys
	// created through the admin API. A guessable key (as "sk-bench-0001")
	// can be confirmed from its default id: give such a key an explicit id
	// where that matters.
	ID string `yaml:"id"`
	// Name is a human label.
	Name string `yaml:"name"`
	// Models are the public model names the key may use; a name ending
	// in '*' allows every name with that prefix. Empty: all.
	Models []string `yaml:"models"`
	// RPM bounds requests per minute. 0: the default.
	RPM int64 `yaml:"rpm"`
	// TPM bounds tokens per minute. 0: the default.
	TPM int64 `yaml:"tpm"`
	// MaxConcurrent bounds requests in flight. 0: the default.
	MaxConcurrent int64 `yaml:"max_concurrent"`
	// BudgetUSD bounds spend per BudgetPeriod. 0: no budget.
	BudgetUSD float64 `yaml:"budget_usd"`
	// BudgetPeriod is day, month or total (UTC). Default total when
	// BudgetUSD is set.
	BudgetPeriod string `yaml:"budget_period"`
	// ExpiresAt, when set, is when the key stops working (RFC 3339).
	ExpiresAt Timestamp `yaml:"expires_at"`
	// Disabled keys are refused with a message saying so.
	Disabled bool `yaml:"disabled"`
	// Team groups keys for reporting (a free-text label).
	Team string `yaml:"team"`
	// TeamID names the team (of auth.teams, or created through the admin
	// API) whose limits and budget the key shares. A team that does not
	// exist gives the key no team limits.
	TeamID string `yaml:"team_id"`
	// EndUserLimits are the limits of each end user of the key.
	EndUserLimits EndUserLimits `yaml:"end_user_limits"`
	// Tags are free-form labels.
	Tags map[string]string `yaml:"tags"`
	// ModelLimits are per-model request and token limits.
	ModelLimits map[string]ModelLimit `yaml:"model_limits"`
	// AllowRoutingHeaders lets the key steer routing with x-sluice-* headers.
	AllowRoutingHeaders bool `yaml:"allow_routing_headers"`
	// Guardrails names guardrail sets. Empty: the model's.
	Guardrails []string `yaml:"guardrails"`
	// Priority is normal or high: when Sluice is overloaded, the
	// requests of high keys are shed last. Empty: normal.
	Priority string `yaml:"priority"`
}

// StaticTeam is a team defined in the config file. Its fields mean what
// the admin API team object's fields of the same name mean; a zero limit
// is no team limit.
type StaticTeam struct {
	// ID names the team: keys name it in team_id. Required; letters,
	// digits, ".", "_" and "-", at most MaxKeyIDLen.
	ID string `yaml:"id"`
	// Name is a human label.
	Name string `yaml:"name"`
	// Models are the public model names the team's keys may use; a name
	// ending in '*' allows every name with that prefix. Empty: all. A
	// key's own allowlist can only narrow it.
	Models []string `yaml:"models"`
	// RPM bounds the requests per minute of all the team's keys together.
	RPM int64 `yaml:"rpm"`
	// TPM bounds the tokens per minute of all the team's keys together.
	TPM int64 `yaml:"tpm"`
	// MaxConcurrent bounds the team's requests in flight.
	MaxConcurrent int64 `yaml:"max_concurrent"`
	// BudgetUSD bounds the team's spend per BudgetPeriod. 0: no budget.
	BudgetUSD float64 `yaml:"budget_usd"`
	// BudgetPeriod is day, month or total (UTC). Default total when
	// BudgetUSD is set.
	BudgetPeriod string `yaml:"budget_period"`
	// Tags are free-form labels.
	Tags map[string]string `yaml:"tags"`
	// EndUserLimits are the limits of each end user across the team's
	// keys.
	EndUserLimits EndUserLimits `yaml:"end_user_limits"`
}

// EndUserLimits are the limits each end user of a key or team gets (the
// request's "user"). Zero fields: no such limit.
type EndUserLimits struct {
	RPM       int64   `yaml:"rpm"`
	TPM       int64   `yaml:"tpm"`
	BudgetUSD float64 `yaml:"budget_usd"`
	// BudgetPeriod is day, month or total (UTC). Default total when
	// BudgetUSD is set.
	BudgetPeriod string `yaml:"budget_period"`
}

// ModelLimit is a per-model limit of a key. Zero: the key's own limit.
type ModelLimit struct {
	RPM int64 `yaml:"rpm"`
	TPM int64 `yaml:"tpm"`
}

// Limits on static keys.
const (
	// MaxStaticKeyLen bounds a static key's length. The auth package
	// refuses longer presented keys without hashing them, so it must not
	// be larger than auth.MaxSecretLen.
	MaxStaticKeyLen = 1024
	// MaxKeyIDLen bounds a key id: ids appear in URLs and metric labels.
	MaxKeyIDLen = 64
	// MinSyncInterval and MaxSyncInterval bound auth.sync_interval. The
	// maximum leaves a second of the contract's 5 s propagation bound for
	// the poll query and the cache rebuild.
	MinSyncInterval = 10 * time.Millisecond
	MaxSyncInterval = 4 * time.Second
)

// StaticKeyID is the default id of a static key: "static-" + the first 12
// hex digits of the SHA-256 of the key.
func StaticKeyID(key Secret) string {
	sum := sha256.Sum256([]byte(key.Reveal()))
	return "static-" + hex.EncodeToString(sum[:6])
}

// Timestamp is a point in time written in YAML as RFC 3339, such as
// "2026-12-31T23:59:59Z". The zero value means "not set".
type Timestamp struct{ time.Time }

// UnmarshalText implements encoding.TextUnmarshaler (RFC 3339 only).
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return fmt.Errorf("expected an RFC 3339 time such as \"2026-12-31T23:59:59Z\", got %q", string(b))
	}
	t.Time = v
	return nil
}

// MarshalText implements encoding.TextMarshaler: RFC 3339, "" when unset.
func (t Timestamp) MarshalText() ([]byte, error) {
	if t.IsZero() {
		return []byte{}, nil
	}
	return []byte(t.Format(time.RFC3339Nano)), nil
}

// applyAuthDefaults sets the defaults of the auth section.
func applyAuthDefaults(a *Auth) {
	setDefault(&a.SyncInterval, Duration(DefaultSyncInterval))
	for i := range a.Keys {
		k := &a.Keys[i]
		if k.ID == "" && k.Key != "" {
			k.ID = StaticKeyID(k.Key)
		}
		if k.BudgetUSD > 0 && k.BudgetPeriod == "" {
			k.BudgetPeriod = "total"
		}
		defaultPeriod(&k.EndUserLimits.BudgetPeriod, k.EndUserLimits.BudgetUSD)
	}
	for i := range a.Teams {
		t := &a.Teams[i]
		defaultPeriod(&t.BudgetPeriod, t.BudgetUSD)
		defaultPeriod(&t.EndUserLimits.BudgetPeriod, t.EndUserLimits.BudgetUSD)
	}
}

// defaultPeriod sets a budget's period to total when the budget is set
// without one.
func defaultPeriod(period *string, usd float64) {
	if usd > 0 && *period == "" {
		*period = "total"
	}
}

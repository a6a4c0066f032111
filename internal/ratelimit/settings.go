package ratelimit

import (
	"fmt"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/pricing"
)

// Settings are the parts of a limiter's config that a reload may change:
// the defaults for keys, the default token reservation, the providers'
// limits and the prices. Limit state (GCRA buckets, concurrency slots,
// spend) is keyed by key id, provider and model, not by settings, so it
// survives a change of Settings. Build one with NewSettings; it is
// immutable.
type Settings struct {
	defaults  config.LimitDefaults
	maxTokens int64
	targets   map[string]config.ProviderLimits
	prices    *pricing.Table
}

// NewSettings validates and builds the reloadable settings of cfg, with
// its price table (the embedded catalog and cfg's pricing).
func NewSettings(cfg *config.Config) (*Settings, error) {
	prices, err := pricing.New(cfg.Pricing)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return NewSettingsPriced(cfg, prices)
}

// NewSettingsPriced is NewSettings with cfg's price table already built
// (a reload builds it once for the limiter and the gateway).
func NewSettingsPriced(cfg *config.Config, prices *pricing.Table) (*Settings, error) {
	lc := cfg.Limits
	if lc.DefaultMaxTokens <= 0 {
		lc.DefaultMaxTokens = config.DefaultMaxTokens
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"rpm", lc.Defaults.RPM}, {"tpm", lc.Defaults.TPM}, {"max_concurrent", lc.Defaults.MaxConcurrent}} {
		if f.v < 0 {
			return nil, fmt.Errorf("ratelimit: limits.defaults.%s: must not be negative", f.name)
		}
	}
	s := &Settings{
		defaults:  lc.Defaults,
		maxTokens: lc.DefaultMaxTokens,
		targets:   make(map[string]config.ProviderLimits, len(cfg.Providers)),
		prices:    prices,
	}
	for _, p := range cfg.Providers {
		if p.Limits.RPM > 0 || p.Limits.TPM > 0 {
			s.targets[p.Name] = p.Limits
		}
	}
	return s, nil
}

// Use makes s the limiter's settings from the next admission on. Requests
// already admitted settle with the prices in force when they were admitted.
func (l *Limiter) Use(s *Settings) { l.set.Store(s) }

// LimitsTargets reports whether s limits any provider target: a limiter
// is needed even without keys.
func (s *Settings) LimitsTargets() bool { return len(s.targets) > 0 }

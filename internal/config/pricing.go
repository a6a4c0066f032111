package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Price is what one model costs, in USD per million tokens: an entry of
// the config's pricing section, which overrides or extends the price
// catalog embedded in the binary (internal/pricing owns the catalog and
// the arithmetic). An entry replaces the catalog's price of that model
// whole. Sluice never downloads prices.
type Price struct {
	// Input is the price of prompt tokens that were neither read from nor
	// written to the provider's cache.
	Input float64 `yaml:"input"`
	// Output is the price of completion tokens (reasoning tokens
	// included, unless Reasoning is set).
	Output float64 `yaml:"output"`
	// CachedInput is the price of prompt tokens read from the provider's
	// cache. Absent: the Input price.
	CachedInput *float64 `yaml:"cached_input"`
	// CacheWrite is the price of prompt tokens written to the provider's
	// cache (Anthropic's cache_creation_input_tokens; its 5-minute
	// writes). Absent: the Input price.
	CacheWrite *float64 `yaml:"cache_write"`
	// CacheWrite1h is the price of prompt tokens written to the cache
	// with a one-hour lifetime (Anthropic). Absent: the CacheWrite price.
	CacheWrite1h *float64 `yaml:"cache_write_1h"`
	// Reasoning is the price of reasoning tokens where a provider bills
	// them apart from other output. Absent: the Output price.
	Reasoning *float64 `yaml:"reasoning"`
	// Tiers are long-context prices: a request whose prompt (every input
	// token, cached ones included) is longer than a tier's Above is
	// charged that tier's prices for all its tokens. Above must rise from
	// one tier to the next.
	Tiers []PriceTier `yaml:"tiers"`
}

// PriceTier is a long-context price step of a Price.
type PriceTier struct {
	// Above is the prompt length in tokens above which the tier applies.
	Above        int64    `yaml:"above"`
	Input        float64  `yaml:"input"`
	Output       float64  `yaml:"output"`
	CachedInput  *float64 `yaml:"cached_input"`
	CacheWrite   *float64 `yaml:"cache_write"`
	CacheWrite1h *float64 `yaml:"cache_write_1h"`
	Reasoning    *float64 `yaml:"reasoning"`
}

// MaxPrice bounds a price: far above any real model's price per million
// tokens, so that a misplaced unit (per token instead of per million) is
// caught.
const MaxPrice = 1_000_000

func (v *validator) pricing(p map[string]Price) {
	for _, m := range slices.Sorted(maps.Keys(p)) {
		if !printableASCII(m) || m == "" {
			v.errf("pricing", "invalid model name %q: no spaces, control or non-ASCII characters", m)
			continue
		}
		pr := p[m]
		base := "pricing." + m
		v.priceFields(base, pr.Input, pr.Output, pr.CachedInput, pr.CacheWrite, pr.CacheWrite1h, pr.Reasoning)
		var prev int64
		for i, t := range pr.Tiers {
			tb := fmt.Sprintf("%s.tiers[%d]", base, i)
			if t.Above <= prev {
				v.errf(tb+".above", "must be a prompt length in tokens above %d (tiers rise), got %d", prev, t.Above)
			}
			prev = max(prev, t.Above)
			v.priceFields(tb, t.Input, t.Output, t.CachedInput, t.CacheWrite, t.CacheWrite1h, t.Reasoning)
		}
	}
}

// priceFields checks the prices of an entry or tier at path base.
func (v *validator) priceFields(base string, in, out float64, opt ...*float64) {
	check := func(field string, f float64) {
		if f < 0 || f > MaxPrice || math.IsNaN(f) {
			v.errf(base+"."+field, "must be a price in USD per million tokens between 0 and %d, got %v", MaxPrice, f)
		}
	}
	check("input", in)
	check("output", out)
	for i, name := range [...]string{"cached_input", "cache_write", "cache_write_1h", "reasoning"} {
		if opt[i] != nil {
			check(name, *opt[i])
		}
	}
}

package config

import (
	"maps"
	"math"
	"slices"
)

// Price is what one model costs, in USD per million tokens. It is the
// price table budgets are charged from (internal/ratelimit); Sluice never
// downloads prices.
type Price struct {
	// Input is the price of prompt tokens that were not served from the
	// provider's cache.
	Input float64 `yaml:"input"`
	// Output is the price of completion tokens.
	Output float64 `yaml:"output"`
	// CachedInput is the price of prompt tokens read from the provider's
	// cache. Absent: the Input price.
	CachedInput *float64 `yaml:"cached_input"`
	// CacheWrite is the price of prompt tokens written to the provider's
	// cache (Anthropic's cache_creation_input_tokens). Absent: the Input
	// price.
	CacheWrite *float64 `yaml:"cache_write"`
}

// maxPrice bounds a price: far above any real model's price per million
// tokens, so that a misplaced unit (per token instead of per million) is
// caught.
const maxPrice = 1_000_000

func (v *validator) pricing(p map[string]Price) {
	for _, m := range slices.Sorted(maps.Keys(p)) {
		if !printableASCII(m) || m == "" {
			v.errf("pricing", "invalid model name %q: no spaces, control or non-ASCII characters", m)
			continue
		}
		pr := p[m]
		base := "pricing." + m
		check := func(field string, f float64) {
			if f < 0 || f > maxPrice || math.IsNaN(f) {
				v.errf(base+"."+field, "must be a price in USD per million tokens between 0 and %d, got %v", maxPrice, f)
			}
		}
		check("input", pr.Input)
		check("output", pr.Output)
		if pr.CachedInput != nil {
			check("cached_input", *pr.CachedInput)
		}
		if pr.CacheWrite != nil {
			check("cache_write", *pr.CacheWrite)
		}
	}
}

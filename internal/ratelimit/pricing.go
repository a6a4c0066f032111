package ratelimit

import (
	"fmt"
	"math"

	"github.com/sluice-gw/sluice/internal/config"
)

// Usage is what one request consumed, as the upstream reported it.
type Usage struct {
	// Input counts every prompt token, cached ones included.
	Input int64
	// Output counts completion tokens.
	Output int64
	// CachedInput counts the prompt tokens read from the provider's cache
	// (part of Input).
	CachedInput int64
	// CacheWrite counts the prompt tokens written to the provider's cache
	// (part of Input; Anthropic).
	CacheWrite int64
}

// Tokens is what the request counts against tokens-per-minute limits:
// input plus output.
func (u Usage) Tokens() int64 { return max(u.Input, 0) + max(u.Output, 0) }

// price is one model's price per token (USD).
type price struct {
	input, output, cachedInput, cacheWrite float64
}

// Prices is the price table of limits budgets: model name → price. It is
// immutable and safe for concurrent use.
type Prices struct {
	m map[string]price
}

// perMillion converts a config price (per million tokens) to per token.
const perMillion = 1e-6

// NewPrices builds the table from the pricing section of the config.
// cached_input and cache_write default to the input price.
func NewPrices(cfg map[string]config.Price) (*Prices, error) {
	p := &Prices{m: make(map[string]price, len(cfg))}
	for name, c := range cfg {
		pr := price{input: c.Input * perMillion, output: c.Output * perMillion}
		pr.cachedInput, pr.cacheWrite = pr.input, pr.input
		if c.CachedInput != nil {
			pr.cachedInput = *c.CachedInput * perMillion
		}
		if c.CacheWrite != nil {
			pr.cacheWrite = *c.CacheWrite * perMillion
		}
		for _, f := range []float64{pr.input, pr.output, pr.cachedInput, pr.cacheWrite} {
			if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("ratelimit: pricing.%s: prices must be non-negative numbers", name)
			}
		}
		p.m[name] = pr
	}
	return p, nil
}

// Cost returns what u costs on model in USD, and whether model has a
// price (a model without one costs 0). Cached and cache-write tokens are
// priced apart from the other input tokens. It does not allocate.
func (p *Prices) Cost(model string, u Usage) (float64, bool) {
	pr, ok := p.m[model]
	if !ok {
		return 0, false
	}
	cached, written := max(u.CachedInput, 0), max(u.CacheWrite, 0)
	plain := max(u.Input-cached-written, 0)
	return float64(plain)*pr.input + float64(cached)*pr.cachedInput + float64(written)*pr.cacheWrite +
		float64(max(u.Output, 0))*pr.output, true
}

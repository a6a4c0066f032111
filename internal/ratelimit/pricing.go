package ratelimit

import "github.com/sluice-gw/sluice/internal/pricing"

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
	// (part of Input; Anthropic, Bedrock).
	CacheWrite int64
	// CacheWrite1h counts the cache writes with a one-hour lifetime (part
	// of CacheWrite; Anthropic), which cost more than five-minute ones.
	CacheWrite1h int64
	// Reasoning counts the reasoning tokens (part of Output), priced apart
	// where a model bills them apart.
	Reasoning int64
}

// Tokens is what the request counts against tokens-per-minute limits:
// input plus output.
func (u Usage) Tokens() int64 { return max(u.Input, 0) + max(u.Output, 0) }

// Pricing is u in the price table's terms.
func (u Usage) Pricing() pricing.Usage {
	return pricing.Usage{Input: u.Input, Output: u.Output, CacheRead: u.CachedInput, CacheWrite: u.CacheWrite,
		CacheWrite1h: u.CacheWrite1h, Reasoning: u.Reasoning}
}

package pricing

import (
	"fmt"
	"math"

	"github.com/sluice-gw/sluice/internal/config"
)

// Usage is what one request consumed, in the provider's own usage fields
// after translation.
type Usage struct {
	// Input counts every prompt token: cache reads and writes included.
	Input int64
	// Output counts completion tokens, reasoning tokens included.
	Output int64
	// CacheRead counts the prompt tokens read from the provider's cache
	// (part of Input).
	CacheRead int64
	// CacheWrite counts the prompt tokens written to the provider's cache
	// (part of Input), whatever their lifetime.
	CacheWrite int64
	// CacheWrite1h counts the cache writes with a one-hour lifetime (part
	// of CacheWrite; Anthropic).
	CacheWrite1h int64
	// Reasoning counts the reasoning tokens (part of Output).
	Reasoning int64
}

// Rates are the prices of one model or tier, in USD per million tokens,
// with every default resolved.
type Rates struct {
	Input        float64 // prompt tokens neither read from nor written to the cache
	Output       float64 // completion tokens other than reasoning
	CacheRead    float64
	CacheWrite   float64 // 5-minute (or only) cache writes
	CacheWrite1h float64
	Reasoning    float64 // reasoning tokens; equal to Output unless billed apart
}

// Tier is a long-context step: a request whose prompt (Usage.Input) is
// longer than Above tokens is charged Rates for all its tokens, as
// Anthropic (1M context) and Gemini bill.
type Tier struct {
	Above int64
	Rates
}

// Price is one model's price: base rates and long-context tiers, Above
// rising.
type Price struct {
	Rates
	Tiers []Tier
}

// perMillion turns a sum of tokens × USD per million into USD.
const perMillion = 1e-6

// Cost returns what u costs at p in USD. Inconsistent usage (parts larger
// than their whole, negative counts) never yields a negative cost. It does
// not allocate.
func (p *Price) Cost(u Usage) float64 {
	r := &p.Rates
	for i := len(p.Tiers) - 1; i >= 0; i-- {
		if u.Input > p.Tiers[i].Above {
			r = &p.Tiers[i].Rates
			break
		}
	}
	read, write := max(u.CacheRead, 0), max(u.CacheWrite, 0)
	write1h := min(max(u.CacheWrite1h, 0), write)
	plain := max(u.Input-read-write, 0)
	out := max(u.Output, 0)
	reason := min(max(u.Reasoning, 0), out)
	sum := float64(plain)*r.Input + float64(read)*r.CacheRead +
		float64(write-write1h)*r.CacheWrite + float64(write1h)*r.CacheWrite1h +
		float64(out-reason)*r.Output + float64(reason)*r.Reasoning
	return sum * perMillion
}

// fromConfig resolves a config price (or catalog row) into a Price:
// cached_input and cache_write default to input, cache_write_1h to
// cache_write, reasoning to output; tiers resolve the same way from their
// own input and output.
func fromConfig(c *config.Price) (Price, error) {
	p := Price{Rates: rates(c.Input, c.Output, c.CachedInput, c.CacheWrite, c.CacheWrite1h, c.Reasoning)}
	if err := p.Rates.check(); err != nil {
		return Price{}, err
	}
	var prev int64
	for i := range c.Tiers {
		t := &c.Tiers[i]
		if t.Above <= prev {
			return Price{}, fmt.Errorf("tiers[%d].above: must rise above %d, got %d", i, prev, t.Above)
		}
		prev = t.Above
		tr := Tier{Above: t.Above, Rates: rates(t.Input, t.Output, t.CachedInput, t.CacheWrite, t.CacheWrite1h, t.Reasoning)}
		if err := tr.check(); err != nil {
			return Price{}, fmt.Errorf("tiers[%d]: %w", i, err)
		}
		p.Tiers = append(p.Tiers, tr)
	}
	return p, nil
}

func rates(in, out float64, read, write, write1h, reason *float64) Rates {
	r := Rates{Input: in, Output: out, CacheRead: in, CacheWrite: in, Reasoning: out}
	if read != nil {
		r.CacheRead = *read
	}
	if write != nil {
		r.CacheWrite = *write
	}
	r.CacheWrite1h = r.CacheWrite
	if write1h != nil {
		r.CacheWrite1h = *write1h
	}
	if reason != nil {
		r.Reasoning = *reason
	}
	return r
}

func (r *Rates) check() error {
	for _, f := range [...]float64{r.Input, r.Output, r.CacheRead, r.CacheWrite, r.CacheWrite1h, r.Reasoning} {
		if f < 0 || f > config.MaxPrice || math.IsNaN(f) {
			return fmt.Errorf("prices must be numbers from 0 to %d USD per million tokens, got %v", config.MaxPrice, f)
		}
	}
	return nil
}

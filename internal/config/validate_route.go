package config

import (
	"fmt"
	"strconv"
)

// routing validates strategies, targets, fallbacks and retry policies.
// providers maps provider names to their index (as v.providers returns).
func (v *validator) routing(c *Config) {
	models := make(map[string]*Model, len(c.Models))
	for i := range c.Models {
		models[c.Models[i].Name] = &c.Models[i]
	}
	for i := range c.Models {
		m := &c.Models[i]
		base := fmt.Sprintf("models[%d]", i)
		switch m.Strategy {
		case "", "weighted", "least-busy", "latency":
		default:
			v.errf(base+".strategy", "unknown strategy %q: want weighted, least-busy or latency", m.Strategy)
		}
		if len(m.Targets) > MaxTargetsPerModel {
			v.errf(base+".targets", "%d targets: at most %d per model", len(m.Targets), MaxTargetsPerModel)
		}
		names := map[string]int{}
		for j, t := range m.Targets {
			if k, dup := names[t.Name]; dup && t.Name != "" {
				v.errf(fmt.Sprintf("%s.targets[%d].name", base, j), "duplicate target name %q (also targets[%d]); set name: to tell them apart", t.Name, k)
			}
			names[t.Name] = j
			v.timeouts(fmt.Sprintf("%s.targets[%d].timeouts", base, j), t.Timeouts)
		}
		v.timeouts(base+".timeouts", m.Timeouts)
		// A fallback may be served in any format: requests are translated
		// to the format of whichever target serves them.
		seen := map[string]bool{}
		for j, fb := range m.Fallbacks {
			fp := fmt.Sprintf("%s.fallbacks[%d]", base, j)
			f := models[fb]
			switch {
			case fb == m.Name:
				v.errf(fp, "model %q cannot fall back to itself", fb)
			case seen[fb]:
				v.errf(fp, "fallback %q is listed twice", fb)
			case f == nil:
				v.errf(fp, "unknown model %q: a fallback names another public model", fb)
			}
			seen[fb] = true
		}
		if m.Retry != nil {
			v.retry(base+".retry", m.Retry)
		}
	}
	v.retry("routing.retry", &c.Routing.Retry)
	b := c.Routing.Breaker
	if b.Failures < 0 {
		v.errf("routing.breaker.failures", "must not be negative, got %d", b.Failures)
	}
	v.notNegative("routing.breaker.cooldown", b.Cooldown)
	v.notNegative("routing.breaker.window", b.Window)
	if b.ErrorRate < 0 || b.ErrorRate > 1 {
		v.errf("routing.breaker.error_rate", "must be between 0 and 1, got %v", b.ErrorRate)
	}
	if r := c.Routing.RetryBudget.Ratio; r < 0 || r > 1 {
		v.errf("routing.retry_budget.ratio", "must be between 0 and 1, got %v", r)
	}
	if c.Routing.RetryBudget.MinConcurrent < 0 {
		v.errf("routing.retry_budget.min_concurrent", "must not be negative, got %d", c.Routing.RetryBudget.MinConcurrent)
	}
}

func (v *validator) timeouts(path string, t Timeouts) {
	v.notNegative(path+".connect", t.Connect)
	v.notNegative(path+".first_byte", t.FirstByte)
	v.notNegative(path+".idle", t.Idle)
	v.notNegative(path+".total", t.Total)
}

func (v *validator) retry(path string, r *Retry) {
	if r.Attempts != nil && (*r.Attempts < 0 || *r.Attempts > 10) {
		v.errf(path+".attempts", "must be between 0 and 10, got %d", *r.Attempts)
	}
	v.notNegative(path+".backoff", r.Backoff)
	v.notNegative(path+".max_backoff", r.MaxBackoff)
	v.notNegative(path+".max_retry_after", r.MaxRetryAfter)
	for i, on := range r.On {
		if !validTrigger(on) {
			v.errf(fmt.Sprintf("%s.on[%d]", path, i), "unknown retry trigger %q: want connect, timeout, 429, 5xx or a status code such as 408", on)
		}
	}
}

func validTrigger(s string) bool {
	switch s {
	case "connect", "timeout", "5xx", "4xx":
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 400 && n <= 599
}

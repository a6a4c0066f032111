package config

import (
	"cmp"
	"fmt"
	"time"
)

// Routing configures how requests survive upstream failure.
type Routing struct {
	// Retry is the default retry policy of every model.
	Retry Retry `yaml:"retry"`
	// Breaker sets a target aside after failures.
	Breaker Breaker `yaml:"breaker"`
	// RetryBudget bounds retries across the gateway.
	RetryBudget RetryBudget `yaml:"retry_budget"`
}

// Retry is a retry policy.
type Retry struct {
	// Attempts is how many times one target is retried after its first
	// attempt fails with a trigger. Default 2; 0 turns retries off (the
	// next target and fallbacks are still tried).
	Attempts *int `yaml:"attempts"`
	// Backoff is the first retry's maximum wait; later retries double it
	// (full jitter) up to MaxBackoff. Defaults 100ms and 2s.
	Backoff    Duration `yaml:"backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
	// MaxRetryAfter caps how long Sluice honours an upstream's
	// Retry-After / Retry-After-Ms; a longer one moves on to the next
	// target or fallback instead. Default 5s.
	MaxRetryAfter Duration `yaml:"max_retry_after"`
	// On lists what triggers a retry, another target or a fallback:
	// connect (cannot connect, reset before a reply), timeout (no first
	// byte in time), 429, 5xx, or a status code such as "408". Default
	// [connect, timeout, 429, 5xx]. Nothing is retried once a reply has
	// started reaching the client.
	On []string `yaml:"on"`
}

// Breaker configures the per-target circuit breaker.
type Breaker struct {
	// Failures in a row that set a target aside. Default 5.
	Failures int `yaml:"failures"`
	// Cooldown before one probe request. Default 10s.
	Cooldown Duration `yaml:"cooldown"`
	// ErrorRate (0–1) over Window also sets a target aside once
	// MinRequests were seen in the window. Default 0: off.
	ErrorRate   float64  `yaml:"error_rate"`
	Window      Duration `yaml:"window"`
	MinRequests int      `yaml:"min_requests"`
}

// RetryBudget bounds retries in flight to Ratio of the requests in flight,
// with a floor of MinConcurrent.
type RetryBudget struct {
	Ratio         float64 `yaml:"ratio"`          // default 0.2
	MinConcurrent int     `yaml:"min_concurrent"` // default 3
}

// Routing defaults.
const (
	DefaultRetryAttempts    = 2
	DefaultBackoff          = 100 * time.Millisecond
	DefaultMaxBackoff       = 2 * time.Second
	DefaultMaxRetryAfter    = 5 * time.Second
	DefaultBreakerFailures  = 5
	DefaultBreakerCooldown  = 10 * time.Second
	DefaultBudgetRatio      = 0.2
	DefaultBudgetConcurrent = 3
	MaxTargetsPerModel      = 64
)

// DefaultRetryOn is the default list of retry triggers.
var DefaultRetryOn = []string{"connect", "timeout", "429", "5xx"}

// applyRoutingDefaults fills routing defaults and each model's effective
// retry policy (its own fields first, then routing.retry's).
func applyRoutingDefaults(c *Config) {
	r := &c.Routing.Retry
	if r.Attempts == nil {
		n := DefaultRetryAttempts
		r.Attempts = &n
	}
	setDefault(&r.Backoff, Duration(DefaultBackoff))
	setDefault(&r.MaxBackoff, Duration(DefaultMaxBackoff))
	setDefault(&r.MaxRetryAfter, Duration(DefaultMaxRetryAfter))
	if len(r.On) == 0 {
		r.On = append([]string(nil), DefaultRetryOn...)
	}
	b := &c.Routing.Breaker
	setDefault(&b.Failures, DefaultBreakerFailures)
	setDefault(&b.Cooldown, Duration(DefaultBreakerCooldown))
	setDefault(&b.Window, Duration(10*time.Second))
	setDefault(&b.MinRequests, 20)
	setDefault(&c.Routing.RetryBudget.Ratio, DefaultBudgetRatio)
	setDefault(&c.Routing.RetryBudget.MinConcurrent, DefaultBudgetConcurrent)
	for i := range c.Models {
		m := &c.Models[i]
		if m.Retry == nil {
			cp := *r
			m.Retry = &cp
		} else {
			if m.Retry.Attempts == nil {
				m.Retry.Attempts = r.Attempts
			}
			setDefault(&m.Retry.Backoff, r.Backoff)
			setDefault(&m.Retry.MaxBackoff, r.MaxBackoff)
			setDefault(&m.Retry.MaxRetryAfter, r.MaxRetryAfter)
			if len(m.Retry.On) == 0 {
				m.Retry.On = r.On
			}
		}
		used := make(map[string]bool, len(m.Targets))
		for j := range m.Targets {
			if n := m.Targets[j].Name; n != "" {
				used[n] = true
			}
		}
		for j := range m.Targets {
			t := &m.Targets[j]
			if t.Name != "" || t.Provider == "" {
				continue
			}
			// provider/model, made unique when the same upstream model is
			// listed twice (say with different timeouts). A pattern's
			// target without a model is named after the pattern
			// ("anthropic/claude-*"), whatever name a request forwards.
			model := cmp.Or(t.Model, m.Name)
			t.Name = t.Provider + "/" + model
			for k := 2; used[t.Name]; k++ {
				t.Name = fmt.Sprintf("%s/%s#%d", t.Provider, model, k)
			}
			used[t.Name] = true
		}
	}
}

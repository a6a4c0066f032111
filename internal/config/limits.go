package config

import (
	"fmt"
	"time"
)

// Limits configures rate limits and budgets (internal/ratelimit): the
// defaults for keys that set no limit of their own, the token reservation
// made for requests that give no max_tokens, and where limit state lives.
// Zero value: keys without limits are unlimited, state in memory.
type Limits struct {
	// Defaults apply to each limit a key leaves at 0. Zero: unlimited.
	Defaults LimitDefaults `yaml:"defaults"`
	// DefaultMaxTokens is the completion size reserved against a tpm limit
	// for a request that sets no max_tokens (or max_completion_tokens,
	// max_output_tokens); the reservation is reconciled to actual usage
	// after the reply, and never exceeds the limit itself. Default 4096.
	DefaultMaxTokens int64 `yaml:"default_max_tokens"`
	// Redis holds limits and budgets in Redis so that several instances
	// share them. It is used when its URL is set (by default
	// storage.redis_url); otherwise limits live in each process's memory.
	Redis LimitsRedis `yaml:"redis"`
	// EndUsers configures the state kept per end user (the request's
	// user field) for keys and teams with end_user_limits.
	EndUsers LimitsEndUsers `yaml:"end_users"`
}

// LimitsEndUsers configures per-end-user state.
type LimitsEndUsers struct {
	// IdleTTL is how long an end user's spend is remembered after their
	// last request: a day's or a month's budget is also forgotten when its
	// period ends. Rate buckets go as soon as they are full again. Each
	// end user remembered costs about 200 bytes (in memory, or in Redis).
	// Default 24h; at least 1m.
	IdleTTL Duration `yaml:"idle_ttl"`
}

// LimitDefaults are the limits of keys that set none (0 on the key).
type LimitDefaults struct {
	// RPM bounds requests per minute. 0: unlimited.
	RPM int64 `yaml:"rpm"`
	// TPM bounds tokens (input + output) per minute. 0: unlimited.
	TPM int64 `yaml:"tpm"`
	// MaxConcurrent bounds requests in flight; beyond it a request is
	// rejected at once, never queued. 0: unlimited.
	MaxConcurrent int64 `yaml:"max_concurrent"`
}

// LimitsRedis configures the Redis backend of the limiter.
type LimitsRedis struct {
	// URL is a redis://, rediss:// or unix:// URL. Default:
	// storage.redis_url. Empty: limits live in memory.
	URL Secret `yaml:"url"`
	// Prefix starts every Redis key Sluice writes, so that several
	// deployments (or tests) can share one Redis. Default "sluice:".
	Prefix string `yaml:"prefix"`
	// Timeout bounds one Redis round trip of an admission decision; past
	// it the decision is made as FailMode says. Default 20ms; at most 1s.
	Timeout Duration `yaml:"timeout"`
	// FailMode says what happens while Redis cannot be reached: "local"
	// (default) falls back to per-instance in-memory limits, so traffic
	// stays bounded (by the limit times the number of instances); "open"
	// admits every request; "closed" rejects them (503 overloaded).
	FailMode string `yaml:"fail_mode"`
}

// ProviderLimits bound the traffic Sluice sends to one provider, shared by
// all keys: they protect an upstream quota. Each upstream model of the
// provider has its own allowance. Zero: unlimited.
type ProviderLimits struct {
	// RPM bounds requests per minute to each upstream model.
	RPM int64 `yaml:"rpm"`
	// TPM bounds tokens per minute to each upstream model.
	TPM int64 `yaml:"tpm"`
}

// Fail modes of limits.redis.fail_mode.
const (
	FailLocal  = "local"
	FailOpen   = "open"
	FailClosed = "closed"
)

// Defaults of the limits section.
const (
	DefaultMaxTokens    = 4096
	DefaultRedisPrefix  = "sluice:"
	DefaultRedisTimeout = 20 * time.Millisecond
	// DefaultEndUserIdleTTL is limits.end_users.idle_ttl's default.
	DefaultEndUserIdleTTL = 24 * time.Hour
	// MaxRedisTimeout keeps a limit decision fast even when Redis hangs.
	MaxRedisTimeout = time.Second
	// MaxLimit bounds rpm, tpm and max_concurrent values: far above any
	// real quota, low enough that the limiter's arithmetic never overflows.
	MaxLimit = 1_000_000_000_000_000
)

// applyLimitsDefaults sets the defaults of the limits section.
func applyLimitsDefaults(c *Config) {
	l := &c.Limits
	setDefault(&l.DefaultMaxTokens, DefaultMaxTokens)
	setDefault(&l.Redis.URL, c.Storage.RedisURL)
	setDefault(&l.Redis.Prefix, DefaultRedisPrefix)
	setDefault(&l.Redis.Timeout, Duration(DefaultRedisTimeout))
	setDefault(&l.Redis.FailMode, FailLocal)
	setDefault(&l.EndUsers.IdleTTL, Duration(DefaultEndUserIdleTTL))
}

// limit checks one rpm/tpm/max_concurrent value.
func (v *validator) limit(path string, n int64) {
	switch {
	case n < 0:
		v.errf(path, "must not be negative, got %d", n)
	case n > MaxLimit:
		v.errf(path, "must be at most %d, got %d", int64(MaxLimit), n)
	}
}

func (v *validator) limits(c *Config) {
	l := &c.Limits
	v.limit("limits.defaults.rpm", l.Defaults.RPM)
	v.limit("limits.defaults.tpm", l.Defaults.TPM)
	v.limit("limits.defaults.max_concurrent", l.Defaults.MaxConcurrent)
	switch {
	case l.DefaultMaxTokens <= 0:
		v.errf("limits.default_max_tokens", "must be positive, got %d", l.DefaultMaxTokens)
	case l.DefaultMaxTokens > MaxLimit:
		v.errf("limits.default_max_tokens", "must be at most %d, got %d", int64(MaxLimit), l.DefaultMaxTokens)
	}
	if ttl := l.EndUsers.IdleTTL.D(); ttl < time.Minute {
		v.errf("limits.end_users.idle_ttl", "must be at least 1m, got %s", l.EndUsers.IdleTTL)
	}
	r := &l.Redis
	// A URL inherited from storage.redis_url is reported there.
	if u := r.URL.Reveal(); u != "" && r.URL != c.Storage.RedisURL {
		if msg := redisURLProblem(u); msg != "" {
			v.errf("limits.redis.url", "%s", msg)
		}
	}
	if r.Prefix == "" {
		v.required("limits.redis.prefix", "")
	} else if !printableASCII(r.Prefix) {
		v.errf("limits.redis.prefix", "invalid prefix %q: no spaces, control or non-ASCII characters", r.Prefix)
	}
	switch to := r.Timeout.D(); {
	case to <= 0:
		v.errf("limits.redis.timeout", "must be positive, got %s", r.Timeout)
	case to > MaxRedisTimeout:
		v.errf("limits.redis.timeout", "must be at most %s (a limit decision must stay fast), got %s", MaxRedisTimeout, r.Timeout)
	}
	switch r.FailMode {
	case FailLocal, FailOpen, FailClosed:
	case "":
		v.required("limits.redis.fail_mode", ": want local, open or closed")
	default:
		v.errf("limits.redis.fail_mode", "unknown fail mode %q: want local, open or closed", r.FailMode)
	}
	for i := range c.Providers {
		base := fmt.Sprintf("providers[%d].limits", i)
		v.limit(base+".rpm", c.Providers[i].Limits.RPM)
		v.limit(base+".tpm", c.Providers[i].Limits.TPM)
	}
}

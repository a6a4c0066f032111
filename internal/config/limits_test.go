package config

import (
	"strings"
	"testing"
	"time"
)

func TestLimitsConfig(t *testing.T) {
	src := strings.Replace(minimal, "kind: openai\n", "kind: openai\n    limits: {rpm: 500, tpm: 90000}\n", 1) + `storage:
  redis_url: ${REDIS}
limits:
  defaults: {rpm: 60, tpm: 100000, max_concurrent: 8}
  default_max_tokens: 1024
  redis:
    prefix: "gw1:"
    timeout: 15ms
    fail_mode: closed
pricing:
  gpt-4o-mini: {input: 0.15, output: 0.6, cached_input: 0.075}
  claude-3-5-haiku-latest:
    input: 0.8
    output: 4
    cache_write: 1
`
	c := mustParse(t, src, map[string]string{"REDIS": "redis://:hunter2@127.0.0.1:6379/0"})
	l := c.Limits
	if l.Defaults != (LimitDefaults{RPM: 60, TPM: 100000, MaxConcurrent: 8}) || l.DefaultMaxTokens != 1024 {
		t.Errorf("limits = %+v", l)
	}
	if l.Redis.URL.Reveal() != "redis://:hunter2@127.0.0.1:6379/0" || l.Redis.Prefix != "gw1:" ||
		l.Redis.Timeout.D() != 15*time.Millisecond || l.Redis.FailMode != FailClosed {
		t.Errorf("limits.redis = %+v (url from storage.redis_url)", l.Redis)
	}
	if c.Providers[0].Limits != (ProviderLimits{RPM: 500, TPM: 90000}) {
		t.Errorf("provider limits = %+v", c.Providers[0].Limits)
	}
	p := c.Pricing["gpt-4o-mini"]
	if p.Input != 0.15 || p.Output != 0.6 || p.CachedInput == nil || *p.CachedInput != 0.075 || p.CacheWrite != nil {
		t.Errorf("pricing gpt-4o-mini = %+v", p)
	}
	if h := c.Pricing["claude-3-5-haiku-latest"]; h.CachedInput != nil || h.CacheWrite == nil || *h.CacheWrite != 1 {
		t.Errorf("pricing claude = %+v", h)
	}

	// Defaults.
	c = mustParse(t, minimal, nil)
	l = c.Limits
	if l.Defaults != (LimitDefaults{}) || l.DefaultMaxTokens != DefaultMaxTokens || l.Redis.URL != "" ||
		l.Redis.Prefix != DefaultRedisPrefix || l.Redis.Timeout.D() != DefaultRedisTimeout || l.Redis.FailMode != FailLocal {
		t.Errorf("default limits = %+v", l)
	}
	// An explicit limits.redis.url wins over storage.redis_url.
	c = mustParse(t, minimal+"storage:\n  redis_url: redis://a:6379\nlimits:\n  redis:\n    url: redis://b:6379\n", nil)
	if c.Limits.Redis.URL.Reveal() != "redis://b:6379" {
		t.Errorf("limits.redis.url = %s", c.Limits.Redis.URL.Reveal())
	}
}

func TestLimitsValidation(t *testing.T) {
	lim := func(body string) string { return minimal + "limits:\n" + body }
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{"negative defaults", lim("  defaults: {rpm: -1, tpm: -2, max_concurrent: -3}\n"), nil, []string{
			`10:19: limits.defaults.rpm: must not be negative, got -1`,
			`10:28: limits.defaults.tpm: must not be negative, got -2`,
			`10:48: limits.defaults.max_concurrent: must not be negative, got -3`,
		}},
		{"huge limit", lim("  defaults: {rpm: 2000000000000000}\n"), nil, []string{
			`10:19: limits.defaults.rpm: must be at most 1000000000000000, got 2000000000000000`,
		}},
		{"default max tokens", lim("  default_max_tokens: -5\n"), nil, []string{
			`10:23: limits.default_max_tokens: must be positive, got -5`,
		}},
		{"redis url", lim("  redis:\n    url: ${R}\n"), map[string]string{"R": "http://:hunter2@h:1"}, []string{
			`11:10: limits.redis.url: unsupported scheme: want a redis://, rediss:// or unix:// URL`,
		}},
		{"redis prefix", lim("  redis:\n    prefix: \"a b\"\n"), nil, []string{
			`11:13: limits.redis.prefix: invalid prefix "a b": no spaces, control or non-ASCII characters`,
		}},
		{"redis timeout", lim("  redis:\n    timeout: 2s\n"), nil, []string{
			`11:14: limits.redis.timeout: must be at most 1s (a limit decision must stay fast), got 2s`,
		}},
		{"negative redis timeout", lim("  redis:\n    timeout: -1ms\n"), nil, []string{
			`11:14: limits.redis.timeout: must be positive, got -1ms`,
		}},
		{"fail mode", lim("  redis:\n    fail_mode: shrug\n"), nil, []string{
			`11:16: limits.redis.fail_mode: unknown fail mode "shrug": want local, open or closed`,
		}},
		{"unknown field", lim("  rpm: 5\n"), nil, []string{`10:3: limits: unknown field "rpm"`}},
		{"provider limits", strings.Replace(minimal, "kind: openai\n", "kind: openai\n    limits: {rpm: -1, rps: 2}\n", 1), nil, []string{
			`4:19: providers[0].limits.rpm: must not be negative, got -1`,
			`4:23: providers[0].limits: unknown field "rps"`,
		}},
		{"prices", minimal + "pricing:\n  m: {input: -1, output: 2000000, cached_input: -0.5}\n  n: {inpt: 1}\n", nil, []string{
			`10:14: pricing.m.input: must be a price in USD per million tokens between 0 and 1000000, got -1`,
			`10:26: pricing.m.output: must be a price in USD per million tokens between 0 and 1000000, got 2e+06`,
			`10:49: pricing.m.cached_input: must be a price in USD per million tokens between 0 and 1000000, got -0.5`,
			`11:7: pricing.n: unknown field "inpt"`,
		}},
		{"price tiers", minimal + "pricing:\n  m:\n    input: 1\n    cache_write_1h: -2\n    reasoning: 3\n    tiers:\n      - {above: 200000, input: 2, output: -1}\n      - {above: 100, input: 3}\n", nil, []string{
			`12:21: pricing.m.cache_write_1h: must be a price in USD per million tokens between 0 and 1000000, got -2`,
			`15:43: pricing.m.tiers[0].output: must be a price in USD per million tokens between 0 and 1000000, got -1`,
			`16:17: pricing.m.tiers[1].above: must be a prompt length in tokens above 200000 (tiers rise), got 100`,
		}},
		{"price model name", minimal + "pricing:\n  \"a b\": {input: 1}\n", nil, []string{
			`10:3: pricing: invalid model name "a b": no spaces, control or non-ASCII characters`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src, tt.env)
			checkProblems(t, got, tt.want)
			for _, line := range got {
				if strings.Contains(line, "hunter2") {
					t.Errorf("a problem quotes a secret: %s", line)
				}
			}
		})
	}
}

func TestL1Limits(t *testing.T) {
	env := benchEnv()
	env["SLUICE_DATA_DIR"] = t.TempDir()
	c, err := Parse("l1.yaml", readFile(t, "../../bench/configs/l1.yaml"), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.Redis.URL.Reveal() != env["SLUICE_REDIS_URL"] {
		t.Error("limits.redis.url does not follow SLUICE_REDIS_URL")
	}
	for _, m := range []string{"gpt-4o-mini", "claude-3-5-haiku"} {
		if p, ok := c.Pricing[m]; !ok || p.Input <= 0 || p.Output <= 0 {
			t.Errorf("l1 has no price for %s: budgets would never be charged", m)
		}
	}
	k := c.Auth.Keys[0]
	// L1 checks a budget on every request, and it must never run out: at a
	// million requests per second of ~1000 tokens at the prices above, for
	// a day.
	if k.BudgetUSD < 1e9 || k.BudgetPeriod != "day" {
		t.Errorf("bench key budget %v per %q: want one that is checked and never runs out", k.BudgetUSD, k.BudgetPeriod)
	}
	for _, p := range c.Providers {
		if p.Limits.RPM < 60_000_000 || p.Limits.TPM < 60_000_000_000 {
			t.Errorf("provider %s limits %+v could throttle a bench", p.Name, p.Limits)
		}
	}
}

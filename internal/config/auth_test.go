package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestAuthConfig(t *testing.T) {
	src := minimal + `storage:
  postgres_url: ${PG}
  redis_url: ${REDIS}
admin:
  token: t
  listen: 127.0.0.1:8081
auth:
  enabled: true
  rotation_grace: 1m
  keys:
    - key: sk-one
      name: first
      models: [gpt-4o-mini, gpt-4o]
      rpm: 60
      tpm: 100000
      max_concurrent: 4
      budget_usd: 12.5
      expires_at: 2030-01-02T03:04:05Z
      team: core
      tags: {env: prod}
      model_limits: {gpt-4o: {rpm: 3}}
      allow_routing_headers: true
      guardrails: [strict]
      priority: high
    - key: sk-two
      id: bench
      budget_usd: 1
      budget_period: month
      disabled: true
      team_id: platform
      end_user_limits: {rpm: 5, budget_usd: 0.5}
  teams:
    - id: platform
      name: Platform
      models: [gpt-4o-mini, "claude-*"]
      rpm: 600
      tpm: 1000000
      max_concurrent: 20
      budget_usd: 100
      tags: {cost_center: "42"}
      end_user_limits: {rpm: 10, tpm: 20000, budget_usd: 1, budget_period: day}
guardrails:
  sets:
    - name: strict
      rules: [{name: ssn, kind: ssn}]
`
	c := mustParse(t, src, map[string]string{"PG": "postgres://u:p@127.0.0.1/db", "REDIS": "redis://127.0.0.1:6379/0"})
	if c.Storage.PostgresURL.Reveal() != "postgres://u:p@127.0.0.1/db" || c.Storage.RedisURL.Reveal() != "redis://127.0.0.1:6379/0" {
		t.Errorf("storage = %+v", c.Storage)
	}
	if c.Admin.Listen != "127.0.0.1:8081" {
		t.Errorf("admin.listen = %q", c.Admin.Listen)
	}
	a := c.Auth
	if !a.Enabled || a.SyncInterval.D() != DefaultSyncInterval || a.RotationGrace.D() != time.Minute || len(a.Keys) != 2 {
		t.Fatalf("auth = %+v", a)
	}
	k := a.Keys[0]
	want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if k.Key.Reveal() != "sk-one" || k.ID != StaticKeyID("sk-one") || k.Name != "first" ||
		strings.Join(k.Models, ",") != "gpt-4o-mini,gpt-4o" || k.RPM != 60 || k.TPM != 100000 || k.MaxConcurrent != 4 ||
		k.BudgetUSD != 12.5 || k.BudgetPeriod != "total" || !k.ExpiresAt.Equal(want) || k.Team != "core" ||
		k.Tags["env"] != "prod" || k.ModelLimits["gpt-4o"] != (ModelLimit{RPM: 3}) || !k.AllowRoutingHeaders ||
		strings.Join(k.Guardrails, ",") != "strict" || k.Disabled || k.Priority != "high" {
		t.Errorf("first key = %+v", k)
	}
	if got := a.Keys[1]; got.ID != "bench" || got.BudgetPeriod != "month" || !got.Disabled || !got.ExpiresAt.IsZero() ||
		got.TeamID != "platform" || got.EndUserLimits != (EndUserLimits{RPM: 5, BudgetUSD: 0.5, BudgetPeriod: "total"}) ||
		got.Priority != "" {
		t.Errorf("second key = %+v", got)
	}
	if len(a.Teams) != 1 {
		t.Fatalf("teams = %+v", a.Teams)
	}
	if tm := a.Teams[0]; tm.ID != "platform" || tm.Name != "Platform" || strings.Join(tm.Models, ",") != "gpt-4o-mini,claude-*" ||
		tm.RPM != 600 || tm.TPM != 1000000 || tm.MaxConcurrent != 20 || tm.BudgetUSD != 100 || tm.BudgetPeriod != "total" ||
		tm.Tags["cost_center"] != "42" || tm.EndUserLimits != (EndUserLimits{RPM: 10, TPM: 20000, BudgetUSD: 1, BudgetPeriod: "day"}) {
		t.Errorf("team = %+v", tm)
	}
	sum := sha256.Sum256([]byte("sk-bench-0001"))
	if id := StaticKeyID("sk-bench-0001"); id != "static-"+hex.EncodeToString(sum[:])[:12] {
		t.Errorf("StaticKeyID = %q", id)
	}
	if a1, a2 := StaticKeyID("a"), StaticKeyID(Secret(string([]byte{'a'}))); StaticKeyID("b") == a1 || a1 != a2 {
		t.Error("StaticKeyID is not a stable function of the key")
	}

	// Unset storage URLs mean "not configured"; auth is off by default.
	c = mustParse(t, minimal+"storage:\n  postgres_url: ${PG}\n", nil)
	if c.Storage.PostgresURL != "" || c.Auth.Enabled || c.Auth.SyncInterval.D() != DefaultSyncInterval || c.Admin.Listen != "" {
		t.Errorf("defaults: storage %+v auth %+v", c.Storage, c.Auth)
	}
}

func TestAuthValidation(t *testing.T) {
	keys := func(lines string) string { return minimal + "auth:\n  enabled: true\n  keys:\n" + lines }
	teams := func(lines string) string { return minimal + "auth:\n  enabled: true\n  teams:\n" + lines }
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{"keys without enabled", minimal + "auth:\n  keys: [{key: sk-1}]\n",
			nil, []string{`10:3: auth.enabled: static keys are configured in auth.keys but auth is off: set auth.enabled: true, or remove the keys`}},
		{"keys with enabled false", minimal + "auth:\n  enabled: false\n  keys: [{key: sk-1}]\n",
			nil, []string{`10:12: auth.enabled: static keys are configured in auth.keys but auth is off: set auth.enabled: true, or remove the keys`}},
		{"enabled without keys is fine", minimal + "auth:\n  enabled: true\n", nil, nil},
		{"sync interval too long", minimal + "auth:\n  sync_interval: 5s\n",
			nil, []string{`10:18: auth.sync_interval: must be at most 4s (changes must reach every instance within 5s), got 5s`}},
		{"sync interval too short", minimal + "auth:\n  sync_interval: 1ms\n",
			nil, []string{`10:18: auth.sync_interval: must be at least 10ms, got 1ms`}},
		{"negative grace", minimal + "auth:\n  rotation_grace: -1s\n",
			nil, []string{`10:19: auth.rotation_grace: must not be negative, got -1s`}},
		{"key missing", keys("    - name: x\n"),
			nil, []string{`12:7: auth.keys[0].key: required: the secret clients send`}},
		{"key from an empty variable", keys("    - key: ${K}\n"),
			nil, []string{`12:12: auth.keys[0].key: required, but "${K}" expanded to an empty string: the secret clients send`}},
		{"key with a space", keys("    - key: \"sk 1\"\n"),
			nil, []string{`12:12: auth.keys[0].key: contains whitespace, control or non-ASCII characters`}},
		{"key too long", keys("    - key: " + strings.Repeat("k", MaxStaticKeyLen+1) + "\n"),
			nil, []string{`12:12: auth.keys[0].key: is 1025 bytes long: at most 1024`}},
		{"duplicate key", keys("    - key: sk-1\n    - key: ${SAME}\n"),
			map[string]string{"SAME": "sk-1"}, []string{`13:12: auth.keys[1].key: the same key as auth.keys[0] (first at 12:12)`}},
		{"duplicate id", keys("    - {key: sk-1, id: a}\n    - {key: sk-2, id: a}\n"),
			nil, []string{`13:23: auth.keys[1].id: duplicate key id "a" (first at 12:23)`}},
		{"duplicate derived id", keys("    - {key: sk-1, id: " + StaticKeyID("sk-2") + "}\n    - {key: sk-2}\n"),
			nil, []string{`13:7: auth.keys[1].id: duplicate key id "` + StaticKeyID("sk-2") + `" (first at 12:23)`}},
		{"bad id", keys("    - {key: sk-1, id: \"a/b\"}\n"),
			nil, []string{`12:23: auth.keys[0].id: invalid key id "a/b": use at most 64 letters, digits, ".", "_" and "-"`}},
		{"reserved id", keys("    - {key: sk-1, id: key_1}\n"),
			nil, []string{`12:23: auth.keys[0].id: invalid key id "key_1": ids starting with "key_" are reserved for keys created through the admin API`}},
		{"negative limits", keys("    - key: sk-1\n      rpm: -1\n      max_concurrent: -2\n      budget_usd: -3\n"),
			nil, []string{
				`13:12: auth.keys[0].rpm: must not be negative, got -1`,
				`14:23: auth.keys[0].max_concurrent: must not be negative, got -2`,
				`15:19: auth.keys[0].budget_usd: must be a non-negative amount, got -3`,
			}},
		{"budget period", keys("    - key: sk-1\n      budget_period: week\n"),
			nil, []string{`13:22: auth.keys[0].budget_period: unknown period "week": want day, month or total`}},
		{"expires_at date only", keys("    - key: sk-1\n      expires_at: 2030-01-02\n"),
			nil, []string{`13:19: auth.keys[0].expires_at: expected an RFC 3339 time such as "2026-12-31T23:59:59Z", got "2030-01-02"`}},
		{"expires_at garbage", keys("    - key: sk-1\n      expires_at: soon\n"),
			nil, []string{`13:19: auth.keys[0].expires_at: expected an RFC 3339 time such as "2026-12-31T23:59:59Z", got "soon"`}},
		{"model name", keys("    - key: sk-1\n      models: [\"gpt 4\"]\n"),
			nil, []string{`13:16: auth.keys[0].models[0]: invalid model name "gpt 4": no spaces, control or non-ASCII characters`}},
		{"model patterns", keys("    - key: sk-1\n      models: [\"claude-*\", \"*\", \"gpt-*-mini\", \"o**\"]\n"),
			nil, []string{
				`13:33: auth.keys[0].models[2]: invalid model name "gpt-*-mini": '*' may appear only once, as the last character (a pattern such as "claude-*")`,
				`13:47: auth.keys[0].models[3]: invalid model name "o**": '*' may appear only once, as the last character (a pattern such as "claude-*")`,
			}},
		{"model limits", keys("    - key: sk-1\n      model_limits:\n        m: {rpm: -1, tpm: -2}\n        n: {rps: 1}\n"),
			nil, []string{
				`14:18: auth.keys[0].model_limits.m.rpm: must not be negative, got -1`,
				`14:27: auth.keys[0].model_limits.m.tpm: must not be negative, got -2`,
				`15:13: auth.keys[0].model_limits.n: unknown field "rps"`,
			}},
		{"guardrail name", keys("    - key: sk-1\n      guardrails: [\"a b\"]\n"),
			nil, []string{`13:20: auth.keys[0].guardrails[0]: invalid guardrail set name "a b": use letters, digits, ".", "_" and "-"`}},
		{"priority", keys("    - key: sk-1\n      priority: urgent\n    - key: sk-2\n      priority: High\n"),
			nil, []string{
				`13:17: auth.keys[0].priority: unknown priority "urgent": want normal or high`,
				`15:17: auth.keys[1].priority: unknown priority "High": want normal or high`,
			}},
		{"priority normal, or from an empty variable", keys("    - key: sk-1\n      priority: normal\n    - key: sk-2\n      priority: ${P}\n"),
			nil, nil},
		{"unknown key field", keys("    - key: sk-1\n      rpn: 1\n"),
			nil, []string{`13:7: auth.keys[0]: unknown field "rpn"`}},
		{"key team_id and end users", keys("    - key: sk-1\n      team_id: \"a b\"\n      end_user_limits: {rpm: -1, budget_usd: -2, budget_period: week}\n"),
			nil, []string{
				`13:16: auth.keys[0].team_id: invalid team id "a b": use at most 64 letters, digits, ".", "_" and "-"`,
				`14:30: auth.keys[0].end_user_limits.rpm: must not be negative, got -1`,
				`14:46: auth.keys[0].end_user_limits.budget_usd: must be a non-negative amount, got -2`,
				`14:65: auth.keys[0].end_user_limits.budget_period: unknown period "week": want day, month or total`,
			}},
		{"key end users unknown field", keys("    - key: sk-1\n      end_user_limits: {rps: 1}\n"),
			nil, []string{`13:25: auth.keys[0].end_user_limits: unknown field "rps"`}},
		{"teams without enabled", minimal + "auth:\n  teams: [{id: t}]\n",
			nil, []string{`10:3: auth.enabled: static teams are configured in auth.teams but auth is off: set auth.enabled: true, or remove the teams`}},
		{"team id missing", teams("    - name: x\n"),
			nil, []string{`12:7: auth.teams[0].id: required: the id keys name in team_id`}},
		{"team id bad", teams("    - id: \"a:b\"\n"),
			nil, []string{`12:11: auth.teams[0].id: invalid team id "a:b": use at most 64 letters, digits, ".", "_" and "-"`}},
		{"team id duplicate", teams("    - id: a\n    - id: a\n"),
			nil, []string{`13:11: auth.teams[1].id: duplicate team id "a" (first at 12:11)`}},
		{"team policy", teams("    - id: a\n      models: [\"gpt 4\"]\n      tpm: -1\n      budget_usd: -1\n      budget_period: week\n      end_user_limits: {tpm: -5}\n"),
			nil, []string{
				`13:16: auth.teams[0].models[0]: invalid model name "gpt 4": no spaces, control or non-ASCII characters`,
				`14:12: auth.teams[0].tpm: must not be negative, got -1`,
				`15:19: auth.teams[0].budget_usd: must be a non-negative amount, got -1`,
				`16:22: auth.teams[0].budget_period: unknown period "week": want day, month or total`,
				`17:30: auth.teams[0].end_user_limits.tpm: must not be negative, got -5`,
			}},
		{"team unknown field", teams("    - id: a\n      rpn: 1\n"),
			nil, []string{`13:7: auth.teams[0]: unknown field "rpn"`}},
		{"admin listen", minimal + "admin:\n  listen: 8081\n",
			nil, []string{`10:11: admin.listen: invalid address "8081": want host:port, such as "127.0.0.1:8080"`}},
		{"admin listen on the client listener", minimal + "admin:\n  listen: 127.0.0.1:8080\n",
			nil, []string{`10:11: admin.listen: "127.0.0.1:8080" is also server.listen: leave admin.listen empty to serve the admin API on the client listener`}},
		{"admin listen on the mock", minimal + "mock:\n  listen: 127.0.0.1:9000\nadmin:\n  listen: 127.0.0.1:9000\n",
			nil, []string{`12:11: admin.listen: "127.0.0.1:9000" is also mock.listen; the admin API needs its own address`}},
		{"postgres url scheme", minimal + "storage:\n  postgres_url: ${PG}\n",
			map[string]string{"PG": "mysql://u:hunter2@h/db"}, []string{`10:17: storage.postgres_url: unsupported scheme: want a postgres:// URL or a "host=... dbname=..." connection string`}},
		{"postgres url junk", minimal + "storage:\n  postgres_url: ${PG}\n",
			map[string]string{"PG": "hunter2"}, []string{`10:17: storage.postgres_url: want a postgres:// URL or a "host=... dbname=..." connection string`}},
		{"postgres url unparsable", minimal + "storage:\n  postgres_url: ${PG}\n",
			map[string]string{"PG": "postgres://u:hunter2@[::1/db"}, []string{`10:17: storage.postgres_url: not a valid URL: want a postgres:// URL or a "host=... dbname=..." connection string`}},
		{"postgres keyword string", minimal + "storage:\n  postgres_url: \"host=/tmp dbname=x\"\n", nil, nil},
		{"redis url scheme", minimal + "storage:\n  redis_url: ${R}\n",
			map[string]string{"R": "http://:hunter2@h:6379"}, []string{`10:14: storage.redis_url: unsupported scheme: want a redis://, rediss:// or unix:// URL`}},
		{"redis url without host", minimal + "storage:\n  redis_url: ${R}\n",
			map[string]string{"R": "redis:///0"}, []string{`10:14: storage.redis_url: the URL has no host: want a redis://, rediss:// or unix:// URL`}},
		{"redis unix socket", minimal + "storage:\n  redis_url: unix:///run/redis.sock\n", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src, tt.env)
			checkProblems(t, got, tt.want)
			for _, line := range got {
				if strings.Contains(line, "hunter2") || strings.Contains(line, "sk-1") && !strings.Contains(tt.name, "id") {
					t.Errorf("a problem quotes a secret: %s", line)
				}
			}
		})
	}
}

func TestTimestampText(t *testing.T) {
	var ts Timestamp
	if b, _ := ts.MarshalText(); len(b) != 0 {
		t.Errorf("zero Timestamp marshals as %q, want empty", b)
	}
	if err := ts.UnmarshalText([]byte("2030-01-02T03:04:05.5+02:00")); err != nil {
		t.Fatal(err)
	}
	if b, _ := ts.MarshalText(); string(b) != "2030-01-02T03:04:05.5+02:00" {
		t.Errorf("round trip = %q", b)
	}
}

func TestAuthValidateInCode(t *testing.T) {
	c := &Config{
		Providers: []Provider{{Name: "openai", Kind: KindOpenAI, BaseURL: "http://127.0.0.1:9000/v1"}},
		Models:    []Model{{Name: "m", Targets: []Target{{Provider: "openai"}}}},
		Auth:      Auth{Enabled: true, Keys: []StaticKey{{Key: "sk-1", BudgetUSD: 2}}},
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if k := c.Auth.Keys[0]; k.ID != StaticKeyID("sk-1") || k.BudgetPeriod != "total" || c.Auth.SyncInterval.D() != time.Second {
		t.Errorf("defaults in code: %+v", c.Auth)
	}
	c.Auth.Keys[0].ModelLimits = map[string]ModelLimit{"b": {RPM: -1}, "a": {TPM: -1}}
	err := c.Validate()
	if err == nil || err.Error() != "auth.keys[0].model_limits.a.tpm: must not be negative, got -1\nauth.keys[0].model_limits.b.rpm: must not be negative, got -1" {
		t.Errorf("Validate = %v", err)
	}
}

func TestL1(t *testing.T) {
	env := benchEnv()
	env["SLUICE_DATA_DIR"] = t.TempDir()
	for name, env := range map[string]map[string]string{"empty env": nil, "bench env": env} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse("l1.yaml", readFile(t, "../../bench/configs/l1.yaml"), testEnv(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Storage.PostgresURL.Reveal() != env["SLUICE_POSTGRES_URL"] || c.Storage.RedisURL.Reveal() != env["SLUICE_REDIS_URL"] {
				t.Errorf("storage does not come from SLUICE_POSTGRES_URL and SLUICE_REDIS_URL")
			}
			if !c.Auth.Enabled || c.Admin.Listen != "" || len(c.Auth.Keys) != 1 {
				t.Fatalf("auth %+v, admin.listen %q", c.Auth, c.Admin.Listen)
			}
			k := c.Auth.Keys[0]
			if k.Key.Reveal() != "sk-bench-0001" || k.Disabled || !k.ExpiresAt.IsZero() || len(k.Models) != 0 {
				t.Errorf("bench key = %+v", k)
			}
			// Never throttle a bench: a million requests per second for a
			// minute stays under rpm, at a thousand tokens each under tpm.
			if k.RPM < 60_000_000 || k.TPM < 60_000_000*1000 || k.MaxConcurrent < 100_000 {
				t.Errorf("bench key limits too low: rpm %d, tpm %d, max_concurrent %d", k.RPM, k.TPM, k.MaxConcurrent)
			}
		})
	}
}

func TestStaticKeysNeverPrint(t *testing.T) {
	c := mustParse(t, minimal+"storage:\n  postgres_url: postgres://u:hunter2@h/db\nauth:\n  enabled: true\n  keys: [{key: sk-static-secret-1}]\n", nil)
	out := fmt.Sprintf("%v %+v %#v", c, c, c)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out += string(b) + string(y)
	for _, secret := range []string{"sk-static-secret-1", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("a printed config shows %q", secret)
		}
	}
}

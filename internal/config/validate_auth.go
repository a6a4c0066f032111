package config

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
)

// Messages below never quote a storage URL (it may carry a password) or a
// static key.

func (v *validator) adminListen(c *Config) {
	l := c.Admin.Listen
	switch {
	case hostPortProblem(l) != "":
		v.errf("admin.listen", "%s", hostPortProblem(l))
	case strings.HasSuffix(l, ":0"):
		// An ephemeral port never collides with another listener.
	case l == c.Server.Listen:
		v.errf("admin.listen", "%q is also server.listen: leave admin.listen empty to serve the admin API on the client listener", l)
	case l == c.Mock.Listen:
		v.errf("admin.listen", "%q is also mock.listen; the admin API needs its own address", l)
	}
}

func (v *validator) storage(s *Storage) {
	if u := s.PostgresURL.Reveal(); u != "" {
		if msg := postgresURLProblem(u); msg != "" {
			v.errf("storage.postgres_url", "%s", msg)
		}
	}
	if u := s.RedisURL.Reveal(); u != "" {
		if msg := redisURLProblem(u); msg != "" {
			v.errf("storage.redis_url", "%s", msg)
		}
	}
}

// postgresURLProblem accepts what pgx accepts: a postgres:// or
// postgresql:// URL, or a keyword/value connection string.
func postgresURLProblem(s string) string {
	const want = `want a postgres:// URL or a "host=... dbname=..." connection string`
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		if _, err := url.Parse(s); err != nil {
			return "not a valid URL: " + want
		}
		return ""
	}
	if strings.Contains(s, "://") {
		return "unsupported scheme: " + want
	}
	if !strings.Contains(s, "=") {
		return want
	}
	return ""
}

// redisURLProblem accepts the URL forms of Redis clients.
func redisURLProblem(s string) string {
	const want = "want a redis://, rediss:// or unix:// URL"
	u, err := url.Parse(s)
	if err != nil {
		return "not a valid URL: " + want
	}
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			return "the URL has no host: " + want
		}
	case "unix":
		if u.Path == "" {
			return "the URL has no socket path: " + want
		}
	default:
		return "unsupported scheme: " + want
	}
	return ""
}

func (v *validator) auth(a *Auth) {
	if len(a.Keys) > 0 && !a.Enabled {
		v.errf("auth.enabled", "static keys are configured in auth.keys but auth is off: set auth.enabled: true, or remove the keys")
	} else if len(a.Teams) > 0 && !a.Enabled {
		v.errf("auth.enabled", "static teams are configured in auth.teams but auth is off: set auth.enabled: true, or remove the teams")
	}
	switch si := a.SyncInterval.D(); {
	case si < MinSyncInterval:
		v.errf("auth.sync_interval", "must be at least %s, got %s", MinSyncInterval, a.SyncInterval)
	case si > MaxSyncInterval:
		v.errf("auth.sync_interval", "must be at most %s (changes must reach every instance within 5s), got %s", MaxSyncInterval, a.SyncInterval)
	}
	v.notNegative("auth.rotation_grace", a.RotationGrace)

	secrets := map[Secret]int{}
	ids := map[string]int{}
	for i := range a.Keys {
		k := &a.Keys[i]
		base := fmt.Sprintf("auth.keys[%d]", i)
		first, keyDup := secrets[k.Key]
		switch {
		case k.Key == "":
			v.required(base+".key", ": the secret clients send")
		case !printableASCII(k.Key.Reveal()):
			v.errf(base+".key", "contains whitespace, control or non-ASCII characters")
		case len(k.Key) > MaxStaticKeyLen:
			v.errf(base+".key", "is %d bytes long: at most %d", len(k.Key), MaxStaticKeyLen)
		case keyDup:
			v.errf(base+".key", "the same key as auth.keys[%d] (first at %s)", first, v.where(fmt.Sprintf("auth.keys[%d].key", first)))
		default:
			secrets[k.Key] = i
		}
		if k.ID != "" && !keyDup { // a repeated key repeats its default id too
			switch first, dup := ids[k.ID]; {
			case len(k.ID) > MaxKeyIDLen || !validName(k.ID):
				v.errf(base+".id", "invalid key id %q: use at most %d letters, digits, \".\", \"_\" and \"-\"", k.ID, MaxKeyIDLen)
			case strings.HasPrefix(k.ID, "key_"):
				v.errf(base+".id", "invalid key id %q: ids starting with \"key_\" are reserved for keys created through the admin API", k.ID)
			case dup:
				v.errf(base+".id", "duplicate key id %q (first at %s)", k.ID, v.where(fmt.Sprintf("auth.keys[%d].id", first)))
			default:
				ids[k.ID] = i
			}
		}
		v.keyPolicy(base, k)
	}
	v.teams(a.Teams)
}

// teams checks auth.teams: ids required and unique, policies as keys'.
func (v *validator) teams(teams []StaticTeam) {
	ids := map[string]int{}
	for i := range teams {
		t := &teams[i]
		base := fmt.Sprintf("auth.teams[%d]", i)
		switch first, dup := ids[t.ID]; {
		case t.ID == "":
			v.required(base+".id", ": the id keys name in team_id")
		case len(t.ID) > MaxKeyIDLen || !validName(t.ID):
			v.errf(base+".id", "invalid team id %q: use at most %d letters, digits, \".\", \"_\" and \"-\"", t.ID, MaxKeyIDLen)
		case dup:
			v.errf(base+".id", "duplicate team id %q (first at %s)", t.ID, v.where(fmt.Sprintf("auth.teams[%d].id", first)))
		default:
			ids[t.ID] = i
		}
		v.modelList(base, t.Models)
		v.limitFields(base, t.RPM, t.TPM, t.MaxConcurrent)
		v.budget(base, t.BudgetUSD, t.BudgetPeriod)
		v.tagNames(base, t.Tags)
		v.endUsers(base, &t.EndUserLimits)
	}
}

// endUsers checks the end_user_limits of a key or team.
func (v *validator) endUsers(base string, e *EndUserLimits) {
	base += ".end_user_limits"
	for _, f := range []struct {
		name string
		n    int64
	}{{"rpm", e.RPM}, {"tpm", e.TPM}} {
		if f.n < 0 {
			v.errf(base+"."+f.name, "must not be negative, got %d", f.n)
		}
	}
	v.budget(base, e.BudgetUSD, e.BudgetPeriod)
}

func (v *validator) modelList(base string, models []string) {
	for j, m := range models {
		if !printableASCII(m) {
			v.errf(fmt.Sprintf("%s.models[%d]", base, j), "invalid model name %q: no spaces, control or non-ASCII characters", m)
		} else if msg := PatternProblem(m); msg != "" {
			v.errf(fmt.Sprintf("%s.models[%d]", base, j), "invalid model name %q: %s", m, msg)
		}
	}
}

func (v *validator) limitFields(base string, rpm, tpm, maxConcurrent int64) {
	for _, f := range []struct {
		name string
		n    int64
	}{{"rpm", rpm}, {"tpm", tpm}, {"max_concurrent", maxConcurrent}} {
		if f.n < 0 {
			v.errf(base+"."+f.name, "must not be negative, got %d", f.n)
		}
	}
}

func (v *validator) budget(base string, usd float64, period string) {
	if usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		v.errf(base+".budget_usd", "must be a non-negative amount, got %v", usd)
	}
	switch period {
	case "", "day", "month", "total":
	default:
		v.errf(base+".budget_period", "unknown period %q: want day, month or total", period)
	}
}

func (v *validator) tagNames(base string, tags map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		if name == "" {
			v.errf(base+".tags", "a tag needs a non-empty name")
		}
	}
}

// keyPolicy checks the policy fields of a static key; the admin API applies
// the same rules to the key objects it stores.
func (v *validator) keyPolicy(base string, k *StaticKey) {
	v.modelList(base, k.Models)
	v.limitFields(base, k.RPM, k.TPM, k.MaxConcurrent)
	v.budget(base, k.BudgetUSD, k.BudgetPeriod)
	v.tagNames(base, k.Tags)
	if k.TeamID != "" && (len(k.TeamID) > MaxKeyIDLen || !validName(k.TeamID)) {
		v.errf(base+".team_id", "invalid team id %q: use at most %d letters, digits, \".\", \"_\" and \"-\"", k.TeamID, MaxKeyIDLen)
	}
	v.endUsers(base, &k.EndUserLimits)
	for _, m := range slices.Sorted(maps.Keys(k.ModelLimits)) {
		l := k.ModelLimits[m]
		p := base + ".model_limits." + m
		if !printableASCII(m) {
			v.errf(base+".model_limits", "invalid model name %q: no spaces, control or non-ASCII characters", m)
			continue
		}
		if l.RPM < 0 {
			v.errf(p+".rpm", "must not be negative, got %d", l.RPM)
		}
		if l.TPM < 0 {
			v.errf(p+".tpm", "must not be negative, got %d", l.TPM)
		}
	}
	for j, g := range k.Guardrails {
		if !validName(g) {
			v.errf(fmt.Sprintf("%s.guardrails[%d]", base, j), "invalid guardrail set name %q: use letters, digits, \".\", \"_\" and \"-\"", g)
		}
	}
	switch k.Priority {
	case "", "normal", "high":
	default:
		v.errf(base+".priority", "unknown priority %q: want normal or high", k.Priority)
	}
}

package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCacheLookup(t *testing.T) {
	clock := newFakeClock()
	c := NewCache(clock.Now)
	past := clock.Now().Add(-time.Second)
	future := clock.Now().Add(time.Hour)
	keys := map[string]*Key{
		"ok":       {ID: "ok"},
		"disabled": {ID: "disabled", Disabled: true},
		"expired":  {ID: "expired", ExpiresAt: &past},
		"expiring": {ID: "expiring", ExpiresAt: &future},
		"both":     {ID: "both", Disabled: true, ExpiresAt: &past},
	}
	m := map[[32]byte]*Policy{}
	for secret, k := range keys {
		m[Hash([]byte(secret))] = newPolicy(k)
	}
	m[Hash([]byte("old"))] = newPolicy(&Key{ID: "rotated"}).withGrace(clock.Now().Add(time.Minute))
	c.replace(m)

	tests := []struct {
		secret string
		want   Status
		id     string
	}{
		{"ok", StatusOK, "ok"},
		{"disabled", StatusDisabled, "disabled"},
		{"expired", StatusExpired, "expired"},
		{"expiring", StatusOK, "expiring"},
		{"both", StatusDisabled, "both"},
		{"old", StatusOK, "rotated"},
		{"nope", StatusUnknown, ""},
		{"", StatusMissing, ""},
		{strings.Repeat("k", MaxSecretLen+1), StatusUnknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want.String()+"/"+tt.id, func(t *testing.T) {
			p, st := c.Authenticate([]byte(tt.secret))
			if st != tt.want {
				t.Fatalf("status = %v, want %v", st, tt.want)
			}
			if (p == nil) != (tt.id == "") || p != nil && p.ID != tt.id {
				t.Fatalf("policy = %+v, want id %q", p, tt.id)
			}
		})
	}

	// Time moves: the expiring key expires exactly at expires_at, the
	// grace of the old secret ends exactly at its end.
	clock.Add(time.Minute)
	if _, st := c.Authenticate([]byte("old")); st != StatusUnknown {
		t.Errorf("old secret after its grace: %v, want unknown", st)
	}
	clock.Add(time.Hour - time.Minute)
	if _, st := c.Authenticate([]byte("expiring")); st != StatusExpired {
		t.Errorf("key at its expires_at: %v, want expired", st)
	}
	if c.Len() != len(keys)+1 {
		t.Errorf("Len = %d", c.Len())
	}
}

func TestStatusMessages(t *testing.T) {
	if StatusUnknown.Message() == "" || StatusOK.Message() != "" {
		t.Error("messages")
	}
	seen := map[string]Status{}
	for _, s := range []Status{StatusMissing, StatusUnknown, StatusExpired, StatusDisabled} {
		m := s.Message()
		if prev, dup := seen[m]; dup {
			t.Errorf("%v and %v share a message", prev, s)
		}
		seen[m] = s
		if !strings.Contains(strings.ToLower(m), "key") {
			t.Errorf("%v message %q does not mention the key", s, m)
		}
	}
	if !strings.Contains(StatusUnknown.Message(), "revoked") {
		t.Error("the unknown message must cover revoked keys too (they read the same)")
	}
}

func TestPolicyAllows(t *testing.T) {
	all := newPolicy(&Key{})
	some := newPolicy(&Key{Models: []string{"gpt-4o-mini", "claude-3-5-haiku"}, RPM: 10, TPM: 100,
		ModelLimits: map[string]ModelLimit{"gpt-4o-mini": {RPM: 2}}})
	patterns := newPolicy(&Key{Models: []string{"claude-*", "gpt-4o-mini", "o*"}})
	star := newPolicy(&Key{Models: []string{"*"}})
	for _, tt := range []struct {
		p     *Policy
		model string
		want  bool
	}{
		{all, "anything", true},
		{all, "", true},
		{some, "gpt-4o-mini", true},
		{some, "claude-3-5-haiku", true},
		{some, "gpt-4o", false},
		{some, "openai/gpt-4o-mini", false},
		{some, "GPT-4O-MINI", false},
		{patterns, "claude-opus-4-8", true}, // "claude-*"
		{patterns, "claude-", true},
		{patterns, "claude", false},
		{patterns, "gpt-4o-mini", true}, // exact
		{patterns, "gpt-4o", false},
		{patterns, "o4-mini", true}, // "o*"
		{patterns, "gemini-2.0-flash", false},
		{star, "anything", true},
	} {
		if got := tt.p.Allows(tt.model); got != tt.want {
			t.Errorf("Allows(%q) = %v", tt.model, got)
		}
		if got := tt.p.AllowsBytes([]byte(tt.model)); got != tt.want {
			t.Errorf("AllowsBytes(%q) = %v", tt.model, got)
		}
	}
	if rpm, tpm := some.LimitsFor("gpt-4o-mini"); rpm != 2 || tpm != 100 {
		t.Errorf("LimitsFor with a model limit = %d, %d", rpm, tpm)
	}
	if rpm, tpm := some.LimitsFor("claude-3-5-haiku"); rpm != 10 || tpm != 100 {
		t.Errorf("LimitsFor without = %d, %d", rpm, tpm)
	}
	model := []byte("gpt-4o")
	if n := testing.AllocsPerRun(100, func() { some.AllowsBytes(model) }); n != 0 {
		t.Errorf("AllowsBytes allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { patterns.AllowsBytes(model); patterns.Allows("gemini-2.0-flash") }); n != 0 {
		t.Errorf("Allows with patterns allocates %v times", n)
	}
}

func BenchmarkPolicyAllows(b *testing.B) {
	p := newPolicy(&Key{Models: []string{"gpt-4o-mini", "claude-3-5-haiku", "claude-*", "gpt-5*", "o*"}})
	for _, model := range []string{"gpt-4o-mini", "claude-opus-4-8", "gemini-2.0-flash"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Allows(model)
			}
		})
	}
}

// benchCache is a cache of n generated keys and one of their secrets.
func benchCache(tb testing.TB, n int, expiry bool) (*Cache, []byte) {
	tb.Helper()
	c := NewCache(nil)
	m := make(map[[32]byte]*Policy, n)
	var secret string
	for i := range n {
		s, _, err := Generate()
		if err != nil {
			tb.Fatal(err)
		}
		k := &Key{ID: "k", Models: []string{"gpt-4o-mini"}}
		if expiry {
			exp := time.Now().Add(time.Hour)
			k.ExpiresAt = &exp
		}
		m[Hash([]byte(s))] = newPolicy(k)
		if i == n/2 {
			secret = s
		}
	}
	c.replace(m)
	return c, []byte(secret)
}

func TestAuthenticateDoesNotAllocate(t *testing.T) {
	c, secret := benchCache(t, 1000, true)
	unknown := []byte(SecretPrefix + strings.Repeat("x", 43))
	if n := testing.AllocsPerRun(1000, func() {
		if _, st := c.Authenticate(secret); st != StatusOK {
			t.Fatal("known key not OK")
		}
		c.Authenticate(unknown)
	}); n != 0 {
		t.Errorf("Authenticate allocates %v times per call", n)
	}
}

// BenchmarkAuthenticate measures the request path's key check: hash the
// presented secret, look it up, check the key's state; "_expiry" keys have
// an expires_at, so a clock read is included.
func BenchmarkAuthenticate(b *testing.B) {
	for _, tc := range []struct {
		n      int
		expiry bool
	}{{10, false}, {100_000, false}, {100_000, true}} {
		c, secret := benchCache(b, tc.n, tc.expiry)
		name := fmt.Sprintf("%dkeys", tc.n)
		if tc.expiry {
			name += "_expiry"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, st := c.Authenticate(secret); st != StatusOK {
					b.Fatal("not OK")
				}
			}
		})
	}
	b.Run("unknown", func(b *testing.B) {
		c, _ := benchCache(b, 10, false)
		secret := []byte(SecretPrefix + strings.Repeat("x", 43))
		b.ReportAllocs()
		for b.Loop() {
			c.Authenticate(secret)
		}
	})
}

// TestTeamedPolicy checks the policy a rebuild gives a key of a team: the
// team's allowlist applies, the copy is reused while the team is the same
// and made again when it changes, and Allows stays allocation-free.
func TestTeamedPolicy(t *testing.T) {
	base := newPolicy(&Key{ID: "k", TeamID: "t", Models: []string{"gpt-4o", "claude-*"}})
	team := (&Team{ID: "t", Models: []string{"gpt-4o", "gpt-4o-mini"}}).policy()
	var c teamedPolicy
	if c.resolve(base, nil) != base {
		t.Error("no team: not the base policy")
	}
	p := c.resolve(base, team)
	if p == base || p.TeamPolicy != team || base.TeamPolicy != nil || c.resolve(base, team) != p {
		t.Fatalf("resolve: %+v", p)
	}
	if !p.Allows("gpt-4o") || p.Allows("gpt-4o-mini") || p.Allows("claude-opus-4") || !p.AllowsBytes([]byte("gpt-4o")) {
		t.Error("a key in a team passes the key's and the team's allowlists")
	}
	changed := (&Team{ID: "t", RPM: 5}).policy()
	if q := c.resolve(base, changed); q == p || q.TeamPolicy != changed || !q.Allows("claude-opus-4") {
		t.Errorf("resolve after the team changed: %+v", q)
	}
	model := []byte("gpt-4o")
	if n := testing.AllocsPerRun(100, func() { p.AllowsBytes(model); p.Allows("claude-opus-4"); base.Allows("x") }); n != 0 {
		t.Errorf("Allows of a key in a team allocates %v times", n)
	}
}

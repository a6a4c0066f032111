package auth

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// staticSecret is the secret of the static key the service tests load.
const staticSecret = "sk-static-test-0001"

func TestService(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			st, _ := kind.open(t)
			cfg := testConfig(t.TempDir(), config.StaticKey{Key: staticSecret, Name: "static", RPM: 7, Models: []string{"gpt-4o-mini"}})
			s := startService(t, cfg, st, nil)
			testServiceAdmin(t, s)
		})
	}
}

func testServiceAdmin(t *testing.T, s *Service) {
	ctx := WithActor(context.Background(), "tester")
	if !s.Ready() {
		t.Fatal("service over a working store is not ready")
	}
	var secrets []string
	cache := s.Cache()
	auth := func(secret string) (*Policy, Status) { return cache.Authenticate([]byte(secret)) }

	// Static key: authenticates, read-only, listed first.
	if p, st := auth(staticSecret); st != StatusOK || p.ID != config.StaticKeyID(staticSecret) || !p.Static || p.RPM != 7 || !p.Allows("gpt-4o-mini") || p.Allows("gpt-4o") {
		t.Fatalf("static key: %v %+v", st, p)
	}
	sid := config.StaticKeyID(staticSecret)
	sk, err := s.Get(ctx, sid)
	if err != nil || !sk.Static || sk.Name != "static" || sk.Prefix != "sk-sta" {
		t.Errorf("Get(static) = %+v, %v", sk, err)
	}
	for name, err := range map[string]error{
		"update": func() error { _, err := s.Update(ctx, sid, []byte(`{"rpm":1}`)); return err }(),
		"revoke": s.Revoke(ctx, sid),
		"rotate": func() error { _, _, err := s.Rotate(ctx, sid); return err }(),
	} {
		if !errors.Is(err, ErrStaticKey) {
			t.Errorf("%s of a static key = %v, want ErrStaticKey", name, err)
		}
	}

	// Create: the key works at once on this instance.
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	k, secret := mustCreate(t, s, KeyInput{Name: "ci", Models: []string{"gpt-4o-mini"}, RPM: 60, BudgetUSD: 3, ExpiresAt: &exp,
		Tags: map[string]string{"env": "prod"}, ModelLimits: map[string]ModelLimit{"gpt-4o-mini": {TPM: 500}}})
	secrets = append(secrets, secret)
	if !strings.HasPrefix(k.ID, "key_") || k.Prefix != secret[:PrefixLen] || k.BudgetPeriod != "total" || !k.ExpiresAt.Equal(exp) ||
		k.Revoked || k.Static || k.CreatedAt.IsZero() || k.SpendUSD != 0 {
		t.Errorf("created key = %+v", k)
	}
	if p, st := auth(secret); st != StatusOK || p.ID != k.ID || !p.Allows("gpt-4o-mini") || p.Allows("gpt-4o") || p.ExpiresAt != exp {
		t.Fatalf("new key: %v %+v", st, p)
	}
	got, err := s.Get(ctx, k.ID)
	if err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("Get =\n%+v, %v\nwant\n%+v", got, err, k)
	}
	if _, err := s.Get(ctx, "key_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing key = %v", err)
	}
	if _, _, err := s.Create(ctx, KeyInput{RPM: -1}); !isField(err, "rpm") {
		t.Errorf("Create with a negative rpm = %v", err)
	}

	// Update: merge patch, visible in the cache at once.
	up, err := s.Update(ctx, k.ID, []byte(`{"models":null,"tags":{"env":null,"team":"x"},"model_limits":{"gpt-4o-mini":{"rpm":3}},"disabled":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Models) != 0 || !reflect.DeepEqual(up.Tags, map[string]string{"team": "x"}) ||
		up.ModelLimits["gpt-4o-mini"] != (ModelLimit{RPM: 3, TPM: 500}) || !up.Disabled || up.RPM != 60 || !up.UpdatedAt.After(k.CreatedAt) && up.UpdatedAt != k.CreatedAt {
		t.Errorf("updated key = %+v", up)
	}
	if p, st := auth(secret); st != StatusDisabled || !p.Allows("anything") {
		t.Errorf("disabled key: %v", st)
	}
	if _, err := s.Update(ctx, k.ID, []byte(`{"disabled":false,"rmp":1}`)); !isField(err, "rmp") {
		t.Errorf("Update with an unknown field = %v", err)
	}
	if _, err := s.Update(ctx, k.ID, []byte(`{"disabled":false}`)); err != nil {
		t.Fatal(err)
	}
	if _, st := auth(secret); st != StatusOK {
		t.Errorf("re-enabled key: %v", st)
	}
	if _, err := s.Update(ctx, k.ID, []byte(`{"disabled":false}`)); err != nil {
		t.Errorf("no-op Update: %v", err)
	}
	if _, err := s.Update(ctx, "key_nope", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a missing key = %v", err)
	}

	// Rotate: the old secret dies at once (no grace configured).
	rk, newSecret, err := s.Rotate(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, newSecret)
	if newSecret == secret || rk.Prefix != newSecret[:PrefixLen] || rk.ID != k.ID {
		t.Errorf("rotated key = %+v", rk)
	}
	if _, st := auth(secret); st != StatusUnknown {
		t.Errorf("old secret after rotation: %v, want unknown", st)
	}
	if p, st := auth(newSecret); st != StatusOK || p.ID != k.ID {
		t.Errorf("new secret after rotation: %v", st)
	}

	// Revoke: unknown at once (reads like a key that never existed),
	// revoked in Get, idempotent, and final.
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, st := auth(newSecret); st != StatusUnknown {
		t.Errorf("revoked key: %v, want unknown", st)
	}
	if got, _ := s.Get(ctx, k.ID); !got.Revoked {
		t.Error("Get after Revoke: revoked = false")
	}
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Errorf("second Revoke: %v", err)
	}
	if _, err := s.Update(ctx, k.ID, []byte(`{"rpm":1}`)); !errors.Is(err, ErrRevoked) {
		t.Errorf("Update of a revoked key = %v", err)
	}
	if _, _, err := s.Rotate(ctx, k.ID); !errors.Is(err, ErrRevoked) {
		t.Errorf("Rotate of a revoked key = %v", err)
	}
	if err := s.Revoke(ctx, "key_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke of a missing key = %v", err)
	}

	// List: the static key, then stored keys, across pages.
	var ids []string
	for range 4 {
		k, sec := mustCreate(t, s, KeyInput{})
		ids = append(ids, k.ID)
		secrets = append(secrets, sec)
	}
	want := append([]string{sid, k.ID}, ids...)
	var listed []string
	cursor := ""
	pages := 0
	for {
		page, next, err := s.List(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range page {
			listed = append(listed, k.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !reflect.DeepEqual(listed, want) || pages != 3 {
		t.Errorf("listed %v in %d pages, want %v in 3", listed, pages, want)
	}
	if all, next, err := s.List(ctx, "", 0); err != nil || len(all) != len(want) || next != "" {
		t.Errorf("List with the default limit = %d keys, next %q, %v", len(all), next, err)
	}
	for _, c := range []string{"garbage", encodeCursor("a", 1), encodeCursor("d", -1)} {
		if _, _, err := s.List(ctx, c, 2); !isField(err, "cursor") {
			t.Errorf("List with cursor %q = %v", c, err)
		}
	}
	if _, _, err := s.List(ctx, "", -1); !isField(err, "limit") {
		t.Errorf("List with limit -1 = %v", err)
	}

	// Audit: every action, newest first, with actor, never a secret.
	entries, next, err := s.Audit(ctx, k.ID, "", 0)
	if err != nil || next != "" {
		t.Fatal(err, next)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Actor != "tester" || e.KeyID != k.ID || e.Time.IsZero() {
			t.Errorf("audit entry %+v", e)
		}
	}
	// Update, update (re-enable), rotate, revoke; the no-op update and the
	// second revoke wrote nothing.
	if got := strings.Join(actions, ","); got != "revoke,rotate,update,update,create" {
		t.Errorf("audit actions = %s", got)
	}
	if string(entries[4].Changes["name"]) != `"ci"` || entries[4].Changes["id"] != nil || string(entries[1].Changes["prefix"]) != `"`+newSecret[:PrefixLen]+`"` {
		t.Errorf("create/rotate changes: %s / %s", mustJSON(entries[4].Changes), mustJSON(entries[1].Changes))
	}
	var upd map[string]any
	_ = json.Unmarshal(mustJSON(entries[3].Changes), &upd)
	if len(upd) != 4 || upd["disabled"] != true || upd["models"] == nil {
		t.Errorf("update changes = %v, want the 4 changed fields", upd)
	}
	var paged []int64
	cursor = ""
	for {
		page, next, err := s.Audit(ctx, "", cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			paged = append(paged, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(paged) != 5+4 {
		t.Errorf("paged through %d audit entries, want 9", len(paged))
	}
	for i := 1; i < len(paged); i++ {
		if paged[i] >= paged[i-1] {
			t.Errorf("audit ids not strictly decreasing: %v", paged)
		}
	}

	// No secret anywhere in what the admin API would serialize.
	all, _, _ := s.Audit(ctx, "", "", MaxPageSize)
	keys, _, _ := s.List(ctx, "", MaxPageSize)
	out := string(mustJSON(all)) + string(mustJSON(keys))
	for _, sec := range append(secrets, staticSecret) {
		if strings.Contains(out, sec) || strings.Contains(out, sec[len(sec)/2:]) {
			t.Errorf("a secret appears in the audit log or the key list")
		}
	}
}

func isField(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}

func TestRotationGrace(t *testing.T) {
	clock := newFakeClock()
	st, another := storeKinds()[0].open(t)
	cfg := testConfig(t.TempDir())
	cfg.Auth.RotationGrace = config.Duration(time.Minute)
	s := startService(t, cfg, st, clock.Now)
	other := startService(t, cfg, migrated(t, another()), clock.Now)
	ctx := context.Background()
	k, old := mustCreate(t, s, KeyInput{})
	_, secret, err := s.Rotate(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*Service{"this instance": s, "another instance": other} {
		eventually(t, 5*time.Second, name+" sees the rotation", func() bool {
			_, st := svc.Cache().Authenticate([]byte(secret))
			return st == StatusOK
		})
		if p, st := svc.Cache().Authenticate([]byte(old)); st != StatusOK || p.ID != k.ID {
			t.Errorf("%s: old secret within the grace period: %v", name, st)
		}
	}
	entries, _, _ := s.Audit(ctx, k.ID, "", 1)
	if len(entries) != 1 || entries[0].Changes["previous_secret_valid_until"] == nil {
		t.Errorf("rotate audit entry = %+v", entries)
	}
	clock.Add(time.Minute)
	for name, svc := range map[string]*Service{"this instance": s, "another instance": other} {
		if _, st := svc.Cache().Authenticate([]byte(old)); st != StatusUnknown {
			t.Errorf("%s: old secret after the grace period: %v", name, st)
		}
		if _, st := svc.Cache().Authenticate([]byte(secret)); st != StatusOK {
			t.Errorf("%s: new secret after the grace period: %v", name, st)
		}
	}

	// A revoke ends the grace of a fresh rotation at once.
	clock.Add(-time.Minute)
	_, secret2, err := s.Rotate(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, st := s.Cache().Authenticate([]byte(secret)); st != StatusOK {
		t.Fatalf("previous secret right after a graced rotation: %v", st)
	}
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{secret, secret2} {
		if _, st := s.Cache().Authenticate([]byte(sec)); st != StatusUnknown {
			t.Errorf("secret of a revoked key in grace: %v", st)
		}
	}
}

func TestStaticKeys(t *testing.T) {
	exp := config.Timestamp{Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	clock := newFakeClock()
	cfg := testConfig(t.TempDir(),
		config.StaticKey{Key: "sk-a", ID: "a", Team: "t", Tags: map[string]string{"x": "y"}, ModelLimits: map[string]config.ModelLimit{"m": {RPM: 1}},
			AllowRoutingHeaders: true, Guardrails: []string{"g"}, BudgetUSD: 2, BudgetPeriod: "month", MaxConcurrent: 3, TPM: 9,
			Priority: "high"},
		config.StaticKey{Key: "sk-disabled", Disabled: true},
		config.StaticKey{Key: "sk-expired", ExpiresAt: exp},
	)
	st, _ := storeKinds()[0].open(t)
	s := startService(t, cfg, st, clock.Now)
	p, status := s.Cache().Authenticate([]byte("sk-a"))
	if status != StatusOK || p.ID != "a" || p.Team != "t" || p.Tags["x"] != "y" || p.ModelLimits["m"].RPM != 1 || !p.AllowRoutingHeaders ||
		p.Guardrails[0] != "g" || p.BudgetUSD != 2 || p.BudgetPeriod != "month" || p.MaxConcurrent != 3 || p.TPM != 9 || !p.Allows("any") ||
		!p.HighPriority {
		t.Errorf("static policy = %v %+v", status, p)
	}
	if p, status := s.Cache().Authenticate([]byte("sk-disabled")); status != StatusDisabled || p == nil || p.HighPriority {
		t.Errorf("disabled static key: %v, %+v (want disabled, normal priority)", status, p)
	}
	if _, status := s.Cache().Authenticate([]byte("sk-expired")); status != StatusExpired {
		t.Errorf("expired static key: %v", status)
	}
	k, err := s.Get(context.Background(), "a")
	if err != nil || k.Prefix != "s" || k.Priority != PriorityHigh || strings.Contains(string(mustJSON(k)), "sk-a") {
		t.Errorf("static key object = %s, %v", mustJSON(k), err)
	}
	// Get returns a copy: changing it does not change the service.
	k.Tags["x"] = "changed"
	if again, _ := s.Get(context.Background(), "a"); again.Tags["x"] != "y" {
		t.Error("Get of a static key returned shared maps")
	}

	for name, keys := range map[string][]config.StaticKey{
		"duplicate key":   {{Key: "sk-1"}, {Key: "sk-1", ID: "other"}},
		"duplicate id":    {{Key: "sk-1", ID: "x"}, {Key: "sk-2", ID: "x"}},
		"reserved id":     {{Key: "sk-1", ID: "key_x"}},
		"empty key":       {{Key: ""}},
		"bad limit":       {{Key: "sk-1", RPM: -1}},
		"too long a key":  {{Key: config.Secret(strings.Repeat("k", MaxSecretLen+1))}},
		"bad budget slot": {{Key: "sk-1", BudgetPeriod: "week"}},
		"bad priority":    {{Key: "sk-1", Priority: "urgent"}},
	} {
		_, err := loadStatic(keys, time.Now())
		if err == nil {
			t.Errorf("%s: loadStatic accepted it", name)
		} else if strings.Contains(err.Error(), "sk-1") || strings.Contains(err.Error(), "kkkk") {
			t.Errorf("%s: error quotes the key: %v", name, err)
		}
	}
}

// TestKeyPriority follows a key's priority from create through patches to
// the policy the request path reads and the key object the admin API shows.
func TestKeyPriority(t *testing.T) {
	st, _ := storeKinds()[0].open(t)
	s := startService(t, testConfig(t.TempDir()), st, newFakeClock().Now)
	ctx := context.Background()

	normal, normalSecret := mustCreate(t, s, KeyInput{Name: "n"})
	high, highSecret := mustCreate(t, s, KeyInput{Name: "h", Priority: PriorityHigh})
	if normal.Priority != PriorityNormal || high.Priority != PriorityHigh {
		t.Fatalf("created priorities %q and %q, want normal and high", normal.Priority, high.Priority)
	}
	if !strings.Contains(string(mustJSON(normal)), `"priority":"normal"`) {
		t.Errorf("a key without a priority shows %s, want priority normal", mustJSON(normal))
	}
	policy := func(secret string) *Policy {
		t.Helper()
		p, status := s.Cache().Authenticate([]byte(secret))
		if status != StatusOK {
			t.Fatalf("authenticate: %v", status)
		}
		return p
	}
	if policy(normalSecret).HighPriority || !policy(highSecret).HighPriority {
		t.Errorf("HighPriority: normal key %v, high key %v", policy(normalSecret).HighPriority, policy(highSecret).HighPriority)
	}

	steps := []struct {
		patch string
		want  bool
	}{
		{`{"rpm":5}`, true}, // other fields leave it as it is
		{`{"priority":null}`, false},
		{`{"priority":"high"}`, true},
		{`{"priority":"normal"}`, false},
	}
	for _, step := range steps {
		k, err := s.Update(ctx, high.ID, []byte(step.patch))
		if err != nil {
			t.Fatalf("%s: %v", step.patch, err)
		}
		if got := policy(highSecret).HighPriority; got != step.want || (k.Priority == PriorityHigh) != step.want {
			t.Errorf("after %s: key priority %q, policy HighPriority %v; want high = %v", step.patch, k.Priority, got, step.want)
		}
	}
	var fe *FieldError
	if _, err := s.Update(ctx, high.ID, []byte(`{"priority":"urgent"}`)); !errors.As(err, &fe) || fe.Field != "priority" {
		t.Errorf("bad priority: %v, want a FieldError on priority", err)
	}
	audit, _, err := s.Audit(ctx, high.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 || string(audit[0].Changes["priority"]) != `"normal"` {
		t.Errorf("newest audit entry = %+v, want priority changed to normal", audit)
	}
}

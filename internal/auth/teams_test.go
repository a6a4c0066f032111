package auth

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// staticTeamConfig is a config with one static team ("ops") and a static
// key in it.
func staticTeamConfig(dir string) *config.Config {
	cfg := testConfig(dir, config.StaticKey{Key: staticSecret, ID: "ops-bot", TeamID: "ops", Models: []string{"gpt-4o-mini", "gpt-4o"}})
	cfg.Auth.Teams = []config.StaticTeam{{ID: "ops", Name: "Operations", Models: []string{"gpt-4o-mini"}, RPM: 30, BudgetUSD: 5,
		EndUserLimits: config.EndUserLimits{RPM: 2}}}
	return cfg
}

func TestTeams(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			st, _ := kind.open(t)
			s := startService(t, staticTeamConfig(t.TempDir()), st, nil)
			testTeamsAdmin(t, s)
		})
	}
}

func testTeamsAdmin(t *testing.T, s *Service) {
	ctx := WithActor(context.Background(), "tester")
	auth := func(secret string) *Policy {
		t.Helper()
		p, st := s.Cache().Authenticate([]byte(secret))
		if st != StatusOK {
			t.Fatalf("key not OK: %v", st)
		}
		return p
	}

	// The static team: read-only, its key carries it, and a key's
	// allowlist only narrows the team's.
	ops, err := s.GetTeam(ctx, "ops")
	if err != nil || !ops.Static || ops.Name != "Operations" || ops.BudgetPeriod != PeriodTotal || ops.RPM != 30 {
		t.Fatalf("GetTeam(ops) = %+v, %v", ops, err)
	}
	if p := auth(staticSecret); p.TeamID != "ops" || p.TeamPolicy == nil || p.TeamPolicy.RPM != 30 ||
		p.TeamPolicy.EndUsers.RPM != 2 || !p.Allows("gpt-4o-mini") || p.Allows("gpt-4o") {
		t.Errorf("static key in a static team: %+v", p)
	}
	for name, err := range map[string]error{
		"update": func() error { _, err := s.UpdateTeam(ctx, "ops", []byte(`{"rpm":1}`)); return err }(),
		"delete": s.DeleteTeam(ctx, "ops"),
		"create": func() error { _, err := s.CreateTeam(ctx, "ops", TeamInput{}); return err }(),
	} {
		if !errors.Is(err, ErrStaticTeam) {
			t.Errorf("%s of a static team = %v, want ErrStaticTeam", name, err)
		}
	}

	// Create: a generated id, normalized fields, the audit entry.
	gen, err := s.CreateTeam(ctx, "", TeamInput{Name: "gen"})
	if err != nil || !strings.HasPrefix(gen.ID, "team_") || len(gen.ID) != len("team_")+22 || gen.Models == nil || gen.Tags == nil {
		t.Fatalf("CreateTeam without id = %+v, %v", gen, err)
	}
	_, in, err := DecodeTeamInput([]byte(`{"name":"Payments","models":["gpt-4o","claude-*","gpt-4o"],"rpm":100,
		"budget_usd":10,"tags":{"cc":"7"},"end_user_limits":{"rpm":5,"budget_usd":0.5}}`))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := s.CreateTeam(ctx, "payments", in)
	if err != nil {
		t.Fatal(err)
	}
	if pay.ID != "payments" || !reflect.DeepEqual(pay.Models, []string{"gpt-4o", "claude-*"}) || pay.BudgetPeriod != PeriodTotal ||
		pay.EndUserLimits != (EndUserLimits{RPM: 5, BudgetUSD: 0.5, BudgetPeriod: PeriodTotal}) || pay.Static || pay.CreatedAt.IsZero() {
		t.Errorf("created team = %+v", pay)
	}
	if _, err := s.CreateTeam(ctx, "payments", TeamInput{}); !errors.Is(err, ErrTeamExists) {
		t.Errorf("duplicate id = %v, want ErrTeamExists", err)
	}
	if _, err := s.CreateTeam(ctx, "a:b", TeamInput{}); !isField(err, "id") {
		t.Errorf("bad id = %v", err)
	}
	if got, err := s.GetTeam(ctx, "payments"); err != nil || !reflect.DeepEqual(got, pay) {
		t.Errorf("GetTeam =\n%+v, %v\nwant\n%+v", got, err, pay)
	}
	if _, err := s.GetTeam(ctx, "nope"); !errors.Is(err, ErrTeamNotFound) {
		t.Errorf("GetTeam of a missing team = %v", err)
	}

	// A key's team_id must name a team; the key gets the team's policy.
	if _, _, err := s.Create(ctx, KeyInput{TeamID: "nope"}); !isField(err, "team_id") {
		t.Errorf("key with an unknown team = %v", err)
	}
	k, secret := mustCreate(t, s, KeyInput{Name: "checkout", TeamID: "payments", EndUserLimits: EndUserLimits{TPM: 100}})
	if k.TeamID != "payments" || k.EndUserLimits.TPM != 100 {
		t.Errorf("key = %+v", k)
	}
	p := auth(secret)
	if p.TeamPolicy == nil || p.TeamPolicy.ID != "payments" || p.TeamPolicy.RPM != 100 || p.EndUsers.TPM != 100 ||
		!p.Allows("claude-sonnet-4") || p.Allows("gpt-4o-mini") {
		t.Fatalf("policy of a key in a team: %+v", p)
	}
	k2, secret2 := mustCreate(t, s, KeyInput{Name: "refunds", TeamID: "payments"})
	if auth(secret2).TeamPolicy != p.TeamPolicy {
		t.Error("two keys of one team do not share its policy")
	}
	if _, err := s.Update(ctx, k2.ID, []byte(`{"team_id":"nope"}`)); !isField(err, "team_id") {
		t.Errorf("patching in an unknown team = %v", err)
	}
	if _, err := s.Update(ctx, k2.ID, []byte(`{"team_id":"ops","end_user_limits":{"rpm":3}}`)); err != nil {
		t.Fatal(err)
	}
	if p2 := auth(secret2); p2.TeamPolicy == nil || p2.TeamPolicy.ID != "ops" || p2.EndUsers.RPM != 3 {
		t.Errorf("key moved to a static team: %+v", p2)
	}
	if _, err := s.Update(ctx, k2.ID, []byte(`{"end_user_limits":{"bogus":1}}`)); !isField(err, "end_user_limits.bogus") {
		t.Errorf("unknown end_user_limits field = %v", err)
	}

	// Update: a merge patch; the team's keys see it at once.
	up, err := s.UpdateTeam(ctx, "payments", []byte(`{"rpm":7,"models":null,"tags":{"cc":null,"env":"prod"},"end_user_limits":{"rpm":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if up.RPM != 7 || len(up.Models) != 0 || !reflect.DeepEqual(up.Tags, map[string]string{"env": "prod"}) ||
		up.EndUserLimits != (EndUserLimits{BudgetUSD: 0.5, BudgetPeriod: PeriodTotal}) || up.Name != "Payments" {
		t.Errorf("updated team = %+v", up)
	}
	if p := auth(secret); p.TeamPolicy.RPM != 7 || !p.Allows("gpt-4o-mini") {
		t.Errorf("key after its team changed: %+v", p.TeamPolicy)
	}
	for patch, field := range map[string]string{
		`{"rpm":-1}`:                                "rpm",
		`{"budget_period":"week"}`:                  "budget_period",
		`{"id":"x"}`:                                "id",
		`{"spend_usd":1}`:                           "spend_usd",
		`{"rmp":1}`:                                 "rmp",
		`{"models":["a b"]}`:                        "models[0]",
		`{"end_user_limits":{"budget_usd":-1}}`:     "end_user_limits.budget_usd",
		`{"end_user_limits":{"budget_period":"x"}}`: "end_user_limits.budget_period",
		`{"tags":{"":"x"}}`:                         "tags",
	} {
		if _, err := s.UpdateTeam(ctx, "payments", []byte(patch)); !isField(err, field) {
			t.Errorf("UpdateTeam(%s) = %v, want a FieldError on %s", patch, err, field)
		}
	}
	if same, err := s.UpdateTeam(ctx, "payments", []byte(`{"rpm":7}`)); err != nil || !same.UpdatedAt.Equal(up.UpdatedAt) {
		t.Errorf("no-op UpdateTeam = %+v, %v", same, err)
	}
	if _, err := s.UpdateTeam(ctx, "nope", []byte(`{}`)); !errors.Is(err, ErrTeamNotFound) {
		t.Errorf("UpdateTeam of a missing team = %v", err)
	}

	// Spend: the team's, under TeamSpendID.
	if err := s.AddSpend(ctx, TeamSpendID("payments"), 1.25, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTeam(ctx, "payments"); got.SpendUSD != 1.25 {
		t.Errorf("team spend = %v, want 1.25", got.SpendUSD)
	}

	// List: the static team first, then creation order, across pages.
	var listed []string
	cursor := ""
	for {
		page, next, err := s.ListTeams(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range page {
			listed = append(listed, tm.ID)
			if tm.ID == "payments" && tm.SpendUSD != 1.25 {
				t.Errorf("listed team spend = %v", tm.SpendUSD)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"ops", gen.ID, "payments"}; !reflect.DeepEqual(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	if _, _, err := s.ListTeams(ctx, encodeCursor("d", 1), 2); !isField(err, "cursor") {
		t.Errorf("a key cursor for teams = %v", err)
	}

	// Delete: refused while a key uses the team; a tombstone after.
	err = s.DeleteTeam(ctx, "payments")
	var inUse *TeamInUseError
	if !errors.Is(err, ErrTeamInUse) || !errors.As(err, &inUse) || inUse.Keys != 1 || !strings.Contains(err.Error(), "1 key that") {
		t.Fatalf("DeleteTeam of a team in use = %v", err)
	}
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTeam(ctx, "payments"); err != nil {
		t.Fatalf("DeleteTeam once its keys are revoked: %v", err)
	}
	if _, err := s.GetTeam(ctx, "payments"); !errors.Is(err, ErrTeamNotFound) {
		t.Errorf("GetTeam after delete = %v", err)
	}
	if err := s.DeleteTeam(ctx, "payments"); !errors.Is(err, ErrTeamNotFound) {
		t.Errorf("second DeleteTeam = %v", err)
	}
	if page, _, _ := s.ListTeams(ctx, "", 0); len(page) != 2 {
		t.Errorf("list after delete: %d teams, want 2", len(page))
	}
	// A new team with a deleted team's id starts from its spend.
	if _, err := s.CreateTeam(ctx, "payments", TeamInput{Name: "again"}); err != nil {
		t.Fatalf("re-create after delete: %v", err)
	}
	if again, _ := s.GetTeam(ctx, "payments"); again.Name != "again" || again.RPM != 0 || again.SpendUSD != 1.25 {
		t.Errorf("re-created team = %+v", again)
	}

	// The audit log: team entries under "team:" + id.
	entries, _, err := s.Audit(ctx, TeamSpendID("payments"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Actor != "tester" {
			t.Errorf("team audit entry %+v", e)
		}
	}
	if got := strings.Join(actions, ","); got != "team.create,team.delete,team.update,team.create" {
		t.Errorf("team audit actions = %s", got)
	}
	if string(entries[3].Changes["name"]) != `"Payments"` || string(entries[2].Changes["rpm"]) != "7" {
		t.Errorf("team audit changes: %s / %s", mustJSON(entries[3].Changes), mustJSON(entries[2].Changes))
	}
}

func TestTeamStaticKeysBlockDelete(t *testing.T) {
	st, _ := storeKinds()[0].open(t)
	cfg := testConfig(t.TempDir(), config.StaticKey{Key: staticSecret, ID: "bot", TeamID: "later"})
	s := startService(t, cfg, st, nil)
	ctx := context.Background()
	// The static key names a team that does not exist yet: no team
	// limits, until the team is created.
	if p, _ := s.Cache().Authenticate([]byte(staticSecret)); p.TeamPolicy != nil {
		t.Errorf("key of a missing team has a team policy")
	}
	if _, err := s.CreateTeam(ctx, "later", TeamInput{RPM: 9}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Cache().Authenticate([]byte(staticSecret)); p.TeamPolicy == nil || p.TeamPolicy.RPM != 9 {
		t.Errorf("static key after its team was created: %+v", p.TeamPolicy)
	}
	err := s.DeleteTeam(ctx, "later")
	var inUse *TeamInUseError
	if !errors.As(err, &inUse) || inUse.Static != 1 || !strings.Contains(err.Error(), "auth.keys") {
		t.Errorf("DeleteTeam of a static key's team = %v", err)
	}
	if err := s.DeleteTeam(ctx, "nope"); !errors.Is(err, ErrTeamNotFound) {
		t.Errorf("DeleteTeam of a missing team = %v", err)
	}
}

func TestStaticTeamsReload(t *testing.T) {
	clock := newFakeClock()
	st, _ := storeKinds()[0].open(t)
	cfg := staticTeamConfig(t.TempDir())
	s := startService(t, cfg, st, clock.Now)
	ctx := context.Background()
	before, _ := s.GetTeam(ctx, "ops")
	p0, _ := s.Cache().Authenticate([]byte(staticSecret))

	// The same teams: timestamps and policies kept.
	clock.Add(time.Hour)
	same, err := s.PrepareStaticTeams(cfg.Auth.Teams)
	if err != nil {
		t.Fatal(err)
	}
	s.SetStaticTeams(same)
	if got, _ := s.GetTeam(ctx, "ops"); !got.UpdatedAt.Equal(before.UpdatedAt) || !got.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("unchanged team's times moved: %+v", got)
	}
	if p, _ := s.Cache().Authenticate([]byte(staticSecret)); p.TeamPolicy != p0.TeamPolicy {
		t.Error("an unchanged team got a new policy")
	}

	// A changed team: new limits at once, created_at kept.
	teams := []config.StaticTeam{{ID: "ops", RPM: 99}, {ID: "extra"}}
	next, err := s.PrepareStaticTeams(teams)
	if err != nil {
		t.Fatal(err)
	}
	s.SetStaticTeams(next)
	got, _ := s.GetTeam(ctx, "ops")
	if got.RPM != 99 || !got.CreatedAt.Equal(before.CreatedAt) || !got.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("changed team = %+v", got)
	}
	if p, _ := s.Cache().Authenticate([]byte(staticSecret)); p.TeamPolicy == nil || p.TeamPolicy.RPM != 99 {
		t.Errorf("key after its static team changed: %+v", p.TeamPolicy)
	}
	// A removed team: its keys lose their team limits.
	none, _ := s.PrepareStaticTeams(nil)
	s.SetStaticTeams(none)
	if p, _ := s.Cache().Authenticate([]byte(staticSecret)); p.TeamPolicy != nil {
		t.Error("key of a removed static team still has a team policy")
	}
	if _, err := s.GetTeam(ctx, "ops"); !errors.Is(err, ErrTeamNotFound) {
		t.Errorf("GetTeam of a removed static team = %v", err)
	}

	for name, teams := range map[string][]config.StaticTeam{
		"no id":        {{Name: "x"}},
		"bad id":       {{ID: "a b"}},
		"duplicate id": {{ID: "a"}, {ID: "a"}},
		"bad limit":    {{ID: "a", TPM: -1}},
		"bad end user": {{ID: "a", EndUserLimits: config.EndUserLimits{BudgetPeriod: "week"}}},
	} {
		if _, err := PrepareStaticTeams(teams, time.Now()); err == nil {
			t.Errorf("%s: PrepareStaticTeams accepted it", name)
		}
	}
}

// TestStaticTeamHidesStored checks that a static team wins over a stored
// team of the same id (one created before the config named it).
func TestStaticTeamHidesStored(t *testing.T) {
	st, _ := storeKinds()[0].open(t)
	s := startService(t, testConfig(t.TempDir()), st, nil)
	ctx := context.Background()
	if _, err := s.CreateTeam(ctx, "ops", TeamInput{RPM: 1}); err != nil {
		t.Fatal(err)
	}
	_, secret := mustCreate(t, s, KeyInput{TeamID: "ops"})
	teams, err := s.PrepareStaticTeams([]config.StaticTeam{{ID: "ops", RPM: 2}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetStaticTeams(teams)
	if p, _ := s.Cache().Authenticate([]byte(secret)); p.TeamPolicy == nil || p.TeamPolicy.RPM != 2 {
		t.Errorf("key's team policy = %+v, want the static team's", p.TeamPolicy)
	}
	page, _, err := s.ListTeams(ctx, "", 0)
	if err != nil || len(page) != 1 || !page[0].Static {
		t.Errorf("ListTeams = %+v, %v; want the static team alone", page, err)
	}
}

// TestTeamPropagation runs two Services on one store: a team created,
// changed and deleted through one reaches the other's keys within the
// sync bound.
func TestTeamPropagation(t *testing.T) {
	const interval = 100 * time.Millisecond
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			stA, another := kind.open(t)
			cfg := testConfig(t.TempDir())
			cfg.Auth.SyncInterval = config.Duration(interval)
			a := startService(t, cfg, stA, nil)
			b := startService(t, cfg, migrated(t, another()), nil)
			ctx := context.Background()
			teamOf := func(s *Service, secret string) *TeamPolicy {
				p, st := s.Cache().Authenticate([]byte(secret))
				if st != StatusOK {
					return nil
				}
				return p.TeamPolicy
			}
			wait := func(what string, cond func() bool) {
				t.Helper()
				d := eventually(t, 5*time.Second, what, cond)
				t.Logf("%s: %v", what, d.Round(time.Millisecond))
			}

			if _, err := a.CreateTeam(ctx, "eng", TeamInput{RPM: 10}); err != nil {
				t.Fatal(err)
			}
			// b reads the team from the store, so a key made through b can
			// join it before b's poll has brought it, and has its limits
			// at once.
			k, secret := mustCreate(t, b, KeyInput{TeamID: "eng"})
			if tp := teamOf(b, secret); tp == nil || tp.RPM != 10 {
				t.Fatalf("key joined a team read from the store: %+v", tp)
			}
			wait("key reaches the first instance", func() bool {
				tp := teamOf(a, secret)
				return tp != nil && tp.RPM == 10
			})

			if _, err := b.UpdateTeam(ctx, "eng", []byte(`{"rpm":20,"models":["m1"]}`)); err != nil {
				t.Fatal(err)
			}
			wait("team update reaches the other instance", func() bool {
				tp := teamOf(a, secret)
				return tp != nil && tp.RPM == 20 && tp.Allows("m1") && !tp.Allows("m2")
			})

			if err := a.Revoke(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			_, secret2 := mustCreate(t, a, KeyInput{})
			if err := a.DeleteTeam(ctx, "eng"); err != nil {
				t.Fatal(err)
			}
			wait("team delete reaches the other instance", func() bool {
				b.mu.Lock()
				defer b.mu.Unlock()
				e := b.teams["eng"]
				return e != nil && e.rec.Deleted && b.teamPolicies()["eng"] == nil
			})
			if _, st := b.Cache().Authenticate([]byte(secret2)); st != StatusOK {
				t.Errorf("a key made beside the delete: %v", st)
			}
		})
	}
}

func TestDecodeTeamInput(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		id    string
		field string // of the FieldError; "" for the body as a whole
		ok    bool
	}{
		{"empty", `{}`, "", "", true},
		{"id", `{"id":"eng.core-1"}`, "eng.core-1", "", true},
		{"id with a colon", `{"id":"team:x"}`, "", "id", false},
		{"id too long", `{"id":"` + strings.Repeat("a", MaxTeamIDLen+1) + `"}`, "", "id", false},
		{"id not a string", `{"id":7}`, "", "id", false},
		{"not an object", `[1]`, "", "", false},
		{"unknown fields", `{"x":1,"y":2}`, "", "x, y", false},
		{"read-only", `{"created_at":"2020-01-01T00:00:00Z"}`, "", "created_at", false},
		{"static", `{"static":true}`, "", "static", false},
		{"wrong type", `{"rpm":"ten"}`, "", "rpm", false},
		{"negative max_concurrent", `{"max_concurrent":-1}`, "", "max_concurrent", false},
		{"nan budget", `{"budget_usd":"NaN"}`, "", "budget_usd", false},
		{"model pattern", `{"models":["gpt-*-mini"]}`, "", "models[0]", false},
		{"end users not an object", `{"end_user_limits":5}`, "", "end_user_limits", false},
		{"end users wrong type", `{"end_user_limits":{"rpm":1.5}}`, "", "end_user_limits.rpm", false},
		{"tag value too long", `{"tags":{"a":"` + strings.Repeat("v", maxTagValue+1) + `"}}`, "", "tags.a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, in, err := DecodeTeamInput([]byte(tt.body))
			if tt.ok {
				if err != nil || id != tt.id || in.Models == nil || in.Tags == nil {
					t.Fatalf("DecodeTeamInput = %q %+v, %v", id, in, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("DecodeTeamInput = %v, want a FieldError on %q", err, tt.field)
			}
		})
	}
}

package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// The Service's teams: static teams from auth.teams, stored teams kept in
// memory beside the keys (tombstones included, so that an older copy of a
// deleted team read by a slower poll cannot bring it back), the admin
// operations, and the lookup rebuild uses to give each key's policy its
// team's.

// staticTeam is a team from the config file.
type staticTeam struct {
	team   Team
	policy *TeamPolicy
}

// StaticTeams are the teams of a config's auth.teams, checked and ready to
// be swapped in by SetStaticTeams. Build them with PrepareStaticTeams.
type StaticTeams struct {
	list []*staticTeam // config order
	byID map[string]*staticTeam
}

// PrepareStaticTeams checks auth.teams (now stamps their created_at)
// without changing anything, as PrepareStatic does for keys.
func PrepareStaticTeams(teams []config.StaticTeam, now time.Time) (*StaticTeams, error) {
	now = now.UTC().Truncate(time.Microsecond)
	out := &StaticTeams{byID: make(map[string]*staticTeam, len(teams))}
	for i, st := range teams {
		if msg := teamIDProblem(st.ID); msg != "" {
			return nil, fmt.Errorf("auth: auth.teams[%d].id: %s", i, msg)
		}
		if _, dup := out.byID[st.ID]; dup {
			return nil, fmt.Errorf("auth: auth.teams[%d].id: duplicate team id %q", i, st.ID)
		}
		in := TeamInput{
			Name: st.Name, Models: slices.Clone(st.Models), RPM: st.RPM, TPM: st.TPM, MaxConcurrent: st.MaxConcurrent,
			BudgetUSD: st.BudgetUSD, BudgetPeriod: st.BudgetPeriod, Tags: maps.Clone(st.Tags),
			EndUserLimits: endUsersOf(st.EndUserLimits),
		}
		normalizeTeam(&in)
		if err := validateTeam(&in); err != nil {
			return nil, fmt.Errorf("auth: auth.teams[%d].%w", i, err)
		}
		t := &staticTeam{team: Team{ID: st.ID, Static: true, CreatedAt: now, UpdatedAt: now}}
		t.team.setInput(in)
		t.policy = t.team.policy()
		out.list = append(out.list, t)
		out.byID[st.ID] = t
	}
	return out, nil
}

// endUsersOf converts the config's end-user limits.
func endUsersOf(e config.EndUserLimits) EndUserLimits {
	return EndUserLimits{RPM: e.RPM, TPM: e.TPM, BudgetUSD: e.BudgetUSD, BudgetPeriod: e.BudgetPeriod}
}

// PrepareStaticTeams is the package's PrepareStaticTeams for a reload: a
// team whose id is already in force keeps its created_at, and its
// updated_at too unless its settings changed.
func (s *Service) PrepareStaticTeams(teams []config.StaticTeam) (*StaticTeams, error) {
	next, err := PrepareStaticTeams(teams, s.now())
	if err != nil {
		return nil, err
	}
	cur := s.staticTeams.Load()
	for _, t := range next.list {
		old := cur.byID[t.team.ID]
		if old == nil {
			continue
		}
		t.team.CreatedAt = old.team.CreatedAt
		a, b := old.team, t.team
		a.CreatedAt, a.UpdatedAt, b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if reflect.DeepEqual(a, b) {
			t.team.UpdatedAt = old.team.UpdatedAt
			t.policy = old.policy // unchanged: keys keep their policies
		}
	}
	return next, nil
}

// SetStaticTeams replaces the static teams: from the time it returns, the
// keys of a changed team have its new limits, and the keys of a removed
// team none (unless a stored team has its id). Limit state and spend are
// kept by team id.
func (s *Service) SetStaticTeams(t *StaticTeams) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staticTeams.Store(t)
	s.rebuild()
}

// applyTeams records changed teams and reports whether any changed.
// s.mu must be held.
func (s *Service) applyTeams(teams []TeamRecord) bool {
	changed := false
	for i := range teams {
		r := teams[i]
		if e, ok := s.teams[r.ID]; ok && e.rec.Version >= r.Version {
			continue
		}
		e := &teamEntry{rec: r}
		if !r.Deleted {
			e.policy = r.policy()
		}
		s.teams[r.ID] = e
		changed = true
	}
	return changed
}

// teamPolicies maps every team id to its policy: stored teams, then static
// teams, which win a clash. s.mu must be held.
func (s *Service) teamPolicies() map[string]*TeamPolicy {
	static := s.staticTeams.Load()
	if len(s.teams) == 0 && (static == nil || len(static.list) == 0) {
		return nil
	}
	m := make(map[string]*TeamPolicy, len(s.teams))
	for id, e := range s.teams {
		if e.policy != nil {
			m[id] = e.policy
		}
	}
	if static != nil {
		for _, t := range static.list {
			m[t.team.ID] = t.policy
		}
	}
	return m
}

// checkTeamID makes sure a key's team_id names a team, static or stored:
// a *FieldError on team_id otherwise. A stored team is read from the
// store, so that a team just created through another instance counts, and
// recorded here, so that the key has its team's limits at once.
func (s *Service) checkTeamID(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if _, ok := s.staticTeams.Load().byID[id]; ok {
		return nil
	}
	rec, err := s.store.GetTeam(ctx, id)
	switch {
	case errors.Is(err, ErrTeamNotFound):
		return &FieldError{Field: "team_id", Msg: fmt.Sprintf("no team has the id %q: create the team first (POST /admin/v1/teams)", id)}
	case err != nil:
		return err
	}
	s.applyAll(nil, []TeamRecord{rec}, 0)
	return nil
}

// patchedTeamID returns the team_id a key merge patch sets, if it sets one
// that is not empty.
func patchedTeamID(patch []byte) string {
	var top struct {
		TeamID json.RawMessage `json:"team_id"`
	}
	if json.Unmarshal(patch, &top) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(top.TeamID, &id) != nil {
		return ""
	}
	return id
}

// CreateTeam validates in and stores a new team with this id (generated,
// "team_" + 22 base62 characters, when id is ""). A static team's id is
// ErrStaticTeam, a stored team's ErrTeamExists. The team applies to its
// keys on this instance when CreateTeam returns.
func (s *Service) CreateTeam(ctx context.Context, id string, in TeamInput) (Team, error) {
	if err := s.checkReady(); err != nil {
		return Team{}, err
	}
	if id == "" {
		var err error
		if id, err = newTeamID(); err != nil {
			return Team{}, err
		}
	} else if msg := teamIDProblem(id); msg != "" {
		return Team{}, &FieldError{Field: "id", Msg: msg}
	}
	if _, ok := s.staticTeams.Load().byID[id]; ok {
		return Team{}, ErrStaticTeam
	}
	normalizeTeam(&in)
	if err := validateTeam(&in); err != nil {
		return Team{}, err
	}
	now := s.stamp()
	rec := TeamRecord{Team: Team{ID: id, CreatedAt: now, UpdatedAt: now}}
	rec.setInput(in)
	zero := TeamInput{}
	normalizeTeam(&zero)
	ch, err := teamChanges(zero, in)
	if err != nil {
		return Team{}, err
	}
	rec, err = s.store.CreateTeam(ctx, rec, AuditEntry{Time: now, Action: ActionTeamCreate, KeyID: TeamSpendID(id),
		Changes: ch, Actor: actorFrom(ctx)})
	if err != nil {
		return Team{}, err
	}
	s.applyAll(nil, []TeamRecord{rec}, 0)
	return rec.Team, nil
}

// GetTeam returns the team with this id: a static team (with Static set)
// or a stored one, with its spend. ErrTeamNotFound when there is none.
func (s *Service) GetTeam(ctx context.Context, id string) (Team, error) {
	if t, ok := s.staticTeams.Load().byID[id]; ok {
		out := []Team{t.team.clone()}
		if s.ready.Load() {
			if err := s.withTeamSpend(ctx, out); err != nil {
				return Team{}, err
			}
		}
		return out[0], nil
	}
	if err := s.checkReady(); err != nil {
		return Team{}, err
	}
	rec, err := s.store.GetTeam(ctx, id)
	if err != nil {
		return Team{}, err
	}
	out := []Team{rec.Team}
	if err := s.withTeamSpend(ctx, out); err != nil {
		return Team{}, err
	}
	return out[0], nil
}

// ListTeams returns a page of teams, static teams first (in config order),
// then stored teams in creation order; deleted teams are not listed. A
// stored team that a static team of the same id hides is left out.
// Cursor and limit work as in List.
func (s *Service) ListTeams(ctx context.Context, cursor string, limit int) (teams []Team, next string, err error) {
	limit, err = pageSize(limit)
	if err != nil {
		return nil, "", err
	}
	phase, pos, err := decodeCursor(cursor, "t", "u")
	if err != nil {
		return nil, "", err
	}
	if err := s.checkReady(); err != nil {
		return nil, "", err
	}
	type item struct {
		team  Team
		after string
	}
	var items []item
	afterSeq := int64(0)
	static := s.staticTeams.Load()
	if phase == "t" {
		for i := int(pos); i < len(static.list) && len(items) <= limit; i++ {
			items = append(items, item{static.list[i].team.clone(), encodeCursor("t", int64(i+1))})
		}
	} else {
		afterSeq = pos
	}
	for len(items) <= limit {
		want := limit + 1 - len(items)
		recs, err := s.store.ListTeams(ctx, afterSeq, want)
		if err != nil {
			return nil, "", err
		}
		for _, r := range recs {
			afterSeq = r.Seq
			if _, hidden := static.byID[r.ID]; hidden {
				continue
			}
			items = append(items, item{r.Team, encodeCursor("u", r.Seq)})
		}
		if len(recs) < want {
			break
		}
	}
	if len(items) > limit {
		next = items[limit-1].after
		items = items[:limit]
	}
	teams = make([]Team, len(items))
	for i, it := range items {
		teams[i] = it.team
	}
	if err := s.withTeamSpend(ctx, teams); err != nil {
		return nil, "", err
	}
	return teams, next, nil
}

// UpdateTeam applies a JSON merge patch (RFC 7386) to the team's writable
// fields, as Update does for keys. A static team is ErrStaticTeam, a
// missing one ErrTeamNotFound. The team's keys have the new limits on
// this instance when UpdateTeam returns, on every other within the sync
// bound.
func (s *Service) UpdateTeam(ctx context.Context, id string, patch []byte) (Team, error) {
	if _, ok := s.staticTeams.Load().byID[id]; ok {
		return Team{}, ErrStaticTeam
	}
	if err := s.checkReady(); err != nil {
		return Team{}, err
	}
	now := s.stamp()
	rec, err := s.store.UpdateTeam(ctx, id, func(r *TeamRecord) (*AuditEntry, error) {
		cur := r.input()
		normalizeTeam(&cur)
		next, err := applyTeamPatch(cur, patch)
		if err != nil {
			return nil, err
		}
		ch, err := teamChanges(cur, next)
		if err != nil || len(ch) == 0 {
			return nil, err
		}
		r.setInput(next)
		r.UpdatedAt = now
		return &AuditEntry{Time: now, Action: ActionTeamUpdate, KeyID: TeamSpendID(id), Changes: ch, Actor: actorFrom(ctx)}, nil
	})
	if err != nil {
		return Team{}, err
	}
	s.applyAll(nil, []TeamRecord{rec}, 0)
	out := []Team{rec.Team}
	if err := s.withTeamSpend(ctx, out); err != nil {
		return Team{}, err
	}
	return out[0], nil
}

// DeleteTeam deletes a team that no key uses: a *TeamInUseError
// (ErrTeamInUse) while keys that are not revoked, stored or static, name
// it. ErrStaticTeam, ErrTeamNotFound. Its spend stays in the store, and a
// team created later with the same id starts from it.
func (s *Service) DeleteTeam(ctx context.Context, id string) error {
	if _, ok := s.staticTeams.Load().byID[id]; ok {
		return ErrStaticTeam
	}
	if err := s.checkReady(); err != nil {
		return err
	}
	static := 0
	for _, k := range s.static.Load().list {
		if k.key.TeamID == id {
			static++
		}
	}
	if static > 0 {
		if _, err := s.store.GetTeam(ctx, id); err != nil {
			return err
		}
		return &TeamInUseError{ID: id, Static: static}
	}
	now := s.stamp()
	rec, err := s.store.DeleteTeam(ctx, id, AuditEntry{Time: now, Action: ActionTeamDelete, KeyID: TeamSpendID(id),
		Changes: map[string]json.RawMessage{"deleted": json.RawMessage("true")}, Actor: actorFrom(ctx)})
	if err != nil {
		return err
	}
	s.applyAll(nil, []TeamRecord{rec}, 0)
	return nil
}

// withTeamSpend sets each team's SpendUSD to its spend in its current
// budget period (in total when it has none), read under TeamSpendID.
func (s *Service) withTeamSpend(ctx context.Context, teams []Team) error {
	if len(teams) == 0 {
		return nil
	}
	ids := make([]string, len(teams))
	for i := range teams {
		ids[i] = TeamSpendID(teams[i].ID)
	}
	month, day := periodStarts(s.now())
	sums, err := s.store.SpendOf(ctx, ids, month, day)
	if err != nil {
		return err
	}
	for i := range teams {
		v := sums[ids[i]]
		switch teams[i].BudgetPeriod {
		case PeriodDay:
			teams[i].SpendUSD = v.Day
		case PeriodMonth:
			teams[i].SpendUSD = v.Month
		default:
			teams[i].SpendUSD = v.Total
		}
	}
	return nil
}

package auth

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// staticKey is a key from the config file, hashed at load.
type staticKey struct {
	key    Key
	hash   [32]byte
	policy *Policy      // without its team
	teamed teamedPolicy // with it; guarded by Service.mu
}

// StaticKeys are the keys of a config's auth.keys, hashed and checked,
// ready to be swapped in by SetStatic. Build them with PrepareStatic.
type StaticKeys struct {
	list []*staticKey // config order
	byID map[string]*staticKey
}

// PrepareStatic checks and hashes auth.keys (now stamps their created_at),
// without changing anything: a reload prepares every part of a new config
// before it applies any.
func PrepareStatic(keys []config.StaticKey, now time.Time) (*StaticKeys, error) {
	list, err := loadStatic(keys, now)
	if err != nil {
		return nil, err
	}
	out := &StaticKeys{list: list, byID: make(map[string]*staticKey, len(list))}
	for _, k := range list {
		out.byID[k.key.ID] = k
	}
	return out, nil
}

// PrepareStatic is the package's PrepareStatic for a reload: a key whose
// id is already in force keeps its created_at, and its updated_at too
// unless its settings changed.
func (s *Service) PrepareStatic(keys []config.StaticKey) (*StaticKeys, error) {
	next, err := PrepareStatic(keys, s.now())
	if err != nil {
		return nil, err
	}
	cur := s.static.Load()
	for _, k := range next.list {
		old := cur.byID[k.key.ID]
		if old == nil {
			continue
		}
		k.key.CreatedAt = old.key.CreatedAt
		if sameSettings(&old.key, &k.key) {
			k.key.UpdatedAt = old.key.UpdatedAt
		}
	}
	return next, nil
}

// sameSettings compares two keys' settings: everything but the
// timestamps, expiry compared by instant.
func sameSettings(a, b *Key) bool {
	ac, bc := *a, *b
	ac.CreatedAt, ac.UpdatedAt, ac.ExpiresAt = time.Time{}, time.Time{}, nil
	bc.CreatedAt, bc.UpdatedAt, bc.ExpiresAt = time.Time{}, time.Time{}, nil
	if (a.ExpiresAt == nil) != (b.ExpiresAt == nil) || (a.ExpiresAt != nil && !a.ExpiresAt.Equal(*b.ExpiresAt)) {
		return false
	}
	return reflect.DeepEqual(ac, bc)
}

// SetStatic replaces the static keys: from the time it returns, a removed
// key is refused and a changed key's limits, models and budget apply to
// the next request. Limit state and spend are kept by key id, so a key
// whose id stays keeps them.
func (s *Service) SetStatic(k *StaticKeys) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.static.Store(k)
	s.rebuild()
}

// loadStatic turns auth.keys into keys. The config's validation has
// checked them already; the checks here guard a Config built in code.
// Secrets are dropped: only their hashes remain.
func loadStatic(keys []config.StaticKey, now time.Time) ([]*staticKey, error) {
	out := make([]*staticKey, 0, len(keys))
	seen := map[[32]byte]int{}
	ids := map[string]int{}
	now = now.UTC().Truncate(time.Microsecond)
	for i, sk := range keys {
		secret := sk.Key.Reveal()
		if secret == "" || len(secret) > MaxSecretLen {
			return nil, fmt.Errorf("auth: auth.keys[%d].key: want 1 to %d bytes", i, MaxSecretLen)
		}
		id := sk.ID
		if id == "" {
			id = config.StaticKeyID(sk.Key)
		}
		in := KeyInput{
			Name: sk.Name, Models: slices.Clone(sk.Models), RPM: sk.RPM, TPM: sk.TPM, MaxConcurrent: sk.MaxConcurrent,
			BudgetUSD: sk.BudgetUSD, BudgetPeriod: sk.BudgetPeriod, Disabled: sk.Disabled, Team: sk.Team,
			TeamID: sk.TeamID, EndUserLimits: endUsersOf(sk.EndUserLimits),
			Tags: maps.Clone(sk.Tags), AllowRoutingHeaders: sk.AllowRoutingHeaders, Guardrails: slices.Clone(sk.Guardrails),
			Priority: sk.Priority,
		}
		if !sk.ExpiresAt.IsZero() {
			t := sk.ExpiresAt.Time
			in.ExpiresAt = &t
		}
		if len(sk.ModelLimits) > 0 {
			in.ModelLimits = make(map[string]ModelLimit, len(sk.ModelLimits))
			for m, l := range sk.ModelLimits {
				in.ModelLimits[m] = ModelLimit{RPM: l.RPM, TPM: l.TPM}
			}
		}
		normalize(&in)
		if err := validateInput(&in); err != nil {
			return nil, fmt.Errorf("auth: auth.keys[%d].%w", i, err)
		}
		h := Hash([]byte(secret))
		if j, dup := seen[h]; dup {
			return nil, fmt.Errorf("auth: auth.keys[%d].key: the same key as auth.keys[%d]", i, j)
		}
		if strings.HasPrefix(id, idPrefix) {
			return nil, fmt.Errorf("auth: auth.keys[%d].id: ids starting with %q are reserved for keys created through the admin API", i, idPrefix)
		}
		if j, dup := ids[id]; dup {
			return nil, fmt.Errorf("auth: auth.keys[%d].id: duplicate key id %q (auth.keys[%d])", i, id, j)
		}
		seen[h], ids[id] = i, i
		k := &staticKey{hash: h}
		k.key = Key{ID: id, Prefix: staticPrefix(secret), Static: true, CreatedAt: now, UpdatedAt: now}
		k.key.setInput(in)
		k.policy = newPolicy(&k.key)
		out = append(out, k)
	}
	return out, nil
}

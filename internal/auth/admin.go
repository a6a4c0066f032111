package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Page sizes of List and Audit.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Create validates in, generates a secret and stores a new key. It returns
// the key object and the secret, which exists nowhere else afterwards: the
// caller shows it once. The key authenticates on this instance when Create
// returns. in is normalized: nil lists and maps become empty, duplicate
// list entries go, a budget without a period gets "total", expires_at is
// kept in UTC to the microsecond.
func (s *Service) Create(ctx context.Context, in KeyInput) (Key, string, error) {
	if err := s.checkReady(); err != nil {
		return Key{}, "", err
	}
	normalize(&in)
	if err := validateInput(&in); err != nil {
		return Key{}, "", err
	}
	if err := s.checkTeamID(ctx, in.TeamID); err != nil {
		return Key{}, "", err
	}
	secret, prefix, err := Generate()
	if err != nil {
		return Key{}, "", err
	}
	id, err := newID()
	if err != nil {
		return Key{}, "", err
	}
	now := s.stamp()
	rec := Record{Key: Key{ID: id, Prefix: prefix, CreatedAt: now, UpdatedAt: now}, Hash: Hash([]byte(secret))}
	rec.setInput(in)
	zero := KeyInput{}
	normalize(&zero)
	ch, err := changes(zero, in)
	if err != nil {
		return Key{}, "", err
	}
	ch["prefix"] = mustJSON(prefix)
	rec, err = s.store.Create(ctx, rec, AuditEntry{Time: now, Action: ActionCreate, KeyID: id, Changes: ch, Actor: actorFrom(ctx)})
	if err != nil {
		return Key{}, "", err
	}
	s.apply([]Record{rec}, 0)
	return rec.Key, secret, nil
}

// Get returns the key with this id: a stored key, or a static key (with
// Static set). ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (Key, error) {
	if k, ok := s.static.Load().byID[id]; ok {
		out := []Key{k.key.clone()}
		if s.ready.Load() {
			if err := s.withSpend(ctx, out); err != nil {
				return Key{}, err
			}
		}
		return out[0], nil
	}
	if err := s.checkReady(); err != nil {
		return Key{}, err
	}
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return Key{}, err
	}
	out := []Key{rec.Key}
	if err := s.withSpend(ctx, out); err != nil {
		return Key{}, err
	}
	return out[0], nil
}

// List returns a page of keys, static keys first (in config order), then
// stored keys in creation order, revoked ones included. cursor is "" for
// the first page, else a next cursor from an earlier call (opaque); limit
// 0 means DefaultPageSize and is capped at MaxPageSize. next is "" on the
// last page. A malformed cursor or negative limit is a *FieldError.
func (s *Service) List(ctx context.Context, cursor string, limit int) (keys []Key, next string, err error) {
	limit, err = pageSize(limit)
	if err != nil {
		return nil, "", err
	}
	phase, pos, err := decodeCursor(cursor, "s", "d")
	if err != nil {
		return nil, "", err
	}
	if err := s.checkReady(); err != nil {
		return nil, "", err
	}
	type item struct {
		key   Key
		after string // the cursor that continues after this item
	}
	var items []item
	afterSeq := int64(0)
	if phase == "s" {
		static := s.static.Load().list
		for i := int(pos); i < len(static) && len(items) <= limit; i++ {
			items = append(items, item{static[i].key.clone(), encodeCursor("s", int64(i+1))})
		}
	} else {
		afterSeq = pos
	}
	if len(items) <= limit {
		recs, err := s.store.List(ctx, afterSeq, limit+1-len(items))
		if err != nil {
			return nil, "", err
		}
		for _, r := range recs {
			items = append(items, item{r.Key, encodeCursor("d", r.Seq)})
		}
	}
	if len(items) > limit {
		next = items[limit-1].after
		items = items[:limit]
	}
	keys = make([]Key, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	if err := s.withSpend(ctx, keys); err != nil {
		return nil, "", err
	}
	return keys, next, nil
}

// Update applies a JSON merge patch (RFC 7386) to the key's writable
// fields: null resets a field to its default or deletes a map entry (tags,
// model_limits); objects merge. Unknown fields, read-only fields and bad
// values are a *FieldError; a static key is ErrStaticKey, a revoked one
// ErrRevoked. A patch that changes nothing writes nothing (and no audit
// entry). The change is in this instance's cache when Update returns.
func (s *Service) Update(ctx context.Context, id string, patch []byte) (Key, error) {
	if _, ok := s.static.Load().byID[id]; ok {
		return Key{}, ErrStaticKey
	}
	if err := s.checkReady(); err != nil {
		return Key{}, err
	}
	// A team_id the patch sets must name a team. It is checked before the
	// write's transaction, which holds the store's writer lock; a team
	// deleted in between leaves the key without team limits, as a key
	// whose team is gone has.
	if team := patchedTeamID(patch); team != "" && teamIDProblem(team) == "" {
		if err := s.checkTeamID(ctx, team); err != nil {
			return Key{}, err
		}
	}
	now := s.stamp()
	rec, err := s.store.Update(ctx, id, func(r *Record) (*AuditEntry, error) {
		if r.Revoked {
			return nil, ErrRevoked
		}
		cur := r.input()
		normalize(&cur)
		next, err := applyPatch(cur, patch)
		if err != nil {
			return nil, err
		}
		ch, err := changes(cur, next)
		if err != nil || len(ch) == 0 {
			return nil, err
		}
		r.setInput(next)
		r.UpdatedAt = now
		return &AuditEntry{Time: now, Action: ActionUpdate, KeyID: id, Changes: ch, Actor: actorFrom(ctx)}, nil
	})
	if err != nil {
		return Key{}, err
	}
	s.apply([]Record{rec}, 0)
	out := []Key{rec.Key}
	if err := s.withSpend(ctx, out); err != nil {
		return Key{}, err
	}
	return out[0], nil
}

// Revoke revokes the key for good: its secret (and any previous secret
// still in a rotation grace period) stops working on this instance when
// Revoke returns, on every other within the sync bound. Revoking a revoked
// key succeeds and changes nothing. ErrStaticKey, ErrNotFound.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if _, ok := s.static.Load().byID[id]; ok {
		return ErrStaticKey
	}
	if err := s.checkReady(); err != nil {
		return err
	}
	now := s.stamp()
	rec, err := s.store.Update(ctx, id, func(r *Record) (*AuditEntry, error) {
		if r.Revoked {
			return nil, nil
		}
		r.Revoked = true
		r.PrevHash, r.PrevUntil = [32]byte{}, time.Time{}
		r.UpdatedAt = now
		return &AuditEntry{Time: now, Action: ActionRevoke, KeyID: id,
			Changes: map[string]json.RawMessage{"revoked": json.RawMessage("true")}, Actor: actorFrom(ctx)}, nil
	})
	if err != nil {
		return err
	}
	s.apply([]Record{rec}, 0)
	return nil
}

// Rotate gives the key a new secret and returns it with the updated key
// object. The old secret stops working at once, or after auth.rotation_grace
// when that is set (a second rotation within the grace period ends the
// first one's grace). ErrStaticKey, ErrRevoked, ErrNotFound.
func (s *Service) Rotate(ctx context.Context, id string) (Key, string, error) {
	if _, ok := s.static.Load().byID[id]; ok {
		return Key{}, "", ErrStaticKey
	}
	if err := s.checkReady(); err != nil {
		return Key{}, "", err
	}
	secret, prefix, err := Generate()
	if err != nil {
		return Key{}, "", err
	}
	now := s.stamp()
	rec, err := s.store.Update(ctx, id, func(r *Record) (*AuditEntry, error) {
		if r.Revoked {
			return nil, ErrRevoked
		}
		ch := map[string]json.RawMessage{"prefix": mustJSON(prefix)}
		r.PrevHash, r.PrevUntil = [32]byte{}, time.Time{}
		if s.grace > 0 {
			r.PrevHash, r.PrevUntil = r.Hash, now.Add(s.grace)
			ch["previous_secret_valid_until"] = mustJSON(r.PrevUntil)
		}
		r.Hash, r.Prefix, r.UpdatedAt = Hash([]byte(secret)), prefix, now
		return &AuditEntry{Time: now, Action: ActionRotate, KeyID: id, Changes: ch, Actor: actorFrom(ctx)}, nil
	})
	if err != nil {
		return Key{}, "", err
	}
	s.apply([]Record{rec}, 0)
	out := []Key{rec.Key}
	if err := s.withSpend(ctx, out); err != nil {
		return Key{}, "", err
	}
	return out[0], secret, nil
}

// Audit returns a page of the audit log, newest first; only keyID's
// entries when keyID is not "". Cursor and limit work as in List.
func (s *Service) Audit(ctx context.Context, keyID, cursor string, limit int) (entries []AuditEntry, next string, err error) {
	limit, err = pageSize(limit)
	if err != nil {
		return nil, "", err
	}
	_, before, err := decodeCursor(cursor, "a")
	if err != nil {
		return nil, "", err
	}
	if err := s.checkReady(); err != nil {
		return nil, "", err
	}
	entries, err = s.store.Audit(ctx, keyID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(entries) > limit {
		entries = entries[:limit]
		next = encodeCursor("a", entries[limit-1].ID)
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	return entries, next, nil
}

// stamp is the time of a write, at the microsecond precision both stores
// keep.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func pageSize(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, &FieldError{Field: "limit", Msg: "must be positive"}
	case limit == 0:
		return DefaultPageSize, nil
	case limit > MaxPageSize:
		return MaxPageSize, nil
	}
	return limit, nil
}

// Cursors are base64url("<phase>:<position>"), opaque to clients.
func encodeCursor(phase string, pos int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(phase + ":" + strconv.FormatInt(pos, 10)))
}

// decodeCursor parses a cursor of one of phases; "" is the start of the
// first phase.
func decodeCursor(c string, phases ...string) (phase string, pos int64, err error) {
	if c == "" {
		return phases[0], 0, nil
	}
	bad := &FieldError{Field: "cursor", Msg: "invalid cursor: pass next_cursor from the previous page"}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", 0, bad
	}
	p, n, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", 0, bad
	}
	pos, err = strconv.ParseInt(n, 10, 64)
	if err != nil || pos < 0 {
		return "", 0, bad
	}
	for _, want := range phases {
		if p == want {
			return p, pos, nil
		}
	}
	return "", 0, bad
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("auth: marshal of a plain value failed: " + err.Error())
	}
	return b
}

package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Store persists keys and the audit log. The Service is its only user; the
// request path never calls it. Implementations: SQLite (the embedded
// default) and PostgreSQL. Every query is parameterized.
type Store interface {
	// Migrate applies the embedded migrations that the database lacks. It
	// is idempotent and safe to run from several instances at once.
	Migrate(ctx context.Context) error
	// Changes returns the keys written after version since (all keys for
	// 0), ordered by version, and the store's current version. Versions
	// become visible in the order they were assigned, so passing the
	// returned version back never skips a write.
	Changes(ctx context.Context, since int64) ([]Record, int64, error)
	// Get returns the key with this id, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// List returns up to limit keys with Seq greater than afterSeq, by Seq.
	List(ctx context.Context, afterSeq int64, limit int) ([]Record, error)
	// Create inserts rec and its audit entry in one transaction and returns
	// rec with Seq and Version set.
	Create(ctx context.Context, rec Record, audit AuditEntry) (Record, error)
	// Update runs fn on the key with this id inside a transaction that
	// excludes every other writer, and writes the record back with the
	// audit entry fn returns. When fn returns a nil entry nothing is
	// written and the record is returned as it was; when fn fails the
	// error is returned as is. ErrNotFound when there is no such key.
	Update(ctx context.Context, id string, fn func(*Record) (*AuditEntry, error)) (Record, error)
	// Audit returns up to limit audit entries, newest first, with ID below
	// beforeID (0: from the newest), only those of keyID when it is not "".
	Audit(ctx context.Context, keyID string, beforeID int64, limit int) ([]AuditEntry, error)
	// AddSpend adds usd to key id's spend on day (days since the Unix
	// epoch, UTC).
	AddSpend(ctx context.Context, id string, day int64, usd float64) error
	// SpendSince returns every key's spend on days from day on, by key id.
	SpendSince(ctx context.Context, day int64) (map[string]float64, error)
	// SpendOf returns the spend of those of ids that have any: in total,
	// on days from month on and on days from day on.
	SpendOf(ctx context.Context, ids []string, month, day int64) (map[string]SpendSums, error)
	// TeamChanges returns the teams written after version since (all for
	// 0), deleted ones' tombstones included, ordered by version.
	TeamChanges(ctx context.Context, since int64) ([]TeamRecord, error)
	// GetTeam returns the team with this id, or ErrTeamNotFound (also for
	// a deleted team).
	GetTeam(ctx context.Context, id string) (TeamRecord, error)
	// ListTeams returns up to limit teams with Seq greater than afterSeq,
	// by Seq; deleted teams are left out.
	ListTeams(ctx context.Context, afterSeq int64, limit int) ([]TeamRecord, error)
	// CreateTeam inserts rec and its audit entry in one transaction and
	// returns rec with Seq and Version set. The tombstone of a deleted
	// team with the same id is replaced; a team that exists is
	// ErrTeamExists.
	CreateTeam(ctx context.Context, rec TeamRecord, audit AuditEntry) (TeamRecord, error)
	// UpdateTeam is Update for teams. ErrTeamNotFound when there is no
	// such team (or it is deleted).
	UpdateTeam(ctx context.Context, id string, fn func(*TeamRecord) (*AuditEntry, error)) (TeamRecord, error)
	// DeleteTeam leaves a tombstone of the team (updated_at the audit
	// entry's time) with its audit entry, in one transaction, and returns
	// it; a *TeamInUseError when keys that are not revoked name the team,
	// ErrTeamNotFound when there is no such team.
	DeleteTeam(ctx context.Context, id string, audit AuditEntry) (TeamRecord, error)
	// Close releases the database.
	Close() error
}

// Record is a stored key: the key object and what the store keeps beside
// it. It never holds a secret, only hashes.
type Record struct {
	Key
	// Hash is the SHA-256 of the key's secret.
	Hash [32]byte
	// PrevHash is the hash of the secret a rotation replaced, valid until
	// PrevUntil (a rotation grace period). Zero when there is none.
	PrevHash  [32]byte
	PrevUntil time.Time
	// Seq orders keys by creation, for pagination.
	Seq int64
	// Version is the store version of the key's last write.
	Version int64
}

// storeQueries is the SQL every dialect shares: both drivers take $N
// placeholders. Column order matches recordDest.
const (
	keyColumns = `seq, version, id, hash, prefix, name, models, rpm, tpm, max_concurrent, budget_usd,
budget_period, spend_usd, expires_at, disabled, revoked, team, tags, model_limits, allow_routing_headers,
guardrails, prev_hash, prev_until, created_at, updated_at, team_id, end_user_limits, priority`
	qVersion    = `SELECT version FROM api_key_version WHERE id = 1`
	qBump       = `UPDATE api_key_version SET version = version + 1 WHERE id = 1 RETURNING version`
	qChanges    = `SELECT ` + keyColumns + ` FROM api_keys WHERE version > $1 ORDER BY version`
	qGet        = `SELECT ` + keyColumns + ` FROM api_keys WHERE id = $1`
	qList       = `SELECT ` + keyColumns + ` FROM api_keys WHERE seq > $1 ORDER BY seq LIMIT $2`
	qInsertAudi = `INSERT INTO api_key_audit (at, action, key_id, changes, actor) VALUES ($1, $2, $3, $4, $5)`
	qInsert     = `INSERT INTO api_keys (version, id, hash, prefix, name, models, rpm, tpm, max_concurrent,
budget_usd, budget_period, spend_usd, expires_at, disabled, revoked, team, tags, model_limits,
allow_routing_headers, guardrails, prev_hash, prev_until, created_at, updated_at, team_id, end_user_limits, priority)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
$25, $26, $27)
RETURNING seq`
	qUpdate = `UPDATE api_keys SET version = $1, hash = $3, prefix = $4, name = $5, models = $6, rpm = $7,
tpm = $8, max_concurrent = $9, budget_usd = $10, budget_period = $11, spend_usd = $12, expires_at = $13,
disabled = $14, revoked = $15, team = $16, tags = $17, model_limits = $18, allow_routing_headers = $19,
guardrails = $20, prev_hash = $21, prev_until = $22, created_at = $23, updated_at = $24, team_id = $25,
end_user_limits = $26, priority = $27 WHERE id = $2`
	auditColumns = `seq, at, action, key_id, changes, actor`
)

// querier is what the shared store code needs from a database or a
// transaction; sqlite.go adapts database/sql, postgres.go a pgx pool.
type querier interface {
	exec(ctx context.Context, query string, args ...any) error
	query(ctx context.Context, query string, args ...any) (rows, error)
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// backend is a database: a querier plus transactions.
type backend interface {
	querier
	// tx runs fn in a transaction, committing when it returns nil.
	tx(ctx context.Context, fn func(q querier) error) error
	// timeArg encodes a time as the dialect stores it; zero is NULL.
	timeArg(t time.Time) any
	close()
}

// sqlStore implements Store on a backend.
type sqlStore struct {
	db backend
	m  *migrator
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) Migrate(ctx context.Context) error {
	_, err := s.m.run(ctx)
	return err
}

func (s *sqlStore) Close() error {
	s.db.close()
	return nil
}

func (s *sqlStore) Changes(ctx context.Context, since int64) ([]Record, int64, error) {
	var v int64
	if err := queryOne(ctx, s.db, qVersion, nil, &v); err != nil {
		return nil, 0, fmt.Errorf("auth store: read version: %w", err)
	}
	if v == since {
		return nil, v, nil
	}
	recs, err := queryRecords(ctx, s.db, qChanges, since)
	if err != nil {
		return nil, 0, fmt.Errorf("auth store: read changes: %w", err)
	}
	return recs, v, nil
}

func (s *sqlStore) Get(ctx context.Context, id string) (Record, error) {
	recs, err := queryRecords(ctx, s.db, qGet, id)
	if err != nil {
		return Record{}, fmt.Errorf("auth store: get key: %w", err)
	}
	if len(recs) == 0 {
		return Record{}, ErrNotFound
	}
	return recs[0], nil
}

func (s *sqlStore) List(ctx context.Context, afterSeq int64, limit int) ([]Record, error) {
	recs, err := queryRecords(ctx, s.db, qList, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("auth store: list keys: %w", err)
	}
	return recs, nil
}

func (s *sqlStore) Create(ctx context.Context, rec Record, audit AuditEntry) (Record, error) {
	err := s.db.tx(ctx, func(q querier) error {
		v, err := bump(ctx, q)
		if err != nil {
			return err
		}
		rec.Version = v
		args, err := recordArgs(s.db, &rec)
		if err != nil {
			return err
		}
		if err := queryOne(ctx, q, qInsert, args, &rec.Seq); err != nil {
			return fmt.Errorf("insert key: %w", err)
		}
		return insertAudit(ctx, s.db, q, &audit)
	})
	if err != nil {
		return Record{}, fmt.Errorf("auth store: create key: %w", err)
	}
	return rec, nil
}

func (s *sqlStore) Update(ctx context.Context, id string, fn func(*Record) (*AuditEntry, error)) (Record, error) {
	return readModifyWrite(ctx, s.db, "update key",
		func(q querier) (Record, error) {
			recs, err := queryRecords(ctx, q, qGet, id)
			if err != nil {
				return Record{}, fmt.Errorf("read key: %w", err)
			}
			if len(recs) == 0 {
				return Record{}, ErrNotFound
			}
			return recs[0], nil
		},
		func(_ querier, r *Record) (*AuditEntry, error) { return fn(r) },
		func(q querier, r *Record, v int64) error {
			r.Version = v
			args, err := recordArgs(s.db, r)
			if err != nil {
				return err
			}
			if err := q.exec(ctx, qUpdate, args...); err != nil {
				return fmt.Errorf("update key: %w", err)
			}
			return nil
		})
}

// readModifyWrite is the write of one stored object (a key, a team):
// inside a transaction that first bumps the version counter — its row lock
// excludes every other writer, so that versions commit in order and
// read-modify-write is safe — it reads the object (get), lets fn change
// it, and writes it back at the new version (put) with the audit entry fn
// returns. When fn returns no entry, nothing is written (the bump rolls
// back) and the object is returned as read; when fn or get fails with a
// caller's error (isCallerError) it is returned as is, other errors
// wrapped as "auth store: what: …".
func readModifyWrite[R any](ctx context.Context, db backend, what string, get func(querier) (R, error),
	fn func(querier, *R) (*AuditEntry, error), put func(querier, *R, int64) error) (R, error) {
	var out R
	errUnchanged := errors.New("unchanged")
	err := db.tx(ctx, func(q querier) error {
		v, err := bump(ctx, q)
		if err != nil {
			return err
		}
		read, err := get(q)
		if err != nil {
			return err
		}
		rec := read
		audit, err := fn(q, &rec)
		if err != nil {
			return err
		}
		if audit == nil {
			out = read
			return errUnchanged // roll back the bump
		}
		if err := put(q, &rec, v); err != nil {
			return err
		}
		if err := insertAudit(ctx, db, q, audit); err != nil {
			return err
		}
		out = rec
		return nil
	})
	var zero R
	switch {
	case errors.Is(err, errUnchanged):
		return out, nil
	case err != nil && isCallerError(err):
		return zero, err
	case err != nil:
		return zero, fmt.Errorf("auth store: %s: %w", what, err)
	}
	return out, nil
}

// isCallerError reports errors that Update passes through unwrapped.
func isCallerError(err error) bool {
	var fe *FieldError
	for _, e := range []error{ErrNotFound, ErrRevoked, ErrStaticKey, ErrTeamNotFound, ErrTeamExists, ErrTeamInUse} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &fe)
}

func (s *sqlStore) Audit(ctx context.Context, keyID string, beforeID int64, limit int) ([]AuditEntry, error) {
	query := `SELECT ` + auditColumns + ` FROM api_key_audit`
	var args []any
	var where []string
	if keyID != "" {
		args = append(args, keyID)
		where = append(where, fmt.Sprintf("key_id = $%d", len(args)))
	}
	if beforeID > 0 {
		args = append(args, beforeID)
		where = append(where, fmt.Sprintf("seq < $%d", len(args)))
	}
	for i, w := range where {
		if i == 0 {
			query += " WHERE " + w
		} else {
			query += " AND " + w
		}
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY seq DESC LIMIT $%d", len(args))

	rs, err := s.db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("auth store: read audit: %w", err)
	}
	defer rs.Close()
	var out []AuditEntry
	for rs.Next() {
		var e AuditEntry
		var at dbTime
		var changes string
		if err := rs.Scan(&e.ID, &at, &e.Action, &e.KeyID, &changes, &e.Actor); err != nil {
			return nil, fmt.Errorf("auth store: read audit: %w", err)
		}
		e.Time = at.t
		if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
			return nil, fmt.Errorf("auth store: audit entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("auth store: read audit: %w", err)
	}
	return out, nil
}

func bump(ctx context.Context, q querier) (int64, error) {
	var v int64
	if err := queryOne(ctx, q, qBump, nil, &v); err != nil {
		return 0, fmt.Errorf("bump version: %w", err)
	}
	return v, nil
}

func insertAudit(ctx context.Context, db backend, q querier, a *AuditEntry) error {
	changes, err := json.Marshal(a.Changes)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	if a.Changes == nil {
		changes = []byte("{}")
	}
	if err := q.exec(ctx, qInsertAudi, db.timeArg(a.Time), a.Action, a.KeyID, string(changes), a.Actor); err != nil {
		return fmt.Errorf("insert audit entry: %w", err)
	}
	return nil
}

// queryOne runs a query that returns one row and scans it into dest.
func queryOne(ctx context.Context, q querier, query string, args []any, dest ...any) error {
	rs, err := q.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	if !rs.Next() {
		if err := rs.Err(); err != nil {
			return err
		}
		return errors.New("no row returned")
	}
	if err := rs.Scan(dest...); err != nil {
		return err
	}
	rs.Close()
	return rs.Err()
}

// scanRow is a row type that scans into its own fields (dest) and then
// yields a T (record): recordRow, teamRow.
type scanRow[T, R any] interface {
	*R
	dest() []any
	record() (T, error)
}

// queryRows runs query and returns its rows, each scanned into a fresh R.
func queryRows[T, R any, P scanRow[T, R]](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rs, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []T
	for rs.Next() {
		var r R
		if err := rs.Scan(P(&r).dest()...); err != nil {
			return nil, err
		}
		rec, err := P(&r).record()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rs.Err()
}

func queryRecords(ctx context.Context, q querier, query string, args ...any) ([]Record, error) {
	return queryRows[Record, recordRow](ctx, q, query, args...)
}

// recordRow is a row of api_keys as scanned.
type recordRow struct {
	rec                               Record
	hash, prevHash                    []byte
	models, tags, limits, guardrails  string
	endUsers                          string
	expiresAt, prevUntil, created, up dbTime
}

func (r *recordRow) dest() []any {
	k := &r.rec
	return []any{&k.Seq, &k.Version, &k.ID, &r.hash, &k.Prefix, &k.Name, &r.models, &k.RPM, &k.TPM,
		&k.MaxConcurrent, &k.BudgetUSD, &k.BudgetPeriod, &k.SpendUSD, &r.expiresAt, &k.Disabled, &k.Revoked,
		&k.Team, &r.tags, &r.limits, &k.AllowRoutingHeaders, &r.guardrails, &r.prevHash, &r.prevUntil,
		&r.created, &r.up, &k.TeamID, &r.endUsers, &k.Priority}
}

func (r *recordRow) record() (Record, error) {
	rec := r.rec
	if len(r.hash) != len(rec.Hash) {
		return Record{}, fmt.Errorf("key %s: hash of %d bytes", rec.ID, len(r.hash))
	}
	copy(rec.Hash[:], r.hash)
	if len(r.prevHash) == len(rec.PrevHash) {
		copy(rec.PrevHash[:], r.prevHash)
		rec.PrevUntil = r.prevUntil.t
	}
	for _, f := range []struct {
		src string
		dst any
	}{{r.models, &rec.Models}, {r.tags, &rec.Tags}, {r.limits, &rec.ModelLimits}, {r.guardrails, &rec.Guardrails},
		{r.endUsers, &rec.EndUserLimits}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return Record{}, fmt.Errorf("key %s: %w", rec.ID, err)
		}
	}
	if r.expiresAt.valid {
		t := r.expiresAt.t
		rec.ExpiresAt = &t
	}
	rec.CreatedAt, rec.UpdatedAt = r.created.t, r.up.t
	in := rec.input()
	normalize(&in)
	rec.setInput(in)
	return rec, nil
}

// recordArgs returns the arguments of qInsert and qUpdate for rec.
func recordArgs(db backend, rec *Record) ([]any, error) {
	enc := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	k := &rec.Key
	in := k.input()
	normalize(&in)
	var js [5]string
	for i, v := range []any{in.Models, in.Tags, in.ModelLimits, in.Guardrails, in.EndUserLimits} {
		s, err := enc(v)
		if err != nil {
			return nil, fmt.Errorf("encode key: %w", err)
		}
		js[i] = s
	}
	var expires any
	if in.ExpiresAt != nil {
		expires = db.timeArg(*in.ExpiresAt)
	}
	var prevHash, prevUntil any
	if rec.PrevHash != ([32]byte{}) {
		prevHash, prevUntil = rec.PrevHash[:], db.timeArg(rec.PrevUntil)
	}
	return []any{rec.Version, k.ID, rec.Hash[:], k.Prefix, k.Name, js[0], k.RPM, k.TPM, k.MaxConcurrent,
		k.BudgetUSD, k.BudgetPeriod, k.SpendUSD, expires, k.Disabled, k.Revoked, k.Team, js[1], js[2],
		k.AllowRoutingHeaders, js[3], prevHash, prevUntil, db.timeArg(k.CreatedAt), db.timeArg(k.UpdatedAt),
		in.TeamID, js[4], storedPriority(in.Priority)}, nil
}

// storedPriority is a priority as the priority column keeps it: "" for
// normal (the column's default, so rows written before the column existed
// read the same), else its name. Reading normalizes "" back to normal.
func storedPriority(p string) string {
	if p == PriorityNormal {
		return ""
	}
	return p
}

// dbTime scans a time from either dialect: SQLite stores unix
// microseconds, PostgreSQL a timestamptz. NULL is the zero time.
type dbTime struct {
	t     time.Time
	valid bool
}

// Scan implements sql.Scanner (pgx uses it too).
func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = dbTime{}
	case int64:
		*d = dbTime{t: time.UnixMicro(v).UTC(), valid: true}
	case time.Time:
		*d = dbTime{t: v.UTC(), valid: true}
	default:
		return fmt.Errorf("cannot scan %T as a time", src)
	}
	return nil
}

var _ sql.Scanner = (*dbTime)(nil)

package auth

import (
	"context"
	"encoding/json"
	"fmt"
)

// The teams table (migration 0003). Team writes bump api_key_version like
// key writes, inside their transaction, so that Changes' version covers
// both and the poll that reads changed keys reads changed teams too. A
// delete leaves a tombstone (deleted true) that carries the delete to the
// other instances; creating a team with the id of a deleted one replaces
// its tombstone.

const (
	teamColumns = `seq, version, id, name, models, rpm, tpm, max_concurrent, budget_usd, budget_period, tags,
end_user_limits, deleted, created_at, updated_at`
	qTeamChanges = `SELECT ` + teamColumns + ` FROM teams WHERE version > $1 ORDER BY version`
	qTeamGet     = `SELECT ` + teamColumns + ` FROM teams WHERE id = $1`
	qTeamList    = `SELECT ` + teamColumns + ` FROM teams WHERE seq > $1 AND NOT deleted ORDER BY seq LIMIT $2`
	qTeamInsert  = `INSERT INTO teams (version, id, name, models, rpm, tpm, max_concurrent, budget_usd, budget_period,
tags, end_user_limits, deleted, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING seq`
	qTeamUpdate = `UPDATE teams SET version = $1, name = $3, models = $4, rpm = $5, tpm = $6, max_concurrent = $7,
budget_usd = $8, budget_period = $9, tags = $10, end_user_limits = $11, deleted = $12, created_at = $13,
updated_at = $14 WHERE id = $2`
	qTeamDropTombstone = `DELETE FROM teams WHERE id = $1 AND deleted`
	qTeamKeys          = `SELECT COUNT(*) FROM api_keys WHERE team_id = $1 AND NOT revoked`
)

func (s *sqlStore) TeamChanges(ctx context.Context, since int64) ([]TeamRecord, error) {
	recs, err := queryTeams(ctx, s.db, qTeamChanges, since)
	if err != nil {
		return nil, fmt.Errorf("auth store: read team changes: %w", err)
	}
	return recs, nil
}

func (s *sqlStore) GetTeam(ctx context.Context, id string) (TeamRecord, error) {
	recs, err := queryTeams(ctx, s.db, qTeamGet, id)
	if err != nil {
		return TeamRecord{}, fmt.Errorf("auth store: get team: %w", err)
	}
	if len(recs) == 0 || recs[0].Deleted {
		return TeamRecord{}, ErrTeamNotFound
	}
	return recs[0], nil
}

func (s *sqlStore) ListTeams(ctx context.Context, afterSeq int64, limit int) ([]TeamRecord, error) {
	recs, err := queryTeams(ctx, s.db, qTeamList, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("auth store: list teams: %w", err)
	}
	return recs, nil
}

func (s *sqlStore) CreateTeam(ctx context.Context, rec TeamRecord, audit AuditEntry) (TeamRecord, error) {
	err := s.db.tx(ctx, func(q querier) error {
		// The bump's row lock serializes writers: the check below and the
		// insert see no concurrent create of the same id.
		v, err := bump(ctx, q)
		if err != nil {
			return err
		}
		cur, err := queryTeams(ctx, q, qTeamGet, rec.ID)
		if err != nil {
			return fmt.Errorf("read team: %w", err)
		}
		if len(cur) > 0 && !cur[0].Deleted {
			return ErrTeamExists
		}
		if err := q.exec(ctx, qTeamDropTombstone, rec.ID); err != nil {
			return fmt.Errorf("drop team tombstone: %w", err)
		}
		rec.Version, rec.Deleted = v, false
		args, err := teamArgs(s.db, &rec)
		if err != nil {
			return err
		}
		if err := queryOne(ctx, q, qTeamInsert, args, &rec.Seq); err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		return insertAudit(ctx, s.db, q, &audit)
	})
	switch {
	case err != nil && isCallerError(err):
		return TeamRecord{}, err
	case err != nil:
		return TeamRecord{}, fmt.Errorf("auth store: create team: %w", err)
	}
	return rec, nil
}

func (s *sqlStore) UpdateTeam(ctx context.Context, id string, fn func(*TeamRecord) (*AuditEntry, error)) (TeamRecord, error) {
	return s.writeTeam(ctx, id, func(_ querier, r *TeamRecord) (*AuditEntry, error) { return fn(r) })
}

func (s *sqlStore) DeleteTeam(ctx context.Context, id string, audit AuditEntry) (TeamRecord, error) {
	return s.writeTeam(ctx, id, func(q querier, r *TeamRecord) (*AuditEntry, error) {
		var n int64
		if err := queryOne(ctx, q, qTeamKeys, []any{id}, &n); err != nil {
			return nil, fmt.Errorf("count team keys: %w", err)
		}
		if n > 0 {
			return nil, &TeamInUseError{ID: id, Keys: int(n)}
		}
		r.Deleted, r.UpdatedAt = true, audit.Time
		return &audit, nil
	})
}

// writeTeam runs fn on the live team with this id inside a transaction
// that excludes every other writer, and writes the record back with the
// audit entry fn returns (nothing when it returns nil).
func (s *sqlStore) writeTeam(ctx context.Context, id string, fn func(querier, *TeamRecord) (*AuditEntry, error)) (TeamRecord, error) {
	return readModifyWrite(ctx, s.db, "write team",
		func(q querier) (TeamRecord, error) {
			recs, err := queryTeams(ctx, q, qTeamGet, id)
			if err != nil {
				return TeamRecord{}, fmt.Errorf("read team: %w", err)
			}
			if len(recs) == 0 || recs[0].Deleted {
				return TeamRecord{}, ErrTeamNotFound
			}
			return recs[0], nil
		},
		fn,
		func(q querier, r *TeamRecord, v int64) error {
			r.Version = v
			args, err := teamArgs(s.db, r)
			if err != nil {
				return err
			}
			if err := q.exec(ctx, qTeamUpdate, args...); err != nil {
				return fmt.Errorf("update team: %w", err)
			}
			return nil
		})
}

func queryTeams(ctx context.Context, q querier, query string, args ...any) ([]TeamRecord, error) {
	return queryRows[TeamRecord, teamRow](ctx, q, query, args...)
}

// teamRow is a row of teams as scanned.
type teamRow struct {
	rec                    TeamRecord
	models, tags, endUsers string
	created, up            dbTime
}

func (r *teamRow) dest() []any {
	t := &r.rec
	return []any{&t.Seq, &t.Version, &t.ID, &t.Name, &r.models, &t.RPM, &t.TPM, &t.MaxConcurrent, &t.BudgetUSD,
		&t.BudgetPeriod, &r.tags, &r.endUsers, &t.Deleted, &r.created, &r.up}
}

func (r *teamRow) record() (TeamRecord, error) {
	rec := r.rec
	for _, f := range []struct {
		src string
		dst any
	}{{r.models, &rec.Models}, {r.tags, &rec.Tags}, {r.endUsers, &rec.EndUserLimits}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return TeamRecord{}, fmt.Errorf("team %s: %w", rec.ID, err)
		}
	}
	rec.CreatedAt, rec.UpdatedAt = r.created.t, r.up.t
	in := rec.input()
	normalizeTeam(&in)
	rec.setInput(in)
	return rec, nil
}

// teamArgs returns the arguments of qTeamInsert and qTeamUpdate for rec.
func teamArgs(db backend, rec *TeamRecord) ([]any, error) {
	t := &rec.Team
	in := t.input()
	normalizeTeam(&in)
	var js [3]string
	for i, v := range []any{in.Models, in.Tags, in.EndUserLimits} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode team: %w", err)
		}
		js[i] = string(b)
	}
	return []any{rec.Version, t.ID, t.Name, js[0], t.RPM, t.TPM, t.MaxConcurrent, t.BudgetUSD, t.BudgetPeriod,
		js[1], js[2], rec.Deleted, db.timeArg(t.CreatedAt), db.timeArg(t.UpdatedAt)}, nil
}

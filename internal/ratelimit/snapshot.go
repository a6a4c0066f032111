package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Snapshot is a key's own view of its limits (GET /v1/key): its effective
// limits, what is left of them now, and its spend.
type Snapshot struct {
	// Requests and Tokens: Limit 0 when the key has no such limit.
	Requests Window
	Tokens   Window
	// MaxConcurrent is the key's concurrency limit (0: none); InFlight
	// the slots in use (counted only when it has a limit).
	MaxConcurrent int64
	InFlight      int64
	// SpendUSD is the spend in the budget period (in total when the key
	// has no budget).
	SpendUSD float64
	// BudgetUSD is 0 without a budget; then RemainingUSD is 0 and Period
	// "". ResetsAt is the end of the period, zero for total.
	BudgetUSD    float64
	RemainingUSD float64
	Period       string
	ResetsAt     time.Time
	// Shared reports whether the numbers come from Redis (shared by every
	// instance) rather than this instance's memory.
	Shared bool
}

// Snapshot returns k's current state without consuming anything. With
// Redis it is one round trip, bounded by ctx and limits.redis.timeout;
// when Redis cannot be reached it falls back to this instance's view.
func (l *Limiter) Snapshot(ctx context.Context, k *Key) Snapshot {
	rpm, tpm, maxc := l.keyLimits(k)
	return l.snapshot(ctx, scope{kind: scopeKey, id: k.ID}, k.ID, rpm, tpm, maxc, k.BudgetUSD, k.BudgetPeriod)
}

// SnapshotTeam is Snapshot for a team: its shared limits, what is left of
// them, and its spend.
func (l *Limiter) SnapshotTeam(ctx context.Context, tm *Team) Snapshot {
	return l.snapshot(ctx, scope{kind: scopeTeam, id: tm.ID}, tm.SpendID, max(tm.RPM, 0), max(tm.TPM, 0),
		max(tm.MaxConcurrent, 0), tm.BudgetUSD, tm.BudgetPeriod)
}

func (l *Limiter) snapshot(ctx context.Context, sc scope, spendID string, rpm, tpm, maxc int64, budget float64, period string) Snapshot {
	now := l.now()
	s := Snapshot{MaxConcurrent: maxc, BudgetUSD: max(budget, 0)}
	per := parsePeriod(period)
	local := l.book.spend(spendID, per, now)
	s.SpendUSD = local
	if l.rds == nil || !l.rds.up() || l.rds.peek(ctx, sc, rpm, tpm, per, local, &s) != nil {
		l.memPeek(sc, rpm, tpm, maxc, now, &s)
	}
	if s.BudgetUSD > 0 {
		s.Period = per.String()
		if s.RemainingUSD = s.BudgetUSD - s.SpendUSD; s.RemainingUSD < budgetEpsilon {
			s.RemainingUSD = 0
		}
		s.ResetsAt = per.end(now)
	}
	return s
}

func (l *Limiter) memPeek(sc scope, rpm, tpm, maxc int64, now time.Time, s *Snapshot) {
	h := l.mem.hashOf(sc)
	sh := &l.mem.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.lookup(sc, h)
	if e == nil {
		e = &entry{}
	}
	ns := now.UnixNano()
	if rpm > 0 {
		r := e.req.peek(ns, clampLimit(rpm))
		s.Requests = Window{Limit: rpm, Remaining: r.remaining, Reset: r.reset}
	}
	if tpm > 0 {
		r := e.tok.peek(ns, clampLimit(tpm))
		s.Tokens = Window{Limit: tpm, Remaining: r.remaining, Reset: r.reset}
	}
	if maxc > 0 {
		s.InFlight = e.conc
	}
}

// peek fills s from Redis.
func (r *redisBackend) peek(ctx context.Context, sc scope, rpm, tpm int64, per period, local float64, s *Snapshot) error {
	tag := r.tag(sc)
	keys := []string{tag + ":c", r.spendKey(tag, per, r.now())}
	args := []any{periodMicros, 0}
	var lims []int64
	for _, b := range []struct {
		which string
		limit int64
	}{{"r", rpm}, {"t", tpm}} {
		if b.limit > 0 {
			keys = append(keys, r.bucketKey(sc, b.which))
			args = append(args, clampLimit(b.limit))
			lims = append(lims, b.limit)
		}
	}
	args[1] = len(lims)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := peekScript.Run(ctx, r.client, keys, args...).Slice()
	if err != nil {
		r.failed(err)
		return fmt.Errorf("ratelimit: redis peek: %w", err)
	}
	if len(res) != 2+2*len(lims) {
		return errors.New("ratelimit: redis peek: unexpected reply")
	}
	r.ok()
	if s.MaxConcurrent > 0 {
		s.InFlight = toInt(res[0])
	}
	if spend, err := strconv.ParseFloat(toString(res[1]), 64); err == nil && spend > local {
		s.SpendUSD = spend
	}
	j := 0
	if rpm > 0 {
		s.Requests = Window{Limit: rpm, Remaining: toInt(res[2]), Reset: time.Duration(toInt(res[3])) * time.Microsecond}
		j++
	}
	if tpm > 0 {
		s.Tokens = Window{Limit: tpm, Remaining: toInt(res[2+2*j]), Reset: time.Duration(toInt(res[3+2*j])) * time.Microsecond}
	}
	s.Shared = true
	return nil
}

// Flush waits until every settlement made before it reached Redis (or is
// kept for when Redis is back) and writes local spend to the spend store.
// Tests and shutdown use it; the request path never needs it.
func (l *Limiter) Flush(ctx context.Context) error {
	var errs []error
	if l.rds != nil {
		errs = append(errs, l.rds.flush(ctx))
	}
	if l.book.store != nil {
		errs = append(errs, l.book.sync(ctx, l.now()))
	}
	return errors.Join(errs...)
}

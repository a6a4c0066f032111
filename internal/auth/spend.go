package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Spend is stored per key per UTC day (api_key_spend); a budget period's
// spend is the sum of its days, so that changing a key's budget_period
// loses nothing. The limiter (internal/ratelimit) adds to it in batches
// off the request path and reloads the sums; the key objects the Service
// returns carry the current period's sum as spend_usd.

// SpendSums is a key's spend in each budget period.
type SpendSums struct {
	Total, Month, Day float64
}

const (
	qAddSpend = `INSERT INTO api_key_spend (key_id, day, usd) VALUES ($1, $2, $3)
ON CONFLICT (key_id, day) DO UPDATE SET usd = api_key_spend.usd + excluded.usd`
	qSpendSince = `SELECT key_id, SUM(usd) FROM api_key_spend WHERE day >= $1 GROUP BY key_id`
)

// dayNumber numbers UTC days since the Unix epoch.
func dayNumber(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// periodStarts returns the day numbers on which now's UTC month and day
// start.
func periodStarts(now time.Time) (month, day int64) {
	now = now.UTC()
	y, m, _ := now.Date()
	return dayNumber(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)), dayNumber(now)
}

func (s *sqlStore) AddSpend(ctx context.Context, id string, day int64, usd float64) error {
	if err := s.db.exec(ctx, qAddSpend, id, day, usd); err != nil {
		return fmt.Errorf("auth store: add spend: %w", err)
	}
	return nil
}

func (s *sqlStore) SpendSince(ctx context.Context, day int64) (map[string]float64, error) {
	rs, err := s.db.query(ctx, qSpendSince, day)
	if err != nil {
		return nil, fmt.Errorf("auth store: read spend: %w", err)
	}
	defer rs.Close()
	out := map[string]float64{}
	for rs.Next() {
		var id string
		var usd float64
		if err := rs.Scan(&id, &usd); err != nil {
			return nil, fmt.Errorf("auth store: read spend: %w", err)
		}
		out[id] = usd
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("auth store: read spend: %w", err)
	}
	return out, nil
}

func (s *sqlStore) SpendOf(ctx context.Context, ids []string, month, day int64) (map[string]SpendSums, error) {
	out := map[string]SpendSums{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{month, day}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+3)
	}
	q := `SELECT key_id, SUM(usd), SUM(CASE WHEN day >= $1 THEN usd ELSE 0 END), SUM(CASE WHEN day >= $2 THEN usd ELSE 0 END)
FROM api_key_spend WHERE key_id IN (` + strings.Join(marks, ", ") + `) GROUP BY key_id`
	rs, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("auth store: read spend: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var v SpendSums
		if err := rs.Scan(&id, &v.Total, &v.Month, &v.Day); err != nil {
			return nil, fmt.Errorf("auth store: read spend: %w", err)
		}
		out[id] = v
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("auth store: read spend: %w", err)
	}
	return out, nil
}

// AddSpend adds usd to key id's spend on the UTC day of at. Any key id is
// accepted (static keys, and keys revoked since the request). It is meant
// for the limiter's batched writes, never the request path. ErrNotReady
// before the store has loaded.
func (s *Service) AddSpend(ctx context.Context, id string, usd float64, at time.Time) error {
	if id == "" || usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return errors.New("auth: add spend: want a key id and a non-negative amount")
	}
	if err := s.checkReady(); err != nil {
		return err
	}
	if usd == 0 {
		return nil
	}
	return s.store.AddSpend(ctx, id, dayNumber(at), usd)
}

// SpendSince returns every key's spend on the UTC days from since's day on
// (all days for the zero time), by key id. ErrNotReady before the store
// has loaded.
func (s *Service) SpendSince(ctx context.Context, since time.Time) (map[string]float64, error) {
	if err := s.checkReady(); err != nil {
		return nil, err
	}
	day := int64(math.MinInt64)
	if !since.IsZero() {
		day = dayNumber(since)
	}
	return s.store.SpendSince(ctx, day)
}

// withSpend sets each key's SpendUSD to its spend in its current budget
// period (in total when it has none).
func (s *Service) withSpend(ctx context.Context, keys []Key) error {
	if len(keys) == 0 {
		return nil
	}
	ids := make([]string, len(keys))
	for i := range keys {
		ids[i] = keys[i].ID
	}
	month, day := periodStarts(s.now())
	sums, err := s.store.SpendOf(ctx, ids, month, day)
	if err != nil {
		return err
	}
	for i := range keys {
		v := sums[keys[i].ID]
		switch keys[i].BudgetPeriod {
		case PeriodDay:
			keys[i].SpendUSD = v.Day
		case PeriodMonth:
			keys[i].SpendUSD = v.Month
		default:
			keys[i].SpendUSD = v.Total
		}
	}
	return nil
}

package harness

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Rows maps a request id to the statuses of its rows in the request log
// (more than one: duplicated).
type Rows map[string][]int

// Count is the number of rows.
func (r Rows) Count() int {
	n := 0
	for _, s := range r {
		n += len(s)
	}
	return n
}

// QueryRows reads the request_logs rows whose request id starts with
// prefix from the PostgreSQL database at url.
func QueryRows(ctx context.Context, url, prefix string) (Rows, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("harness: request logs: %w", err)
	}
	defer c.Close(context.Background())
	rs, err := c.Query(ctx, `SELECT request_id, status FROM request_logs WHERE left(request_id, length($1)) = $1`, prefix)
	if err != nil {
		return nil, fmt.Errorf("harness: request logs: %w", err)
	}
	defer rs.Close()
	rows := Rows{}
	for rs.Next() {
		var id string
		var status int
		if err := rs.Scan(&id, &status); err != nil {
			return nil, fmt.Errorf("harness: request logs: %w", err)
		}
		rows[id] = append(rows[id], status)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("harness: request logs: %w", err)
	}
	return rows, nil
}

// Accounting compares what clients were answered with the request log.
type Accounting struct {
	// Complete: results the client saw whole (or left on purpose); the
	// gateway settled each, so each must have exactly one row.
	Complete int `json:"complete"`
	// Incomplete: transport failures (a connection refused or cut); a row
	// may or may not exist.
	Incomplete int `json:"incomplete"`
	// Rows found for the results' ids (and any other id with the prefix).
	Rows int `json:"rows"`
	// Lost: complete results without a row.
	Lost int `json:"lost"`
	// Duplicated: rows beyond the first of one request id.
	Duplicated int `json:"duplicated"`
	// Unanswered: rows of incomplete results (the gateway logged a
	// request whose answer never reached the client: it was in flight).
	Unanswered int `json:"rows_of_incomplete"`
	// Unknown: rows whose id no result has.
	Unknown int `json:"rows_unknown"`
	// StatusMismatch: complete results not cancelled by the client whose
	// row holds another status than the client saw.
	StatusMismatch int `json:"status_mismatch"`
	// Cancelled: results the client left on purpose; Cancelled499: of
	// those, rows with status 499.
	Cancelled    int `json:"cancelled"`
	Cancelled499 int `json:"cancelled_499"`

	// LostResults are the lost results, in the order given.
	LostResults []Result `json:"-"`
}

// Account compares results with rows.
func Account(results []Result, rows Rows) Accounting {
	a := Accounting{Rows: rows.Count()}
	seen := make(map[string]bool, len(results))
	for _, r := range results {
		seen[r.ID] = true
		st := rows[r.ID]
		if len(st) > 1 {
			a.Duplicated += len(st) - 1
		}
		if !r.Complete() {
			a.Incomplete++
			if len(st) > 0 {
				a.Unanswered++
			}
			continue
		}
		a.Complete++
		if r.Cancelled {
			a.Cancelled++
		}
		if len(st) == 0 {
			a.Lost++
			a.LostResults = append(a.LostResults, r)
			continue
		}
		switch {
		case r.Cancelled:
			if st[0] == 499 {
				a.Cancelled499++
			}
		case st[0] != r.Status:
			a.StatusMismatch++
		}
	}
	for id, st := range rows {
		if !seen[id] {
			a.Unknown += len(st)
		}
	}
	return a
}

// ByTarget splits results by target index.
func ByTarget(results []Result, target int) []Result {
	return slices.DeleteFunc(slices.Clone(results), func(r Result) bool { return r.Target != target })
}

// Outcomes counts results by Outcome.
func Outcomes(results []Result) map[string]int {
	m := map[string]int{}
	for _, r := range results {
		m[r.Outcome()]++
	}
	return m
}

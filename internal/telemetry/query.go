package telemetry

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"time"
)

// Page sizes of Logs.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Group-by values of UsageQuery.
const (
	GroupKey     = "key"
	GroupTeam    = "team"
	GroupModel   = "model"
	GroupEndUser = "end_user"
	GroupDay     = "day"
)

// Groups are the group-by values, in the order of a usage row's columns.
var Groups = []string{GroupKey, GroupTeam, GroupModel, GroupEndUser, GroupDay}

// LogQuery selects records for GET /admin/v1/logs. Empty fields match
// everything; Since is inclusive and Until exclusive.
type LogQuery struct {
	RequestID string
	KeyID     string
	Model     string
	EndUser   string
	// Team matches the row's team: the key's team id, or the free-text
	// team label of a key that has no team id.
	Team string
	// Status matches one HTTP status; 0 = any.
	Status int
	Since  time.Time
	Until  time.Time
	// Limit is the page size: 0 = DefaultPageSize, more than MaxPageSize
	// is MaxPageSize, negative is an error.
	Limit int
	// Cursor is "" for the first page, else a NextCursor from the previous
	// page of the same query.
	Cursor string
}

// LogPage is one page of records, newest first (by time, then request_id).
type LogPage struct {
	Data []Record `json:"data"`
	// NextCursor continues after the last record; "" on the last page.
	NextCursor string `json:"next_cursor"`
}

// UsageQuery selects what GET /admin/v1/usage sums: the records with
// Since <= time < Until (a zero bound is open), grouped by any
// combination of Groups (day is the UTC day); no group gives one total
// row.
type UsageQuery struct {
	Since   time.Time
	Until   time.Time
	GroupBy []string
}

// UsageRow is the sums of one group. Errors counts statuses >= 400 (499,
// the client going away, included). Rows come ordered by their group
// values. A group column the query did not ask for is empty, and so is
// one whose value is empty (no team, no end user): both are left out of
// the JSON.
type UsageRow struct {
	KeyID            string  `json:"key_id,omitempty"`
	Team             string  `json:"team,omitempty"`
	Model            string  `json:"model,omitempty"`
	EndUser          string  `json:"end_user,omitempty"`
	Day              string  `json:"day,omitempty"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CachedTokens     int64   `json:"cached_tokens"`
	CacheWriteTokens int64   `json:"cache_write_tokens"`
	ReasoningTokens  int64   `json:"reasoning_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// ErrInvalidQuery is wrapped by every *QueryError.
var ErrInvalidQuery = errors.New("invalid query")

// QueryError is a problem with one parameter of a query (HTTP 400). Param
// is the query parameter's name (limit, cursor, until, group_by, status).
type QueryError struct {
	Param string
	Msg   string
}

func (e *QueryError) Error() string { return e.Param + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalidQuery) hold.
func (e *QueryError) Unwrap() error { return ErrInvalidQuery }

// cursor is a keyset position: the (time, request_id) of the last record
// of a page.
type cursor struct {
	time time.Time
	id   string
}

// encodeCursor is base64url(varint seconds | uvarint nanoseconds | id).
func encodeCursor(t time.Time, id string) string {
	b := binary.AppendVarint(nil, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	b = append(b, id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = &QueryError{Param: "cursor", Msg: "invalid cursor: pass next_cursor from the previous page"}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor
	}
	sec, n := binary.Varint(b)
	if n <= 0 {
		return cursor{}, errBadCursor
	}
	b = b[n:]
	nsec, n := binary.Uvarint(b)
	if n <= 0 || nsec >= uint64(time.Second) {
		return cursor{}, errBadCursor
	}
	// Bound the seconds to what both stores can hold (years 1..9999).
	if sec < -62135596800 || sec > 253402300799 || len(b[n:]) == 0 {
		return cursor{}, errBadCursor
	}
	return cursor{time: time.Unix(sec, int64(nsec)).UTC(), id: string(b[n:])}, nil
}

// logPlan is a validated LogQuery.
type logPlan struct {
	q     LogQuery
	limit int
	after *cursor
}

func planLogs(q LogQuery) (logPlan, error) {
	p := logPlan{q: q, limit: q.Limit}
	switch {
	case q.Limit < 0:
		return p, &QueryError{Param: "limit", Msg: "must be positive"}
	case q.Limit == 0:
		p.limit = DefaultPageSize
	case q.Limit > MaxPageSize:
		p.limit = MaxPageSize
	}
	if q.Status < 0 || q.Status > 999 {
		return p, &QueryError{Param: "status", Msg: "must be an HTTP status (100-599)"}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return p, &QueryError{Param: "until", Msg: "must not be before since"}
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return p, err
		}
		p.after = &c
	}
	return p, nil
}

// page cuts rows (fetched with limit+1) into a page.
func (p logPlan) page(rows []Record) LogPage {
	if rows == nil {
		rows = []Record{}
	}
	pg := LogPage{Data: rows}
	if len(rows) > p.limit {
		pg.Data = rows[:p.limit]
		last := pg.Data[p.limit-1]
		pg.NextCursor = encodeCursor(last.Time, last.RequestID)
	}
	return pg
}

// usagePlan is a validated UsageQuery: which groups, in canonical order.
type usagePlan struct {
	q UsageQuery
	// group[i] is set when Groups[i] is asked for.
	group [len(groupCols)]bool
	// state is how far the rollups went when the query started (read in
	// the query's snapshot: PostgreSQL reads both in one transaction,
	// SQLite checks that spans_from did not move meanwhile).
	state rollupState
	// raw answers from request_logs alone, never from the rollups (the
	// tests compare both answers).
	raw bool
}

func planUsage(q UsageQuery) (usagePlan, error) {
	p := usagePlan{q: q}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return p, &QueryError{Param: "until", Msg: "must not be before since"}
	}
	for _, g := range q.GroupBy {
		i := slices.Index(Groups, g)
		if i < 0 {
			return p, &QueryError{Param: "group_by", Msg: "unknown group " + quoteShort(g) + ": want key, team, model, end_user or day"}
		}
		p.group[i] = true
	}
	return p, nil
}

// rollupSpan is how a usage query splits [Since, Until): the whole UTC
// days [lo, hi) that are finalized come from the rollups, the rest (the
// partial first and last days, and days not finalized) from
// request_logs.
type rollupSpan struct {
	ok bool // false: no finalized whole day in range; read request_logs alone
	// lo and hi are UTC day numbers; loOpen means no lower bound.
	lo, hi int64
	loOpen bool
	// table is the daily rollup table, read for days; spans are the
	// coarse buckets read from spanTable, when the groups have one
	// (span.go). Without one, days is [lo, hi).
	table     rollupTable
	days      []dayRange
	spanTable rollupTable
	spans     []spanRange
	// raw are the [from, to) ranges read from request_logs; a zero time
	// is an open bound.
	raw [][2]time.Time
}

// Day numbers the rollups can be asked about: years 1 to 9999, where a
// day's "YYYY-MM-DD" sorts as its number does.
var (
	minRollupDay = dayOf(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))
	maxRollupDay = dayOf(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
)

func (p usagePlan) span() rollupSpan {
	if p.raw || !p.state.ok {
		return rollupSpan{}
	}
	s := rollupSpan{loOpen: p.q.Since.IsZero(), hi: p.state.finalized}
	if !s.loOpen {
		s.lo = dayOf(p.q.Since)
		if dayStart(s.lo).Before(p.q.Since) {
			s.lo++
		}
	}
	if !p.q.Until.IsZero() {
		s.hi = min(s.hi, dayOf(p.q.Until))
	}
	if (!s.loOpen && (s.lo >= s.hi || s.lo < minRollupDay)) || s.hi > maxRollupDay {
		return rollupSpan{}
	}
	if !s.loOpen && p.q.Since.Before(dayStart(s.lo)) {
		s.raw = append(s.raw, [2]time.Time{p.q.Since, dayStart(s.lo)})
	}
	if p.q.Until.IsZero() || dayStart(s.hi).Before(p.q.Until) {
		s.raw = append(s.raw, [2]time.Time{dayStart(s.hi), p.q.Until})
	}
	s.ok = true
	s.table = tableFor(p)
	var ok bool
	if s.spanTable, ok = spanFor(p); ok {
		hi := s.hi
		var open []spanRange
		if o := openStart(s.hi); s.hi == p.state.finalized && o < s.hi && o >= p.state.spansFrom && (s.loOpen || o >= s.lo) {
			// The range ends where the rollups do: the open bucket
			// holds its last days.
			hi, open = o, []spanRange{{days: openSpan, from: o, to: o + 1}}
		}
		s.days, s.spans = cover(s.lo, hi, s.loOpen, p.state.spansFrom)
		s.spans = append(s.spans, open...)
	} else {
		s.days = []dayRange{{from: s.lo, to: s.hi, open: s.loOpen}}
	}
	return s
}

// quoteShort quotes a client value for an error message, cut to 40 bytes.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	b := slices.Grow([]byte{}, len(s)+2)
	b = append(b, '"')
	for _, c := range []byte(s) {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}

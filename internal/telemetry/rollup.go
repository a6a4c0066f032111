package telemetry

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Usage rollups (the 0002 migrations; doc.go, "Usage rollups"): four
// tables hold per UTC day the sums GET /admin/v1/usage returns, each per
// a set of groups, so that a query reads the smallest one that has its
// groups. A day is rolled up once it has ended ("finalized": every day
// before usage_rollup_state.finalized_before), in one transaction that
// sums its rows; a record written later for a finalized day (a spool
// replay, a late batch) is added to the four tables in the transaction
// that stores it, and only if it was inserted (a duplicate adds nothing).
// So a finalized day's rollup rows always sum exactly its rows; days not
// finalized are read from request_logs. Two of the tables have a coarse
// tier too, buckets of 2 to 64 days (span.go, the 0003 migrations), kept
// the same way.

// rollupTable is one rollup table and the groups it keeps besides day.
type rollupTable struct {
	name string
	dims []int // indexes of groupCols, in column order
	// span: a coarse-tier table (span.go), keyed by (days, day), whose
	// daily counterpart is rollupTables[base].
	span bool
	base int
}

// rollupTables go from the smallest to the largest; a query reads the
// first whose dims hold its groups (tableFor).
var rollupTables = []rollupTable{
	{name: "usage_daily_model", dims: []int{groupTeam, groupModel}},
	{name: "usage_daily_key", dims: []int{groupKey, groupTeam}},
	{name: "usage_daily_key_model", dims: []int{groupKey, groupTeam, groupModel}},
	{name: "usage_daily_end_user", dims: []int{groupKey, groupTeam, groupModel, groupEndUser}},
}

// tableFor is the smallest rollup table that keeps the groups of p.
func tableFor(p usagePlan) rollupTable {
	for _, t := range rollupTables {
		if t.keeps(p) {
			return t
		}
	}
	return rollupTables[len(rollupTables)-1]
}

// keeps reports whether t has every group of p but day.
func (t rollupTable) keeps(p usagePlan) bool {
	for i, on := range p.group {
		if on && i != groupDay && !slices.Contains(t.dims, i) {
			return false
		}
	}
	return true
}

// keyCols are t's columns before the groups: the day, or a span table's
// width and first day.
func (t rollupTable) keyCols() string {
	if t.span {
		return "days, day"
	}
	return "day"
}

// dimCols are t's group columns, comma-separated.
func (t rollupTable) dimCols() string {
	cols := make([]string, len(t.dims))
	for i, d := range t.dims {
		cols[i] = groupCols[d]
	}
	return strings.Join(cols, ", ")
}

// rollupColumns are the rollup tables' columns after the group ones, and
// rawTerms (sqlbuild.go) what each sums over request_logs.
var rollupColumns = []string{"requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens",
	"cache_write_tokens", "reasoning_tokens", "cost_usd"}

// insertColumns is the column list of an INSERT into t.
func (t rollupTable) insertColumns() string {
	return "(" + t.keyCols() + ", " + t.dimCols() + ", " + strings.Join(rollupColumns, ", ") + ")"
}

// upsert is the UPSERT that adds rows to t: INSERT head, then ON CONFLICT
// on the group adding each sum to the stored one.
func (t rollupTable) upsert(head string) string {
	set := make([]string, len(rollupColumns))
	for i, c := range rollupColumns {
		set[i] = c + " = " + t.name + "." + c + " + excluded." + c
	}
	return head + " ON CONFLICT (" + t.keyCols() + ", " + t.dimCols() + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// sumSQL sums rawTerms (over request_logs) or rollupColumns (over a
// rollup table) for an INSERT ... SELECT.
func sumSQL(d dialect, raw bool) string {
	terms := rollupColumns
	if raw {
		terms = rawTerms
	}
	out := make([]string, len(terms))
	for i, t := range terms {
		switch {
		case t == "1":
			out[i] = "count(*)"
		case i == len(terms)-1: // cost, a float
			out[i] = "sum(" + t + ")"
		default:
			out[i] = d.sum + "(" + t + ")"
		}
	}
	return strings.Join(out, ", ")
}

// rollupFill is the SQL that sums the rows of one day into every rollup
// table (none of which may hold that day yet): usage_daily_end_user from
// request_logs, the others from it. A statement's parameters are, in
// order, the day (the rollups' type) and, for the first, the start and
// end of the day (request_logs' time type).
func rollupFill(d dialect) []string {
	last := rollupTables[len(rollupTables)-1]
	out := []string{"INSERT INTO " + last.name + " " + last.insertColumns() + " SELECT " + d.param(1) + d.dayCast + ", " +
		last.dimCols() + ", " + sumSQL(d, true) + " FROM request_logs WHERE time >= " + d.param(2) +
		" AND time < " + d.param(3) + " GROUP BY " + last.dimCols()}
	for _, t := range rollupTables[:len(rollupTables)-1] {
		out = append(out, "INSERT INTO "+t.name+" "+t.insertColumns()+" SELECT day, "+t.dimCols()+", "+sumSQL(d, false)+
			" FROM "+last.name+" WHERE day = "+d.param(1)+" GROUP BY day, "+t.dimCols())
	}
	return out
}

// rollupKey is one group of the records a write adds.
type rollupKey struct {
	day                         int64 // UTC day number (dayOf); a bucket's first day
	days                        int64 // a bucket's width; 0 in a daily table
	keyID, team, model, endUser string
}

// rollupSums are the sums of one rollup row.
type rollupSums struct {
	requests, errors           int64
	prompt, completion, cached int64
	cacheWrite, reasoning      int64
	cost                       float64
}

func (s *rollupSums) addRecord(r *Record) {
	s.requests++
	if r.Status >= 400 {
		s.errors++
	}
	s.prompt += r.PromptTokens
	s.completion += r.CompletionTokens
	s.cached += r.CachedTokens
	s.cacheWrite += r.CacheWriteTokens
	s.reasoning += r.ReasoningTokens
	s.cost += r.CostUSD
}

func (s *rollupSums) add(o *rollupSums) {
	s.requests += o.requests
	s.errors += o.errors
	s.prompt += o.prompt
	s.completion += o.completion
	s.cached += o.cached
	s.cacheWrite += o.cacheWrite
	s.reasoning += o.reasoning
	s.cost += o.cost
}

// rollupRow is one row to add to a rollup table; the groups the table
// does not keep are "".
type rollupRow struct {
	rollupKey
	rollupSums
}

// group is the value of groupCols[i].
func (r *rollupRow) group(i int) string {
	return [...]string{r.keyID, r.team, r.model, r.endUser}[i]
}

// rollupState is usage_rollup_state: how far the rollups go.
type rollupState struct {
	// finalized is the first day not rolled up; ok false: none is.
	finalized int64
	ok        bool
	// spansFrom is the first day a bucket of the coarse tier may start
	// on (retention dropped those before); noSpansFrom: any.
	spansFrom int64
}

// rollup is the sums, per group, of the records a write inserted for
// finalized days (those before finalized; the others are not rolled up
// yet).
type rollup struct {
	// text makes a group value what the sink stores (PostgreSQL drops NUL
	// bytes and replaces invalid UTF-8), so that a rollup row's group is
	// its rows' group; nil keeps values as they are.
	text  func(string) string
	state rollupState
	sums  map[rollupKey]*rollupSums
}

func newRollup(text func(string) string, st rollupState) *rollup {
	return &rollup{text: text, state: st}
}

// wants reports whether a record of this time must be added.
func (r *rollup) wants(day int64) bool { return r.state.ok && day < r.state.finalized }

// wantsAny reports whether any record of batch is of a rolled-up day.
func (r *rollup) wantsAny(batch []Record) bool {
	for i := range batch {
		if r.wants(dayOf(batch[i].Time)) {
			return true
		}
	}
	return false
}

// add counts one inserted record, if its day is finalized.
func (r *rollup) add(rec *Record) {
	day := dayOf(rec.Time)
	if !r.wants(day) {
		return
	}
	k := rollupKey{day: day, keyID: rec.KeyID, team: rec.Team, model: rec.Model, endUser: rec.EndUser}
	if r.text != nil {
		k.keyID, k.team, k.model, k.endUser = r.text(k.keyID), r.text(k.team), r.text(k.model), r.text(k.endUser)
	}
	if r.sums == nil {
		r.sums = map[rollupKey]*rollupSums{}
	}
	s := r.sums[k]
	if s == nil {
		s = &rollupSums{}
		r.sums[k] = s
	}
	s.addRecord(rec)
}

func (r *rollup) empty() bool { return len(r.sums) == 0 }

// rows returns the rows to add to t, sorted by key and group: writers
// that add to the same rows lock them in one order, so they wait for each
// other but never deadlock. A span table gets a row per complete bucket
// that holds a record's day (one per width at most).
func (r *rollup) rows(t rollupTable) []rollupRow {
	m := map[rollupKey]*rollupSums{}
	add := func(p rollupKey, s *rollupSums) {
		if sum := m[p]; sum != nil {
			sum.add(s)
		} else {
			c := *s
			m[p] = &c
		}
	}
	for k, s := range r.sums {
		p := rollupKey{day: k.day}
		for _, d := range t.dims {
			switch d {
			case groupKey:
				p.keyID = k.keyID
			case groupTeam:
				p.team = k.team
			case groupModel:
				p.model = k.model
			case groupEndUser:
				p.endUser = k.endUser
			}
		}
		if !t.span {
			add(p, s)
			continue
		}
		for _, w := range spanWidths {
			p.days, p.day = w, alignDay(k.day, w)
			if p.day+w <= r.state.finalized && p.day >= r.state.spansFrom {
				add(p, s)
			}
		}
		if o := openStart(r.state.finalized); o <= k.day && o >= r.state.spansFrom {
			p.days, p.day = openSpan, o
			add(p, s)
		}
	}
	out := make([]rollupRow, 0, len(m))
	for k, s := range m {
		out = append(out, rollupRow{k, *s})
	}
	slices.SortFunc(out, func(a, b rollupRow) int {
		return cmp.Or(cmp.Compare(a.days, b.days), cmp.Compare(a.day, b.day), cmp.Compare(a.keyID, b.keyID),
			cmp.Compare(a.team, b.team), cmp.Compare(a.model, b.model), cmp.Compare(a.endUser, b.endUser))
	})
	return out
}

// roller rolls up ended days in the background for a sink (its Finalize),
// one run at a time: a write calls kick, which starts a run when a day
// has ended since the last successful one, and retries a failed run a
// minute later. A run can take a while (it reads a whole day's rows), so
// it never holds up the write that kicked it.
type roller struct {
	run func(ctx context.Context, now time.Time) (int, error)
	log *slog.Logger

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running bool
	done    int64     // every day before this is rolled up
	retry   time.Time // after a failure, no run before this
}

func newRoller(run func(context.Context, time.Time) (int, error), log *slog.Logger) *roller {
	ctx, cancel := context.WithCancel(context.Background())
	return &roller{run: run, log: log, ctx: ctx, cancel: cancel, done: math.MinInt64}
}

// kick starts a run if one is due at now.
func (r *roller) kick(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running || dayOf(now) <= r.done || now.Before(r.retry) || r.ctx.Err() != nil {
		return
	}
	r.running = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_, err := r.run(r.ctx, now)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.running = false
		if err != nil {
			r.retry = now.Add(time.Minute)
			if r.ctx.Err() == nil {
				r.log.Warn("telemetry: usage rollup failed; retrying in a minute (usage queries read the rows meanwhile)", "error", err)
			}
			return
		}
		r.done = dayOf(now)
	}()
}

// close stops a run in progress (its transaction rolls back) and waits
// for it.
func (r *roller) close() {
	r.cancel()
	r.wg.Wait()
}

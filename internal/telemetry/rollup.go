package telemetry

import (
	"cmp"
	"slices"
	"strings"
)

// The usage rollups (usage_daily, usage_daily_end_user; see the 0002
// migrations) hold per UTC day the sums GET /admin/v1/usage returns. A
// sink adds a batch's sums to them in the transaction that stores the
// batch's rows, counting only the rows it actually inserted, so a day's
// rollup always equals the sums of that day's rows; usage queries read
// whole days from them (usageSQL). usage_daily has no end user, so that
// the usual queries read one row per day, key, team and model however
// many end users there are.

// rollupKey is one rollup row's group. endUser is "" in usage_daily.
type rollupKey struct {
	day                         int64 // UTC day number (dayOf)
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

// rollupRow is one row to add to a rollup.
type rollupRow struct {
	rollupKey
	rollupSums
}

// rollup is the sums of the records a write inserted, per group of each
// rollup table.
type rollup struct {
	// text makes a group value what the sink stores (PostgreSQL drops NUL
	// bytes and replaces invalid UTF-8), so that a rollup row's group is
	// its rows' group; nil keeps values as they are.
	text    func(string) string
	endUser map[rollupKey]*rollupSums
}

func newRollup(text func(string) string) *rollup {
	return &rollup{text: text, endUser: map[rollupKey]*rollupSums{}}
}

// add counts one inserted record.
func (r *rollup) add(rec *Record) {
	k := rollupKey{day: dayOf(rec.Time), keyID: rec.KeyID, team: rec.Team, model: rec.Model, endUser: rec.EndUser}
	if r.text != nil {
		k.keyID, k.team, k.model, k.endUser = r.text(k.keyID), r.text(k.team), r.text(k.model), r.text(k.endUser)
	}
	s := r.endUser[k]
	if s == nil {
		s = &rollupSums{}
		r.endUser[k] = s
	}
	s.addRecord(rec)
}

func (r *rollup) empty() bool { return len(r.endUser) == 0 }

// rows returns the rows to add to usage_daily_end_user and usage_daily,
// each sorted by group: writers that add to the same rows lock them in one
// order, so they wait for each other but never deadlock.
func (r *rollup) rows() (byEndUser, byKey []rollupRow) {
	byEndUser = make([]rollupRow, 0, len(r.endUser))
	keys := map[rollupKey]*rollupSums{}
	for k, s := range r.endUser {
		byEndUser = append(byEndUser, rollupRow{k, *s})
		k.endUser = ""
		if t := keys[k]; t != nil {
			t.add(s)
		} else {
			c := *s
			keys[k] = &c
		}
	}
	byKey = make([]rollupRow, 0, len(keys))
	for k, s := range keys {
		byKey = append(byKey, rollupRow{k, *s})
	}
	slices.SortFunc(byEndUser, compareRollupRows)
	slices.SortFunc(byKey, compareRollupRows)
	return byEndUser, byKey
}

func compareRollupRows(a, b rollupRow) int {
	return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.keyID, b.keyID), cmp.Compare(a.team, b.team),
		cmp.Compare(a.model, b.model), cmp.Compare(a.endUser, b.endUser))
}

// rollupColumns are the rollup tables' columns after the group ones.
var rollupColumns = []string{"requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens",
	"cache_write_tokens", "reasoning_tokens", "cost_usd"}

// rollupUpsert is the UPSERT that adds rows to table: INSERT head, then
// ON CONFLICT on the group adding each sum to the stored one.
func rollupUpsert(table, head string, endUser bool) string {
	conflict := "day, key_id, team, model"
	if endUser {
		conflict += ", end_user"
	}
	set := make([]string, len(rollupColumns))
	for i, c := range rollupColumns {
		set[i] = c + " = " + table + "." + c + " + excluded." + c
	}
	return head + " ON CONFLICT (" + conflict + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// rollupInsertColumns is the column list of an INSERT into a rollup.
func rollupInsertColumns(endUser bool) string {
	groups := "day, key_id, team, model"
	if endUser {
		groups += ", end_user"
	}
	return "(" + groups + ", " + strings.Join(rollupColumns, ", ") + ")"
}

package telemetry

import (
	"context"
	"math"
	"strconv"
)

// The coarse tier of the usage rollups (the 0003 migrations). Two daily
// tables do not shrink much when a day's rows are summed: one row per key
// and model a day, one per key, model and end user a day. Over 90 days a
// query by key and model, or by end user, would read nearly as many rollup
// rows as there are log rows in the worst case (every key uses every
// model every day; each end user makes a request or two a day). So those
// two are summed again over aligned buckets of days — 2, 4, 8, 16, 32 and
// 64 days, each starting on a day number (days since 1970-01-01) that is
// a multiple of its width — into usage_span_key_model (key, team, model)
// and usage_span_end_user (end user alone: a query by end user and
// nothing else, which is what a dashboard asks, reads far fewer rows than
// from (key, team, model, end user)). A query's whole finalized days
// split into at most two buckets of each width (plus, for ranges longer
// than 128 days, a run of 64-day buckets) and at most two single days
// from the daily table (cover), so a 90-day query reads some ten buckets
// instead of 90 days.
//
// A bucket is built once all its days are rolled up, in the transaction
// that moves finalized_before past its last day, from the two buckets of
// half its width (a 2-day bucket from its two days in the daily table).
// Every bucket whose days are all before finalized_before and on or after
// usage_rollup_state.spans_from is complete: a record written later for
// one of its days is added to it with the daily rows (rollup.rows).
// Besides, the open bucket (days 0) sums the days of the current 64-day
// bucket that are rolled up, from its first day to finalized_before: each
// roll-up adds its day to it, and it starts empty with each 64-day
// bucket. A range that ends at finalized_before — "the last N days", what
// dashboards ask — reads it instead of up to six buckets.
// Retention drops the buckets that hold a pruned day and moves spans_from
// past it; queries read the days before spans_from from the daily table.

// spanWidths are the bucket widths in days, ascending; each is twice the
// one before, the first is twice a day.
var spanWidths = []int64{2, 4, 8, 16, 32, 64}

// maxSpan is the widest bucket.
const maxSpan = 64

// openSpan is the width column of the open bucket: the days from its day
// (a multiple of maxSpan) to finalized_before.
const openSpan = 0

// openStart is the first day of the open bucket when finalized_before is
// fin.
func openStart(fin int64) int64 { return alignDay(fin, maxSpan) }

// noSpansFrom is spans_from when retention never dropped a bucket.
const noSpansFrom = math.MinInt64

// spanTables are the coarse-tier tables. Each is keyed by (days, day):
// the bucket's width and first day. base is the daily table a query would
// read for the same groups (tableFor): a span table serves a query whose
// daily table is its base and whose groups it keeps (spanFor).
var spanTables = []rollupTable{
	{name: "usage_span_key_model", dims: []int{groupKey, groupTeam, groupModel}, span: true, base: 2},
	{name: "usage_span_end_user", dims: []int{groupEndUser}, span: true, base: 3},
}

// allRollupTables are the tables a late record is added to.
var allRollupTables = append(append([]rollupTable{}, rollupTables...), spanTables...)

// spanFor is the span table that answers p's whole days, if any: none
// when p groups by day.
func spanFor(p usagePlan) (rollupTable, bool) {
	if p.group[groupDay] {
		return rollupTable{}, false
	}
	base := tableFor(p)
	for _, t := range spanTables {
		if rollupTables[t.base].name == base.name && t.keeps(p) {
			return t, true
		}
	}
	return rollupTable{}, false
}

// alignDay is the first day of the width-w bucket that holds day (w a
// power of two; two's complement floors days before 1970 too).
func alignDay(day, w int64) int64 { return day & -w }

// spanBucket is one bucket: days wide, from day.
type spanBucket struct{ days, day int64 }

// spansDone are the buckets to build when finalized_before moves from a to
// b (a < b), in the order to build them (narrowest first): those that end
// in (a, b] and start before a. One that starts on or after a holds only
// days in [a, b), which are empty when finalized_before jumps over them
// (days without rows) and none of which there are when it moves by a day
// (b = a+1), so it has no rows to build. Buckets before from (spans_from)
// are not kept.
func spansDone(a, b, from int64) []spanBucket {
	var out []spanBucket
	for _, w := range spanWidths {
		if s := alignDay(a, w); s < a && s+w <= b && s >= from {
			out = append(out, spanBucket{w, s})
		}
	}
	return out
}

// dayRange is the days [from, to) of a daily rollup table; open: every
// day before to.
type dayRange struct {
	from, to int64
	open     bool
}

// spanRange is the buckets of width days that start in [from, to); open:
// every one that starts before to.
type spanRange struct {
	days, from, to int64
	open           bool
}

// cover splits the whole days [lo, hi) (loOpen: every day before hi) into
// ranges of days, read from a daily table, and buckets, read from a span
// table: the days before from (spans_from) are days; from there it takes
// at each day the widest bucket that starts there and ends by hi, so it
// uses at most two buckets of each width below maxSpan and at most two
// single days. An open start is covered by every 64-day bucket before the
// last boundary of one in range.
func cover(lo, hi int64, loOpen bool, from int64) (days []dayRange, spans []spanRange) {
	if from != noSpansFrom && (loOpen || lo < from) {
		days = append(days, dayRange{from: lo, to: min(from, hi), open: loOpen})
		if from >= hi {
			return days, nil
		}
		lo, loOpen = from, false
	}
	if loOpen {
		x := alignDay(hi, maxSpan)
		spans = append(spans, spanRange{days: maxSpan, to: x, open: true})
		lo = x
	}
	for x := lo; x < hi; {
		w := int64(maxSpan)
		for alignDay(x, w) != x || x+w > hi {
			w /= 2
		}
		switch n := len(spans); {
		case w == 1 && len(days) > 0 && days[len(days)-1].to == x:
			days[len(days)-1].to = x + 1
		case w == 1:
			days = append(days, dayRange{from: x, to: x + 1})
		case n > 0 && spans[n-1].days == w && spans[n-1].to == x:
			spans[n-1].to = x + w
		default:
			spans = append(spans, spanRange{days: w, from: x, to: x + w})
		}
		x += w
	}
	return days, spans
}

// dayConds are the conditions that a daily table's day is in r.
func (w *where) dayConds(r dayRange) []string {
	var c []string // parameters in the order they appear (SQLite's are "?")
	if !r.open {
		c = append(c, w.param("day >= ?", w.d.dayArg(r.from)))
	}
	return append(c, w.param("day < ?", w.d.dayArg(r.to)))
}

// spanConds are the conditions that a span table's bucket is one of r.
func (w *where) spanConds(r spanRange) []string {
	c := []string{w.param("days = ?", r.days)}
	if !r.open {
		c = append(c, w.param("day >= ?", w.d.dayArg(r.from)))
	}
	return append(c, w.param("day < ?", w.d.dayArg(r.to)))
}

// execer runs one statement in the transaction of a roll-up.
type execer func(ctx context.Context, sql string, args ...any) error

// spanBuild is the SQL that builds a bucket of t: the delete of any rows
// it has (none expected; makes a retry safe), then the insert of the sums
// of its two halves — from the daily base table for 2-day buckets (their
// parameters: buildSpans); and the SQL that empties the open bucket and
// adds a day to it.
type spanBuild struct{ del, fromDays, fromHalves, delOpen, addOpen string }

func newSpanBuild(d dialect, t rollupTable) spanBuild {
	base := rollupTables[t.base]
	head := "INSERT INTO " + t.name + " " + t.insertColumns() + " SELECT CAST(" + d.param(1) + " AS INTEGER), " + d.param(2) + d.dayCast + ", " +
		t.dimCols() + ", " + sumSQL(d, false) + " FROM "
	return spanBuild{
		del:      "DELETE FROM " + t.name + " WHERE days = " + d.param(1) + " AND day = " + d.param(2),
		fromDays: head + base.name + " WHERE day >= " + d.param(3) + " AND day < " + d.param(4) + " GROUP BY " + t.dimCols(),
		fromHalves: head + t.name + " WHERE days = " + d.param(3) + " AND day >= " + d.param(4) + " AND day < " + d.param(5) +
			" GROUP BY " + t.dimCols(),
		delOpen: "DELETE FROM " + t.name + " WHERE days = " + strconv.Itoa(openSpan),
		// In the order writes lock the rows they add to (rollup.rows),
		// which writes of the bucket's other days do meanwhile.
		addOpen: t.upsert("INSERT INTO " + t.name + " " + t.insertColumns() + " SELECT " + strconv.Itoa(openSpan) + ", " +
			d.param(1) + d.dayCast + ", " + t.dimCols() + ", " + sumSQL(d, false) + " FROM " + base.name +
			" WHERE day = " + d.param(2) + " GROUP BY " + t.dimCols() + " ORDER BY " + d.byteOrder(t.dimCols())),
	}
}

// advanceSpans keeps the coarse tier as finalized_before moves from a to
// b, over days without rows or (rolled) by rolling up day a: it builds the
// buckets that completes (spansDone), empties the open bucket when b is in
// another 64-day bucket than a, and adds a rolled-up day to it.
func advanceSpans(ctx context.Context, d dialect, builds []spanBuild, exec execer, a, b, from int64, rolled bool) error {
	if err := buildSpans(ctx, d, builds, exec, spansDone(a, b, from)); err != nil {
		return err
	}
	for _, sb := range builds {
		if openStart(b) != openStart(a) {
			if err := exec(ctx, sb.delOpen); err != nil {
				return err
			}
		}
		if o := openStart(b); rolled && o <= a && o >= from {
			if err := exec(ctx, sb.addOpen, d.dayArg(o), d.dayArg(a)); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildSpans builds buckets (spansDone's) of every span table.
func buildSpans(ctx context.Context, d dialect, builds []spanBuild, exec execer, buckets []spanBucket) error {
	for _, b := range buckets {
		for _, sb := range builds {
			if err := exec(ctx, sb.del, b.days, d.dayArg(b.day)); err != nil {
				return err
			}
			var err error
			if b.days == 2 {
				err = exec(ctx, sb.fromDays, b.days, d.dayArg(b.day), d.dayArg(b.day), d.dayArg(b.day+b.days))
			} else {
				err = exec(ctx, sb.fromHalves, b.days, d.dayArg(b.day), b.days/2, d.dayArg(b.day), d.dayArg(b.day+b.days))
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// spanBuilds are the builds of spanTables in one dialect.
func spanBuilds(d dialect) []spanBuild {
	out := make([]spanBuild, len(spanTables))
	for i, t := range spanTables {
		out[i] = newSpanBuild(d, t)
	}
	return out
}

// pruneSpans deletes the buckets of every span table that hold a day
// before first (whose rows retention deleted, wholly or partly), the open
// one included.
func pruneSpans(ctx context.Context, d dialect, exec execer, first int64) error {
	for _, t := range spanTables {
		for _, w := range append([]int64{openSpan}, spanWidths...) {
			// Per width, so that each delete is a range of the key.
			if err := exec(ctx, "DELETE FROM "+t.name+" WHERE days = "+d.param(1)+" AND day < "+d.param(2), w, d.dayArg(first)); err != nil {
				return err
			}
		}
	}
	return nil
}

package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// SpendStore persists spend so that it survives restarts and reaches the
// key objects (spend_usd). The gateway passes the key service. Calls are
// made off the request path, by one background loop.
type SpendStore interface {
	// AddSpend adds usd to key id's spend on the UTC day of at.
	AddSpend(ctx context.Context, id string, usd float64, at time.Time) error
	// SpendSince returns every key's spend on the UTC days from since's
	// day on (all days for the zero time), by key id.
	SpendSince(ctx context.Context, since time.Time) (map[string]float64, error)
}

// period is a budget period.
type period uint8

const (
	periodTotal period = iota
	periodDay
	periodMonth
)

func parsePeriod(s string) period {
	switch s {
	case "day":
		return periodDay
	case "month":
		return periodMonth
	}
	return periodTotal
}

func (p period) String() string {
	switch p {
	case periodDay:
		return "day"
	case periodMonth:
		return "month"
	}
	return "total"
}

// start returns when the period containing now began (UTC); the zero time
// for total.
func (p period) start(now time.Time) time.Time {
	now = now.UTC()
	switch p {
	case periodDay:
		y, m, d := now.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case periodMonth:
		y, m, _ := now.Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// end returns when the period containing now ends: the start of the next
// UTC day or month; the zero time for total (it never resets).
func (p period) end(now time.Time) time.Time {
	now = now.UTC()
	switch p {
	case periodDay:
		y, m, d := now.Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	case periodMonth:
		y, m, _ := now.Date()
		return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// dayOf numbers UTC days since the Unix epoch.
func dayOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// monthStartDay is the day number of the first day of t's UTC month.
func monthStartDay(t time.Time) int64 { return dayOf(periodMonth.start(t)) }

// dayAmount is spend on one UTC day.
type dayAmount struct {
	day int64
	usd float64
}

// keySpend is one key's spend as this instance knows it: what the store
// held at the last load, plus what was spent here since and is either not
// yet written (local) or written but not yet reloaded (inflight).
type keySpend struct {
	baseDay int64      // the day the base was loaded on
	base    [3]float64 // by period: total, that day, that day's month
	local   []dayAmount
	flight  []dayAmount
	// held is the estimated cost of this instance's requests in flight
	// (memory backend), holds how many hold it; see hold.
	held  float64
	holds int
}

// spendBook tracks spend per key. With a store, a background loop writes
// local spend to it and reloads every key's sums (which then include
// other instances' spend), every spendSync.
type spendBook struct {
	store SpendStore
	log   *slog.Logger

	mu     sync.Mutex
	keys   map[string]*keySpend
	loaded bool // the store's sums were loaded once; writes wait for it
	ioMu   sync.Mutex
	// monthOf caches the first day of the month of day mday (time.Date
	// costs ~400 instructions, on every budget check of a month budget).
	mday, mstart int64
}

// spendSync is how often spend is written to and reloaded from the store.
const spendSync = 5 * time.Second

// spendIOTimeout bounds one round of writes and loads.
const spendIOTimeout = 10 * time.Second

func newSpendBook(store SpendStore, log *slog.Logger) *spendBook {
	return &spendBook{store: store, log: log, keys: map[string]*keySpend{}}
}

// addLocked records usd spent by key id at now; b.mu is held.
func (b *spendBook) addLocked(id string, usd float64, now time.Time) {
	k := b.keys[id]
	if k == nil {
		k = &keySpend{}
		b.keys[cloneString(id)] = k
	}
	k.addLocked(usd, now)
}

// addLocked records usd spent at now; the book's lock is held.
func (k *keySpend) addLocked(usd float64, now time.Time) {
	day := dayOf(now)
	if n := len(k.local); n > 0 && k.local[n-1].day == day {
		k.local[n-1].usd += usd
	} else {
		k.local = append(k.local, dayAmount{day, usd})
	}
}

// spend returns key id's spend in period p as of now.
func (b *spendBook) spend(id string, p period, now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spendLocked(b.keys[id], p, now)
}

// holdLocked decides a budget check on the memory backend, b.mu held: it
// refuses when the spend in the period reached budget, or when spend + the
// costs already held + est exceed it; otherwise it holds est until unhold. It returns
// the spend and the costs held before it, for the refusal's message, and
// the entry that holds est (nil when est is 0): it stays in the book until
// unheld, so unholdEntry can release it without looking it up.
func (b *spendBook) holdLocked(id string, p period, now time.Time, budget, est float64) (spend, held float64, ok bool, e *keySpend) {
	k := b.keys[id]
	spend = b.spendLocked(k, p, now)
	if k != nil {
		held = k.held
	}
	if spend >= budget-budgetEpsilon || spend+held+est > budget+budgetEpsilon {
		return spend, held, false, nil
	}
	if est > 0 {
		if k == nil {
			k = &keySpend{baseDay: dayOf(now)}
			b.keys[cloneString(id)] = k
		}
		k.held += est
		k.holds++
		return spend, held, true, k
	}
	return spend, held, true, nil
}

// unholdEntry releases a cost held by hold on the entry hold returned.
func (b *spendBook) unholdEntry(k *keySpend, est float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unholdLocked(k, est)
}

func (b *spendBook) unholdLocked(k *keySpend, est float64) {
	if k == nil || k.holds == 0 {
		return
	}
	k.holds--
	k.held -= est
	if k.holds == 0 || k.held < 0 {
		k.held = 0 // no drift of summed floats outlives the holds
	}
}

// spendLocked is spend with b.mu held; k may be nil.
func (b *spendBook) spendLocked(k *keySpend, p period, now time.Time) float64 {
	if k == nil {
		return 0
	}
	var from int64 // first day that counts
	total := 0.0
	today := dayOf(now)
	switch p {
	case periodTotal:
		from = -1 << 62
		total = k.base[periodTotal]
	case periodDay:
		from = today
		if k.baseDay == today {
			total = k.base[periodDay]
		}
	case periodMonth:
		if today != b.mday {
			b.mday, b.mstart = today, monthStartDay(now)
		}
		from = b.mstart
		if k.baseDay >= from {
			total = k.base[periodMonth]
		}
	}
	for _, a := range k.local {
		if a.day >= from {
			total += a.usd
		}
	}
	for _, a := range k.flight {
		if a.day >= from {
			total += a.usd
		}
	}
	return total
}

// run writes and reloads spend every spendSync until stop closes.
func (b *spendBook) run(stop <-chan struct{}, wg *sync.WaitGroup, now func() time.Time) {
	defer wg.Done()
	failing := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), spendIOTimeout)
		err := b.sync(ctx, now())
		cancel()
		switch {
		case err != nil && !failing:
			failing = true
			b.log.Warn("spend store unavailable; spend is kept in memory and written when it recovers", "err", err)
		case err == nil && failing:
			failing = false
			b.log.Info("spend store recovered")
		}
		t := time.NewTimer(spendSync)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// sync writes local spend to the store (once it has loaded) and reloads
// the sums of every key.
func (b *spendBook) sync(ctx context.Context, now time.Time) error {
	b.ioMu.Lock()
	defer b.ioMu.Unlock()
	b.mu.Lock()
	loaded := b.loaded
	b.mu.Unlock()
	if loaded {
		if err := b.write(ctx); err != nil {
			return err
		}
	}
	return b.load(ctx, now)
}

// flush writes local spend to the store without reloading (Close).
func (b *spendBook) flush(ctx context.Context, now time.Time) error {
	b.ioMu.Lock()
	defer b.ioMu.Unlock()
	b.mu.Lock()
	loaded := b.loaded
	b.mu.Unlock()
	if !loaded {
		// Never loaded: load first, or local spend would be counted
		// twice once it is in the store.
		if err := b.load(ctx, now); err != nil {
			return err
		}
	}
	return b.write(ctx)
}

// write moves local spend in flight and writes it, one call per key and
// day. What fails to be written goes back to local, for the next round.
func (b *spendBook) write(ctx context.Context) error {
	type item struct {
		id string
		a  dayAmount
	}
	var items []item
	b.mu.Lock()
	for id, k := range b.keys {
		for _, a := range k.local {
			items = append(items, item{id, a})
		}
		k.flight = append(k.flight, k.local...)
		k.local = nil
	}
	b.mu.Unlock()
	var errs []error
	for _, it := range items {
		at := time.Unix(it.a.day*86400, 0).UTC()
		if err := b.store.AddSpend(ctx, it.id, it.a.usd, at); err != nil {
			errs = append(errs, err)
			b.mu.Lock()
			k := b.keys[it.id]
			k.local = append(k.local, it.a)
			k.flight = removeAmount(k.flight, it.a)
			b.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// removeAmount removes one entry equal to a from s.
func removeAmount(s []dayAmount, a dayAmount) []dayAmount {
	for i, x := range s {
		if x == a {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

// load replaces every key's base with the store's sums. Spend in flight
// is in those sums now, so it is dropped.
func (b *spendBook) load(ctx context.Context, now time.Time) error {
	total, err := b.store.SpendSince(ctx, time.Time{})
	if err != nil {
		return err
	}
	month, err := b.store.SpendSince(ctx, periodMonth.start(now))
	if err != nil {
		return err
	}
	day, err := b.store.SpendSince(ctx, periodDay.start(now))
	if err != nil {
		return err
	}
	today := dayOf(now)
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, k := range b.keys {
		k.base, k.baseDay, k.flight = [3]float64{}, today, nil
		if _, ok := total[id]; !ok && len(k.local) == 0 && k.holds == 0 {
			delete(b.keys, id)
		}
	}
	for id, usd := range total {
		k := b.keys[id]
		if k == nil {
			k = &keySpend{baseDay: today}
			b.keys[id] = k
		}
		k.base = [3]float64{periodTotal: usd, periodDay: day[id], periodMonth: month[id]}
	}
	b.loaded = true
	return nil
}

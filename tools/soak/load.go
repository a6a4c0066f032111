package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// The soak load runs in segments of segmentLen, each a harness.Load with
// its own id prefix (soak-L0001-000000, ...). A finished segment's
// results wait in the ledger until the request-log pipelines are idle,
// are accounted against their rows (harness.Account) and dropped, so an
// hour of load holds a few segments' results in memory, not millions.
const (
	segmentLen = 30 * time.Second
	// lostGrace is how long after a segment ended the ledger waits for
	// its missing rows before it counts them lost. Spooled rows reach
	// the database within seconds of its recovery, and a segment is
	// only accounted once every spool is empty.
	lostGrace = 30 * time.Second
	// settleAge is how long a finished segment waits before its first
	// accounting: a few flush intervals.
	settleAge = time.Second
	// maxInFlight caps each load's requests in flight (above it the
	// load skips and counts, so a stuck gateway cannot make the client
	// pile up goroutines).
	maxInFlight = 512
)

// ledger accounts finished loads against the request log.
type ledger struct {
	dbURL string

	settleMu sync.Mutex // one settle at a time
	mu       sync.Mutex
	sync.Mutex
	pending  []*segment
	acc      harness.Accounting // sums over accounted segments
	lostIDs  []string           // the first few
	statuses map[string]map[string]int
	notOK    int // load requests not a whole 200
	firstBad string
	skipped  int
	count    int // segments accounted

	answered atomic.Int64 // results handed in so far
}

type segment struct {
	prefix  string
	results []harness.Result
	ended   time.Time
}

func newLedger(dbURL string) *ledger {
	return &ledger{dbURL: dbURL, statuses: map[string]map[string]int{}}
}

// add hands in a finished load's results (ids prefix-NNNNNN).
func (l *ledger) add(prefix string, rs []harness.Result, skipped int) {
	l.answered.Add(int64(len(rs)))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.skipped += skipped
	for _, r := range rs {
		m := l.statuses[r.Kind]
		if m == nil {
			m = map[string]int{}
			l.statuses[r.Kind] = m
		}
		m[r.Outcome()]++
		if r.Kind == "load" && !r.WholeOK() {
			if l.notOK == 0 {
				l.firstBad = r.ID + ": " + r.Outcome()
			}
			l.notOK++
		}
	}
	l.pending = append(l.pending, &segment{prefix: prefix, results: rs, ended: time.Now()})
}

// settle accounts the pending segments that are ready, when idle says
// the request-log pipelines are: a segment's rows are all there, or it
// ended lostGrace ago (or force is set) and its missing rows count as
// lost. It returns how many segments are still pending.
func (l *ledger) settle(ctx context.Context, idle func() bool, force bool) (int, error) {
	l.settleMu.Lock()
	defer l.settleMu.Unlock()
	l.mu.Lock()
	pending := append([]*segment(nil), l.pending...)
	l.mu.Unlock()
	if len(pending) == 0 {
		return 0, nil
	}
	if !force && !idle() {
		return len(pending), nil
	}
	var done []*segment
	var firstErr error
	for _, s := range pending {
		age := time.Since(s.ended)
		if !force && age < settleAge {
			continue
		}
		rows, err := harness.QueryRows(ctx, l.dbURL, s.prefix+"-")
		if err != nil {
			firstErr = err
			break
		}
		a := harness.Account(s.results, rows)
		if a.Lost > 0 && !force && age < lostGrace {
			continue
		}
		l.mu.Lock()
		l.addAcc(a)
		l.mu.Unlock()
		done = append(done, s)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range done {
		for i, s := range l.pending {
			if s == d {
				l.pending = append(l.pending[:i], l.pending[i+1:]...)
				break
			}
		}
	}
	return len(l.pending), firstErr
}

func (l *ledger) addAcc(a harness.Accounting) {
	l.count++
	l.acc.Complete += a.Complete
	l.acc.Incomplete += a.Incomplete
	l.acc.Rows += a.Rows
	l.acc.Lost += a.Lost
	l.acc.Duplicated += a.Duplicated
	l.acc.Unanswered += a.Unanswered
	l.acc.Unknown += a.Unknown
	l.acc.StatusMismatch += a.StatusMismatch
	l.acc.Cancelled += a.Cancelled
	l.acc.Cancelled499 += a.Cancelled499
	for _, r := range a.LostResults {
		if len(l.lostIDs) < 5 {
			l.lostIDs = append(l.lostIDs, r.ID)
		}
	}
}

// settler accounts segments every couple of seconds until ctx ends.
func (l *ledger) settler(ctx context.Context, idle func() bool) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = l.settle(ctx, idle, false)
		}
	}
}

// drain accounts every pending segment: it waits up to limit for them
// to be ready, then forces the rest.
func (l *ledger) drain(ctx context.Context, idle func() bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		n, err := l.settle(ctx, idle, false)
		if n == 0 {
			return err
		}
		if err := harness.Sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	n, err := l.settle(ctx, idle, true)
	if err == nil && n > 0 {
		err = fmt.Errorf("%d segments could not be accounted", n)
	}
	return err
}

// segmentedLoad is the soak load: rate requests a second of soakRequest,
// until until, in segments handed to the ledger.
type segmentedLoad struct {
	client *harness.Client
	rate   float64
	ledger *ledger

	mu      sync.Mutex
	running map[*harness.Running]bool // started, not yet handed in
	wg      sync.WaitGroup
}

// run sends the load until the time until (or ctx ends) and returns once
// every segment is handed in.
func (s *segmentedLoad) run(ctx context.Context, until time.Time) {
	s.mu.Lock()
	s.running = map[*harness.Running]bool{}
	s.mu.Unlock()
	start := func(n int) (string, *harness.Running) {
		prefix := fmt.Sprintf("soak-L%04d", n)
		l := &harness.Load{Client: s.client, Rate: s.rate, MaxInFlight: maxInFlight, IDPrefix: prefix, Next: soakRequest}
		r := l.Start(ctx)
		s.mu.Lock()
		s.running[r] = true
		s.mu.Unlock()
		return prefix, r
	}
	finish := func(prefix string, r *harness.Running) {
		defer s.wg.Done()
		rs := r.Stop()
		// Handed in and forgotten at once, so answered never counts a
		// result twice or misses one.
		s.mu.Lock()
		s.ledger.add(prefix, rs, r.Skipped())
		delete(s.running, r)
		s.mu.Unlock()
	}
	n := 1
	prefix, r := start(n)
	for {
		left := time.Until(until)
		if left <= 0 || harness.Sleep(ctx, min(left, segmentLen)) != nil || !time.Now().Before(until) {
			break
		}
		// The next segment starts before this one stops: no gap.
		n++
		np, nr := start(n)
		s.wg.Add(1)
		go finish(prefix, r)
		prefix, r = np, nr
	}
	s.wg.Add(1)
	finish(prefix, r)
	s.wg.Wait()
}

// answered counts the requests finished so far: those handed to the
// ledger (faults' included) and those of the segments still running.
func (s *segmentedLoad) answered() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.ledger.answered.Load()
	for r := range s.running {
		n += int64(r.Sent())
	}
	return n
}

package gateway

import (
	"net/netip"
	"sync"
	"time"
)

// Limits of adminThrottle.
const (
	// adminMaxFailures failed admin authentications from one source
	// within adminFailWindow make it wait out the rest of that window.
	// Ten a minute is far more than a person mistyping a token needs and
	// far too few to guess even a short one.
	adminMaxFailures = 10
	adminFailWindow  = time.Minute
	// adminMaxSources bounds the table (about 100 bytes an entry).
	adminMaxSources = 10000
)

// adminThrottle slows down guessing of the admin token. It counts failed
// admin authentications per source in fixed windows that start at a
// source's first failure; a source that reaches adminMaxFailures in its
// window is refused (429) until the window ends. A success clears the
// source's count. Sources are IPv4 addresses and IPv6 /64 networks (one
// host usually holds a whole /64). The table holds at most
// adminMaxSources entries: when full, expired windows are dropped first,
// then the oldest. It is safe for concurrent use; now is its clock.
type adminThrottle struct {
	now func() time.Time

	mu      sync.Mutex
	sources map[netip.Prefix]*failWindow
}

type failWindow struct {
	start time.Time // the window's first failure
	n     int
}

func newAdminThrottle(now func() time.Time) *adminThrottle {
	return &adminThrottle{now: now, sources: make(map[netip.Prefix]*failWindow)}
}

// sourceKey is the table key of a source address.
func sourceKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// wait returns how long src must wait before it may try again; 0: now.
func (t *adminThrottle) wait(src netip.Addr) time.Duration {
	k := sourceKey(src)
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.sources[k]
	if w == nil || w.n < adminMaxFailures {
		return 0
	}
	left := adminFailWindow - t.now().Sub(w.start)
	if left <= 0 {
		delete(t.sources, k)
		return 0
	}
	return left
}

// fail records a failed authentication from src and returns the source's
// failures in its window; throttled is true for the one that reached
// adminMaxFailures (the source must wait from now on).
func (t *adminThrottle) fail(src netip.Addr) (n int, throttled bool) {
	k := sourceKey(src)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.sources[k]
	if w != nil && now.Sub(w.start) >= adminFailWindow {
		w = nil // the old window is over
	}
	if w == nil {
		if _, ok := t.sources[k]; !ok && len(t.sources) >= adminMaxSources {
			t.evictLocked(now)
		}
		w = &failWindow{start: now}
		t.sources[k] = w
	}
	w.n++
	return w.n, w.n == adminMaxFailures
}

// succeed clears src's failures.
func (t *adminThrottle) succeed(src netip.Addr) {
	k := sourceKey(src)
	t.mu.Lock()
	delete(t.sources, k)
	t.mu.Unlock()
}

// evictLocked makes room for one entry: it drops every expired window,
// or when none has expired the oldest one.
func (t *adminThrottle) evictLocked(now time.Time) {
	var oldest netip.Prefix
	var oldestStart time.Time
	for k, w := range t.sources {
		if now.Sub(w.start) >= adminFailWindow {
			delete(t.sources, k)
			continue
		}
		if oldestStart.IsZero() || w.start.Before(oldestStart) {
			oldest, oldestStart = k, w.start
		}
	}
	if len(t.sources) >= adminMaxSources {
		delete(t.sources, oldest)
	}
}

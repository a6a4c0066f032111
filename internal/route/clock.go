package route

import "time"

// Clock is where a Plan reads the time (its targets' breakers decide by
// it) and how it waits between attempts. A nil Clock is the system's:
// time.Now and time.Sleep, called directly rather than through the
// interface. A plan reads the time only when a decision needs it (a
// breaker that is not closed, a failure, an error-rate window, a wait), so
// a request its first target serves reads no clock at all. Tests pass a
// fake whose Sleep advances its time at once, so no test waits for real.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// now reads c, or the system's time when c is nil.
func now(c Clock) time.Time {
	if c == nil {
		return time.Now()
	}
	return c.Now()
}

// moment is the current time, read from a clock at most once and only
// when something needs it.
type moment struct {
	clock Clock
	t     time.Time
	read  bool
}

func (m *moment) now() time.Time {
	if !m.read {
		m.t, m.read = now(m.clock), true
	}
	return m.t
}

package route

import "time"

// Clock is where a Plan reads the time (its targets' breakers decide by
// it) and how it waits between attempts. A nil Clock is the system's:
// time.Now and time.Sleep, called directly rather than through the
// interface, so production pays nothing for the indirection. Tests pass a
// fake whose Sleep advances its time at once, so no test waits for real.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

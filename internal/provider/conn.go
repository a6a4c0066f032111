package provider

import (
	"net"
	"time"
)

// deadlineConn enforces an upstream's timeouts on its connection: the
// first-byte timeout from the moment a request is written until reply bytes
// arrive, then the idle timeout between reads (a stream may run as long as
// events keep coming).
//
// Sluice arms these deadlines itself, coarsely, instead of letting fasthttp
// set them per request (HostClient.DoDeadline sets a write and a read
// deadline on the connection for every request; each is a runtime timer
// update, ≈ 1.3 µs per request in all, measured in docs/benchmarks.md). A
// deadline already armed is kept while it is early by at most 1/16 of its
// timeout, so a busy keep-alive connection re-arms about 16 times per
// timeout period rather than twice per request; a timeout therefore fires
// after between 15/16 of its value and its value, never later. fasthttp,
// which then sets no deadline of its own, clears the connection's
// deadlines before each request (SetReadDeadline with the zero time): those
// calls are dropped, since this wrapper owns the deadlines.
//
// Read and Write are called sequentially by whichever goroutine owns the
// connection (fasthttp's pool hands it over with a mutex), so the fields
// need no synchronisation; Close may come from any goroutine.
type deadlineConn struct {
	net.Conn
	first   time.Duration // first-byte timeout (bounded by the total timeout)
	idle    time.Duration // between reads once the reply flows
	flowing bool          // reply bytes have arrived since the last write
	rd, wd  time.Time     // the read and write deadlines armed on Conn; zero: none
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if c.flowing {
		c.flowing = false
	}
	if err := c.arm(&c.wd, c.first, c.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	d := c.first
	if c.flowing {
		d = c.idle
	}
	if err := c.arm(&c.rd, d, c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.flowing = true
	}
	return n, err
}

// arm makes sure the deadline *armed ends between now + d - d/16 and
// now + d, setting it only when it does not. d <= 0: no deadline.
func (c *deadlineConn) arm(armed *time.Time, d time.Duration, set func(time.Time) error) error {
	if d <= 0 {
		if armed.IsZero() {
			return nil
		}
		*armed = time.Time{}
		return set(time.Time{})
	}
	want := time.Now().Add(d)
	if !armed.IsZero() && !armed.After(want) && want.Sub(*armed) <= d/16 {
		return nil
	}
	*armed = want
	return set(want)
}

// SetReadDeadline drops fasthttp's clearing of the deadline (the zero
// time); any other deadline is set, and re-armed by the next Read.
func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	c.rd = t
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline is SetReadDeadline's twin for writes.
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	c.wd = t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines, as SetReadDeadline and SetWriteDeadline.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	c.rd, c.wd = t, t
	return c.Conn.SetDeadline(t)
}

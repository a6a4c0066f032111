package provider

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// The connections to an upstream are held in slots, each a fasthttp
// HostClient limited to one connection. A request holds a slot for its whole
// exchange (until its streamed body is closed), so Sluice knows which
// connection carries it and can close that connection from another
// goroutine: fasthttp's Do takes no context, and a HostClient shared by all
// requests does not say which of its connections a request got. Closing the
// connection is how an upstream learns that a request was abandoned (it
// stops generating, and billing, for it).
//
// A slot costs what a pooled connection costs plus a HostClient (≈ 1 KB,
// made on first use, up to max_conns) and, while its connection lives,
// fasthttp's idle-connection cleaner goroutine. Taking and returning a free
// slot is one short critical section each; the slot's own HostClient then
// takes its connection uncontended. See docs/decisions/0004-upstream-cancel.md.

// ErrCancelled is the error of an exchange whose Call was cancelled.
var ErrCancelled = errors.New("upstream request cancelled: the client went away")

// Call is one request to an upstream as it runs. Do binds it to the slot,
// and so the connection, that carries it until Release. The zero value is
// ready to use; Reset makes a released Call ready again. Cancel may be
// called from any goroutine, every other method only by the Call's owner.
type Call struct {
	cancelled atomic.Bool
	s         atomic.Pointer[slot] // the slot held; nil: none
}

// Cancel aborts the call: an exchange in progress fails at once (its
// connection is closed, which the upstream sees), and one not started yet
// fails without being sent. It is safe to call at any time, more than once.
func (c *Call) Cancel() {
	// Stored before s is loaded, as acquire stores s before it loads
	// cancelled: one of them sees the other.
	c.cancelled.Store(true)
	s := c.s.Load()
	if s == nil {
		return
	}
	p := s.p
	p.mu.Lock()
	if s.call == c && s.conn != nil {
		// Under the lock: no other call can hold the slot meanwhile. The
		// connection may be idle in the slot's pool after a finished
		// exchange; its next use then dials afresh (retryStaleConn).
		_ = s.conn.Close()
	}
	p.mu.Unlock()
}

// Cancelled reports whether Cancel was called since the last Reset.
func (c *Call) Cancelled() bool { return c.cancelled.Load() }

// Release returns the slot the call holds, if any. Do releases it itself
// unless the reply is streamed; the owner of a streamed reply calls Release
// once its body stream is closed.
func (c *Call) Release() {
	s := c.s.Load()
	if s == nil {
		return
	}
	c.s.Store(nil)
	p := s.p
	p.mu.Lock()
	s.call = nil
	p.free = append(p.free, s)
	p.mu.Unlock()
}

// Reset releases the call's slot and clears a cancellation, for the next
// request.
func (c *Call) Reset() {
	c.Release()
	c.cancelled.Store(false)
}

// slot is one connection's worth of an upstream's pool.
type slot struct {
	p    *connPool
	hc   *fasthttp.HostClient // MaxConns 1
	conn net.Conn             // guarded by p.mu: the connection dialled last (maybe closed since); nil: none
	call *Call                // guarded by p.mu: the call holding the slot; nil: free
}

// connPool hands out an upstream's slots.
type connPool struct {
	mu    sync.Mutex
	free  []*slot // used last first: its connection is the likeliest to be alive
	made  int
	max   int
	newHC func(fasthttp.DialFunc) *fasthttp.HostClient
	dial  fasthttp.DialFunc
}

// acquire takes a free slot (making one while fewer than max exist) for c.
// It fails with fasthttp.ErrNoFreeConns when all max are in use, and with
// ErrCancelled when c was cancelled.
func (p *connPool) acquire(c *Call) (*slot, error) {
	p.mu.Lock()
	var s *slot
	switch n := len(p.free); {
	case n > 0:
		s = p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
	case p.made < p.max:
		p.made++
		s = &slot{p: p}
		s.hc = p.newHC(s.dial)
	default:
		p.mu.Unlock()
		return nil, fasthttp.ErrNoFreeConns
	}
	s.call = c
	p.mu.Unlock()
	c.s.Store(s)
	if c.cancelled.Load() {
		c.Release()
		return nil, ErrCancelled
	}
	return s, nil
}

// dial is the slot's HostClient's DialFunc: it records the connection for
// Cancel, or refuses to open one for a cancelled call.
func (s *slot) dial(addr string) (net.Conn, error) {
	conn, err := s.p.dial(addr)
	if err != nil {
		return nil, err
	}
	p := s.p
	p.mu.Lock()
	cancelled := s.call != nil && s.call.cancelled.Load()
	if !cancelled {
		s.conn = conn
	}
	p.mu.Unlock()
	if cancelled {
		_ = conn.Close()
		return nil, ErrCancelled
	}
	return conn, nil
}

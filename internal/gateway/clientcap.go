package gateway

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
)

// The per-client connection cap (server.max_conns_per_client): one client
// address may hold that many connections open at once. A connection past
// the cap is still read, so that its first request gets a clear answer in
// the caller's format (429 and Connection: close) instead of a reset; it
// is given overCapReadWait to send that request, so holding connections
// open without sending gets nothing. Loopback peers are exempt. A trusted
// proxy's connections are exempt too, since they carry many clients:
// behind one, the forwarded client's requests in flight are counted
// against the same cap instead.

// overCapReadWait bounds how long a connection past the cap may take to
// send its first request.
const overCapReadWait = 2 * time.Second

// clientConns counts open connections, or requests in flight for clients
// behind a trusted proxy, per client address.
type clientConns struct {
	limit int
	mu    sync.Mutex
	n     map[netip.Addr]int
}

func newClientConns(limit int) *clientConns {
	return &clientConns{limit: limit, n: map[netip.Addr]int{}}
}

// acquire counts one more for a and reports whether a is now past the cap.
func (c *clientConns) acquire(a netip.Addr) (over bool) {
	c.mu.Lock()
	n := c.n[a] + 1
	c.n[a] = n
	c.mu.Unlock()
	return n > c.limit
}

func (c *clientConns) release(a netip.Addr) {
	c.mu.Lock()
	if n := c.n[a] - 1; n > 0 {
		c.n[a] = n
	} else {
		delete(c.n, a)
	}
	c.mu.Unlock()
}

// capListener counts the connections it accepts per client address.
type capListener struct {
	net.Listener
	cc      *clientConns
	trusted func() []config.IPRange
	// countLoopback counts loopback peers too (tests; in production they
	// are exempt).
	countLoopback bool
}

func (l *capListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	ap, perr := netip.ParseAddrPort(c.RemoteAddr().String())
	if perr != nil {
		return c, nil
	}
	a := ap.Addr().Unmap()
	if (a.IsLoopback() && !l.countLoopback) || inRanges(l.trusted(), a) {
		return c, nil
	}
	cc := &capConn{Conn: c, cc: l.cc, addr: a, over: l.cc.acquire(a)}
	if cc.over {
		cc.readBy = time.Now().Add(overCapReadWait)
		_ = c.SetReadDeadline(cc.readBy)
	}
	return cc, nil
}

// capConn is a counted connection; closing it gives its count back.
type capConn struct {
	net.Conn
	cc     *clientConns
	addr   netip.Addr
	over   bool      // past the cap when accepted: its request gets 429
	readBy time.Time // over: the read deadline fasthttp may not extend
	once   sync.Once
}

func (c *capConn) Close() error {
	c.once.Do(func() { c.cc.release(c.addr) })
	return c.Conn.Close()
}

func (c *capConn) SetReadDeadline(t time.Time) error {
	if c.over && (t.IsZero() || t.After(c.readBy)) {
		t = c.readBy
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *capConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// SyscallConn exposes the socket, for the abandoned-client check
// (abandon.go).
func (c *capConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, syscall.EINVAL
	}
	return sc.SyscallConn()
}

// overCap reports whether ctx's connection was accepted past the cap.
func overCap(ctx *fasthttp.RequestCtx) bool {
	c := ctx.Conn()
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	cc, ok := c.(*capConn)
	return ok && cc.over
}

// clientSlot is the per-client check of a request: 429 for a connection
// accepted past the cap; behind a trusted proxy, the forwarded client's
// requests in flight are counted, and held (x.clientHeld) until settle.
func (x *exchange) clientSlot(ctx *fasthttp.RequestCtx, cc *clientConns) (over bool) {
	if overCap(ctx) {
		ctx.SetConnectionClose()
		return true
	}
	trusted := x.s.cfg.Server.TrustedProxies
	if len(trusted) == 0 {
		return false
	}
	src, peer, exempt := clientSource(ctx, trusted)
	if exempt || src == peer {
		return false // a direct client: its connection was counted
	}
	x.clientAddr, x.clientHeld = src, true
	return cc.acquire(src)
}

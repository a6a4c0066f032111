package mock

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// hijackStream takes the connection of a paced stream away from fasthttp: the response
// head is rendered now (fasthttp's own bytes: status line, Server, Date, Content-Type,
// the handler's headers, Transfer-Encoding: chunked) and written with the first chunk
// by a pacer. It reports false, leaving ctx untouched, when the stream must be written
// in place instead: the server is shutting down, or the connection is not one of the
// mock's own (mockConn).
//
// fasthttp lets its worker goroutine go once the handler returns, and with
// Server.KeepHijackedConns it neither closes the connection nor reuses it; the stream
// hands it back with ServeConn when the reply is complete.
func (s *Server) hijackStream(ctx *fasthttp.RequestCtx, st *stream) bool {
	if s.track.stopping.Load() {
		return false
	}
	mc, ok := ctx.Conn().(*mockConn)
	if !ok {
		return false
	}
	raw, ok := rawConnOf(mc.Conn)
	if !ok {
		return false
	}
	st.conn, st.raw = mc, raw
	req, h := &ctx.Request.Header, &ctx.Response.Header
	h.SetContentLength(-1)
	// As fasthttp would: close when the request asks for it (HTTP/1.0 without
	// keep-alive included), else say keep-alive to an HTTP/1.0 client.
	st.closeAfter = req.ConnectionClose()
	if st.closeAfter {
		h.SetConnectionClose()
	} else if !req.IsHTTP11() {
		h.Set(fasthttp.HeaderConnection, "keep-alive")
	}
	st.out = h.AppendBytes(st.out[:0])
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(st.onHijack)
	return true
}

// hijacked runs on the goroutine fasthttp starts for a hijacked connection, after the
// handler returned. hjc reads through fasthttp's buffered reader, which may hold the
// start of a pipelined request: those bytes are kept for the hand-back; the reader
// itself is dropped.
func (st *stream) hijacked(hjc net.Conn) {
	s := st.s
	st.rest = readBuffered(hjc, st.conn, st.rest[:0], st.peek[:])
	if s.track.streamStarted() || !s.sched.add(st) {
		s.finishUnpaced(st) // Shutdown ended pacing meanwhile
	}
}

// aLongTimeAgo is a read deadline that has always passed.
var aLongTimeAgo = time.Unix(1, 0)

// readBuffered appends to dst what r has buffered past the request, without waiting for
// more: with raw's read deadline in the past, a read returns only what is buffered, and
// the socket is not read at all (Go checks the deadline before the read system call).
func readBuffered(r, raw net.Conn, dst, tmp []byte) []byte {
	if raw.SetReadDeadline(aLongTimeAgo) != nil {
		return dst
	}
	for {
		n, err := r.Read(tmp)
		dst = append(dst, tmp[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	_ = raw.SetReadDeadline(time.Time{})
	return dst
}

// mockConn is a connection of the mock's own server: one it accepted (pacingListener)
// or handed back to fasthttp after a paced stream. Only these are paced, because only
// the mock's own server keeps hijacked connections open (Server.KeepHijackedConns); a
// stream served through Handler on another server is written in place. A handed-back
// connection first reads the bytes of a pipelined request that fasthttp had read before
// the stream took the connection. The state follows fasthttp's view of the connection
// (Server.ConnState), so that Shutdown can close a handed-back connection while it waits
// for a request: fasthttp counts a connection it did not accept as busy for its first
// five seconds.
type mockConn struct {
	net.Conn
	rest  []byte
	state atomic.Int32 // a fasthttp.ConnState
}

func (c *mockConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// pacingListener marks the connections it accepts as the mock's own. Connections that
// cannot be written to directly (TLS) are left as they are: their streams are written
// in place.
type pacingListener struct{ net.Listener }

func (l pacingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if _, ok := rawConnOf(c); !ok {
		return c, nil
	}
	return &mockConn{Conn: c}, nil
}

// connState is Server.ConnState: it keeps the state of the mock's own connections.
func connState(c net.Conn, state fasthttp.ConnState) {
	if mc, ok := c.(*mockConn); ok {
		mc.state.Store(int32(state))
	}
}

// handBack gives a keep-alive connection back to fasthttp for its next request, or
// closes it when the server is shutting down. rest holds bytes of a pipelined request;
// the caller keeps its slice.
func (s *Server) handBack(conn *mockConn, rest []byte) {
	// A wrapper of its own each time: the ServeConn that served the previous request
	// may not have returned yet, and it forgets the old one.
	mc := &mockConn{Conn: conn.Conn, rest: conn.rest}
	if len(rest) > 0 {
		mc.rest = append(append([]byte(nil), rest...), conn.rest...)
	}
	mc.state.Store(int32(fasthttp.StateIdle))
	if !s.track.serveStarted(mc) {
		_ = mc.Close()
		return
	}
	go func() {
		if err := s.srv.ServeConn(mc); err != nil {
			s.log.Debug("mock: connection ended", "err", err)
		}
		s.track.serveEnded(mc)
	}()
}

// write writes p to the stream's socket without waiting: it returns how much the socket
// took, and an error only when the connection failed.
func (st *stream) write(p []byte) (int, error) {
	st.wbuf, st.wn, st.werr = p, 0, nil
	err := st.raw.Write(st.writeFn)
	n, werr := st.wn, st.werr
	st.wbuf, st.werr = nil, nil
	if err == nil {
		err = werr
	}
	return n, err
}

// tracker follows what Shutdown waits for besides fasthttp's own connections: paced
// streams, connections handed back to fasthttp (until ServeConn returns, since fasthttp
// may not count them yet when it shuts down) and hanging requests.
type tracker struct {
	stopping atomic.Bool // set by stop; read without the lock on the request path

	mu      sync.Mutex
	stopped bool
	busy    int // paced streams and hangs that have not ended
	served  map[net.Conn]struct{}
	hangs   map[net.Conn]struct{}
	idle    chan struct{} // closed when nothing is left; made by wait
}

func newTracker() *tracker {
	return &tracker{served: make(map[net.Conn]struct{}), hangs: make(map[net.Conn]struct{})}
}

// stop refuses new hangs and hand-backs and closes the hanging connections.
func (t *tracker) stop() {
	t.stopping.Store(true)
	t.mu.Lock()
	t.stopped = true
	for c := range t.hangs {
		_ = c.Close()
	}
	t.mu.Unlock()
}

// streamStarted counts a paced stream until done; it reports whether the server is
// stopping.
func (t *tracker) streamStarted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.busy++
	return t.stopped
}

// done ends what streamStarted or a successful hangStarted counted, once its journal
// entry is recorded.
func (t *tracker) done() {
	t.mu.Lock()
	t.busy--
	t.notify()
	t.mu.Unlock()
}

// serveStarted records a hand-back; it reports false when the server is stopping.
func (t *tracker) serveStarted(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.served[c] = struct{}{}
	return true
}

func (t *tracker) serveEnded(c net.Conn) {
	t.mu.Lock()
	delete(t.served, c)
	t.notify()
	t.mu.Unlock()
}

// closeServed closes the handed-back connections that wait for a request, or with all
// set, every one still served: after fasthttp shut down, those are hand-backs that
// reached ServeConn too late for it to count them.
func (t *tracker) closeServed(all bool) {
	t.mu.Lock()
	for c := range t.served {
		if mc, ok := c.(*mockConn); all || ok && fasthttp.ConnState(mc.state.Load()) == fasthttp.StateIdle {
			_ = c.Close()
		}
	}
	t.mu.Unlock()
}

// hangStarted records a hanging connection, counted until done; it reports false when
// the server is stopping.
func (t *tracker) hangStarted(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.hangs[c] = struct{}{}
	t.busy++
	return true
}

// hangEnded forgets a hanging connection; it reports whether the hang ended because
// the server stopped.
func (t *tracker) hangEnded(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.hangs, c)
	return t.stopped
}

// notify wakes wait when nothing is left; t.mu is held.
func (t *tracker) notify() {
	if t.idle != nil && t.busy == 0 && len(t.served) == 0 {
		close(t.idle)
		t.idle = nil
	}
}

// wait waits until every paced stream, handed-back connection and hang has ended.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.busy == 0 && len(t.served) == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

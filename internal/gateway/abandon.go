package gateway

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
)

// A client that goes away while Sluice waits for the upstream's reply
// (a buffered reply, or a stream's reply headers) is noticed by one sweeper
// per gateway, not by a goroutine per request: every exchange waiting on
// its upstream is on a list (two short critical sections per upstream
// exchange), and every sweepInterval the sweeper asks the kernel, without
// reading, whether each of their client connections was closed by the peer
// (peerClosed). Nothing is read from the client, so a pipelined next
// request stays where it is, and fasthttp's read deadlines are not touched.
// A closed client cancels the upstream call (provider.Call.Cancel closes its
// connection, which the upstream sees) and the request is recorded as 499.
//
// Once a stream's reply has started, the relay's own watcher takes over
// (relay.go). See docs/decisions/0004-upstream-cancel.md.

// sweepInterval bounds how long an abandoned upstream request runs on: the
// cancel reaches the upstream within one interval of the client's close.
const sweepInterval = 250 * time.Millisecond

// sweepIdleRounds is how many sweeps with nothing to watch end the
// sweeper goroutine; the next wait starts it again.
const sweepIdleRounds = 4

// abandonWatch is an exchange's part of the waiter list.
type abandonWatch struct {
	call       provider.Call // the upstream call in flight, cancelled when the client leaves
	prev, next *exchange     // guarded by waiters.mu
	seq        uint64        // guarded by waiters.mu: registration number; 0: not on the list
	conn       net.Conn      // guarded by waiters.mu: the client's connection
}

// reset readies the watch for the next request. The list fields are
// waiters.remove's to clear, under its lock.
func (w *abandonWatch) reset() { w.call.Reset() }

// waiters is the list of exchanges waiting on their upstream. The zero
// value is ready; its goroutine runs only while there is something to watch.
type waiters struct {
	mu      sync.Mutex
	head    *exchange
	seq     uint64
	running bool
	idle    int
	snap    []waited // sweeper-owned scratch
}

type waited struct {
	x    *exchange
	seq  uint64
	conn net.Conn
}

// add puts x on the list while it waits on its upstream; conn is the
// client's connection.
func (ws *waiters) add(x *exchange, conn net.Conn) {
	ws.mu.Lock()
	ws.seq++
	w := &x.aw
	w.seq, w.conn = ws.seq, conn
	w.prev, w.next = nil, ws.head
	if ws.head != nil {
		ws.head.aw.prev = x
	}
	ws.head = x
	if !ws.running {
		ws.running, ws.idle = true, 0
		go ws.sweepLoop()
	}
	ws.mu.Unlock()
}

// remove takes x off the list.
func (ws *waiters) remove(x *exchange) {
	ws.mu.Lock()
	w := &x.aw
	if w.prev != nil {
		w.prev.aw.next = w.next
	} else if ws.head == x {
		ws.head = w.next
	}
	if w.next != nil {
		w.next.aw.prev = w.prev
	}
	w.prev, w.next, w.seq, w.conn = nil, nil, 0, nil
	ws.mu.Unlock()
}

func (ws *waiters) sweepLoop() {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for range t.C {
		if !ws.sweep() {
			return
		}
	}
}

// sweep cancels the upstream call of every waiting exchange whose client
// closed its connection. It reports whether the sweeper is to go on.
func (ws *waiters) sweep() bool {
	ws.mu.Lock()
	if ws.head == nil {
		ws.idle++
		if ws.idle >= sweepIdleRounds {
			ws.running = false
			ws.mu.Unlock()
			return false
		}
		ws.mu.Unlock()
		return true
	}
	ws.idle = 0
	snap := ws.snap[:0]
	for x := ws.head; x != nil; x = x.aw.next {
		snap = append(snap, waited{x: x, seq: x.aw.seq, conn: x.aw.conn})
	}
	ws.mu.Unlock()

	// The system calls run outside the lock: registrations go on meanwhile.
	for i := range snap {
		if !peerClosed(snap[i].conn) {
			snap[i].x = nil
		}
	}
	ws.mu.Lock()
	for i := range snap {
		// Still the same wait (the exchange may have moved on and been
		// reused): cancel under the lock, so it cannot move on meanwhile.
		if x := snap[i].x; x != nil && x.aw.seq == snap[i].seq {
			x.aw.call.Cancel()
		}
		snap[i] = waited{}
	}
	ws.snap = snap[:0]
	ws.mu.Unlock()
	return true
}

// peerClosed reports whether the peer of conn has closed it (or reset it).
// It reads nothing; a connection it cannot inspect is reported open.
func peerClosed(conn net.Conn) bool {
	for range 4 {
		switch c := conn.(type) {
		case syscall.Conn:
			rc, err := c.SyscallConn()
			if err != nil {
				return false
			}
			return rawPeerClosed(rc)
		case interface{ NetConn() net.Conn }: // *tls.Conn
			conn = c.NetConn()
		default:
			return false
		}
	}
	return false
}

// abandon finishes a request whose client went away while Sluice waited
// for its upstream: the reply (if one came) is dropped, the connection is
// closed, and the request is recorded as 499. ue is the exchange's error,
// nil when the reply arrived just as the client left; its usage is then
// still accounted.
func (x *exchange) abandon(ctx *fasthttp.RequestCtx, ue *provider.UpstreamError) {
	resp := &x.upResp
	if ue == nil && resp.BodyStream() == nil && resp.StatusCode() < 300 && x.op != 0 {
		x.usage = x.format.Hooks().Usage(x.op, resp.Body())
	}
	_ = resp.CloseBodyStream()
	x.aw.call.Release()
	x.status = 499
	ctx.SetStatusCode(499)
	ctx.SetConnectionClose()
	x.settle()
}

package mock

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// sched drives every paced stream from a few goroutines, one shard per CPU. A shard
// keeps its streams in a min-heap ordered by when their next step is due and sleeps on
// one timer until the earliest; when it wakes it runs every stream that is due, writing
// each step straight to the stream's socket from scratch buffers of its own. So a held
// stream costs no goroutine, timer or buffer: only its state in the heap and its socket.
//
// Writes never block a shard: a socket that cannot take a whole step (a client that
// reads slowly or not at all) keeps the rest in the stream's own buffer, and the shard
// retries later, backing off, before it produces anything more for that stream.
type sched struct {
	s      *Server
	shards []*shard
	start  sync.Once
	added  atomic.Uint64 // streams handed to the shards, for tests
}

type shard struct {
	s      *Server
	mu     sync.Mutex
	inbox  []*stream // added since the shard last looked; under mu
	closed bool      // the shard has stopped; under mu
	stop   bool      // Shutdown asked the shard to stop; under mu
	wake   chan struct{}

	// Owned by the shard's goroutine.
	heap  []*stream
	timer *time.Timer
	a, b  []byte // chunk payloads of one step
	frame []byte // what one write sends
}

// Retries on a full socket start after minBackoff and double up to maxBackoff.
const (
	minBackoff = time.Millisecond
	maxBackoff = 100 * time.Millisecond
)

func newSched(s *Server) *sched {
	n := max(1, runtime.GOMAXPROCS(0))
	sc := &sched{s: s, shards: make([]*shard, n)}
	for i := range sc.shards {
		sc.shards[i] = &shard{s: s, wake: make(chan struct{}, 1)}
	}
	return sc
}

// add hands st to a shard. It reports false when the shards have stopped; the caller
// then finishes the stream itself.
func (sc *sched) add(st *stream) bool {
	sc.start.Do(func() {
		for _, sh := range sc.shards {
			go sh.loop()
		}
	})
	sc.added.Add(1)
	st.when = st.c.at.Add(st.due)
	sh := sc.shards[st.c.serial%uint64(len(sc.shards))]
	sh.mu.Lock()
	if sh.closed || sh.stop {
		sh.mu.Unlock()
		return false
	}
	sh.inbox = append(sh.inbox, st)
	sh.mu.Unlock()
	sh.signal()
	return true
}

// stop ends pacing: every shard finishes its streams without delay and exits.
func (sc *sched) stop() {
	for _, sh := range sc.shards {
		sh.mu.Lock()
		sh.stop = true
		sh.mu.Unlock()
		sh.signal()
	}
}

func (sh *shard) signal() {
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// loop runs the shard until the scheduler stops.
func (sh *shard) loop() {
	clk := sh.s.clock
	for {
		sh.mu.Lock()
		for _, st := range sh.inbox {
			sh.push(st)
		}
		clear(sh.inbox)
		sh.inbox = sh.inbox[:0]
		if sh.stop {
			sh.closed = true
			sh.mu.Unlock()
			for _, st := range sh.heap {
				go sh.s.finishUnpaced(st)
			}
			clear(sh.heap)
			sh.heap = nil
			return
		}
		sh.mu.Unlock()

		now := clk.now()
		for len(sh.heap) > 0 && !sh.heap[0].when.After(now) {
			sh.run(sh.pop(), now)
		}
		if len(sh.heap) == 0 {
			<-sh.wake
			continue
		}
		clk.sleep(sh.heap[0].when.Sub(now), &sh.timer, sh.wake)
	}
}

// run takes st one step: what a full socket owes first, else the next step of the reply.
// It puts st back in the heap when more is due later.
func (sh *shard) run(st *stream, now time.Time) {
	if st.blocked > 0 {
		n, err := st.write(st.out)
		if err != nil {
			sh.s.endStream(st, err)
			return
		}
		st.out = append(st.out[:0], st.out[n:]...)
		if len(st.out) > 0 {
			sh.retry(st, now)
			return
		}
		st.blocked = 0
		if st.owedEnd != stepMore {
			sh.s.endStream(st, nil)
			return
		}
		st.when = st.c.at.Add(st.due)
		if st.when.After(now) {
			sh.push(st)
			return
		}
	}
	var end stepEnd
	sh.a, sh.b, end = st.step(sh.a[:0], sh.b[:0])
	frame := append(sh.frame[:0], st.out...) // the response head, before the first chunk
	frame = appendChunk(frame, sh.a)
	frame = appendChunk(frame, sh.b)
	if end == stepDone {
		frame = append(frame, "0\r\n\r\n"...)
	}
	sh.frame = frame
	st.bytes += len(sh.a) + len(sh.b)
	if end == stepDone {
		// Journaled before the client can see the end of the reply, as in place.
		st.record()
	}
	n, err := st.write(frame)
	if err != nil {
		sh.s.endStream(st, err)
		return
	}
	st.out = st.out[:0]
	if n < len(frame) {
		st.out = append(st.out, frame[n:]...)
		st.owedEnd = end
		sh.s.metrics.stalls.Add(1)
		sh.retry(st, now)
		return
	}
	if end != stepMore {
		st.owedEnd = end
		sh.s.endStream(st, nil)
		return
	}
	st.when = st.c.at.Add(st.due)
	sh.push(st)
}

// retry schedules another write of what a full socket refused.
func (sh *shard) retry(st *stream, now time.Time) {
	d := min(minBackoff<<min(st.blocked, 10), maxBackoff)
	st.blocked++
	st.when = now.Add(d)
	sh.push(st)
}

// push and pop keep heap a binary min-heap on when.
func (sh *shard) push(st *stream) {
	h := append(sh.heap, st)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].when.Before(h[p].when) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	sh.heap = h
}

func (sh *shard) pop() *stream {
	h := sh.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	h = h[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(h) && h[l].when.Before(h[small].when) {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].when.Before(h[small].when) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	sh.heap = h
	return top
}

// appendChunk appends p framed as one chunk of a chunked body; nothing when p is empty,
// which would read as the terminating chunk.
func appendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = appendHex(dst, len(p))
	dst = append(dst, '\r', '\n')
	dst = append(dst, p...)
	return append(dst, '\r', '\n')
}

func appendHex(dst []byte, n int) []byte {
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = hexDigits[n&0xf]
		n >>= 4
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// finishUnpaced writes the rest of a paced stream without delay, with blocking writes,
// then ends it: what happens to streams when Shutdown ends pacing. The connection is
// closed rather than handed back.
func (s *Server) finishUnpaced(st *stream) {
	st.closeAfter = true
	conn := st.conn
	// A client that stopped reading must not hold the shutdown for long.
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if st.blocked > 0 {
		// What a full socket refused goes first; it may end the reply.
		if _, err := conn.Write(st.out); err != nil || st.owedEnd != stepMore {
			s.endStream(st, err)
			return
		}
		st.out = st.out[:0]
	}
	var a, b, frame []byte
	for {
		var end stepEnd
		a, b, end = st.step(a[:0], b[:0])
		frame = append(frame[:0], st.out...)
		st.out = st.out[:0]
		frame = appendChunk(frame, a)
		frame = appendChunk(frame, b)
		if end == stepDone {
			frame = append(frame, "0\r\n\r\n"...)
		}
		st.bytes += len(a) + len(b)
		if end == stepDone {
			st.record()
		}
		if _, err := conn.Write(frame); err != nil {
			s.endStream(st, err)
			return
		}
		if end != stepMore {
			st.owedEnd = end
			s.endStream(st, nil)
			return
		}
	}
}

// endStream ends a paced stream: err is a failed write (the client went away). A
// complete reply hands the connection back to fasthttp for the next request, unless it
// is to be closed; a cut or failed one closes it.
func (s *Server) endStream(st *stream, err error) {
	conn := st.conn
	if err != nil {
		st.cancelled = true
	}
	st.record()
	if mc, ok := conn.(*mockConn); ok && err == nil && st.owedEnd == stepDone && !st.closeAfter {
		s.handBack(mc, st.rest)
	} else {
		_ = conn.Close()
	}
	st.release()
	s.track.done()
}

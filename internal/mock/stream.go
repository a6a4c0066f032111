package mock

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// errHungUp ends a stream that X-Mock-Disconnect-After cut on purpose.
var errHungUp = errors.New("mock: connection closed by X-Mock-Disconnect-After")

// errNoRead is returned by stream.Read, which fasthttp never calls because the stream
// supports WriteTo.
var errNoRead = errors.New("mock: stream bodies are written with WriteTo")

// stream is the body of one streamed reply. fasthttp calls WriteTo on the connection's
// own goroutine after the handler returned, and every Write to the writer it passes
// is framed as one chunk and flushed: no goroutine, pipe or copy of our own. Pacing
// sleeps on one timer per stream, reused for every token; streams are pooled.
type stream struct {
	s    *Server
	c    call // the request, with model and echo pointing into own
	own  []byte
	conn net.Conn

	w       io.Writer
	buf     []byte // events not yet flushed
	pre     []byte // the format's pre-rendered event prefix
	id      []byte
	pace    pacer
	timer   *time.Timer
	unpaced bool // Shutdown ended pacing

	status    int
	emitted   int // token events flushed
	bytes     int
	cancelled bool
	malformed bool
	recorded  bool
}

var _ fasthttp.BodyWriterTo = (*stream)(nil)

// startStream hands the reply of c to fasthttp as a chunked text/event-stream body.
func (s *Server) startStream(ctx *fasthttp.RequestCtx, c *call, malformed bool) {
	st, _ := s.streams.Get().(*stream)
	if st == nil {
		st = &stream{s: s}
	}
	st.c = *c
	// Copy what points into the request: it is not ours once the handler returns.
	st.own = append(append(st.own[:0], c.model...), c.echo...)
	st.c.model = st.own[:len(c.model):len(c.model)]
	if c.echo != nil {
		st.c.echo = st.own[len(c.model):]
		if st.c.tokens.echo != nil {
			st.c.tokens.echo = st.c.echo
		}
	}
	st.conn = ctx.Conn()
	st.pace = newPacer(&c.st, c.n, c.seed^0x7f4a7c159e3779b9)
	st.status = ctx.Response.StatusCode()
	st.malformed = malformed
	st.id = appendID(st.id[:0], "", c.serial^s.seed)
	s.metrics.openStreams.Add(1)

	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.SetBodyStream(st, -1)
}

func (st *stream) Read([]byte) (int, error) { return 0, errNoRead }

// SupportsBodyWriteTo tells fasthttp that WriteTo may replace Read.
func (st *stream) SupportsBodyWriteTo() bool { return true }

// WriteTo writes the whole stream, pacing it, and records the journal entry as soon as
// the stream ends, however it ends.
func (st *stream) WriteTo(w io.Writer) (int64, error) {
	st.w = w
	st.c.tokens.reset()
	var err error
	switch st.c.route {
	case routeChat:
		err = st.runChat()
	case routeCompletions:
		err = st.runCompletions()
	case routeResponses:
		err = st.runResponses()
	case routeMessages:
		err = st.runMessages()
	case routeGemini:
		err = st.runGemini()
	}
	st.record()
	return int64(st.bytes), err
}

// Close is called by fasthttp when it is done with the body; it returns st to the pool.
func (st *stream) Close() error {
	if !st.recorded {
		// The body was never written: the client was gone before the first byte.
		st.cancelled = true
		st.record()
	}
	s := st.s
	s.metrics.openStreams.Add(-1)
	st.c = call{}
	st.conn, st.w = nil, nil
	st.buf, st.pre = st.buf[:0], st.pre[:0]
	st.unpaced, st.cancelled, st.malformed, st.recorded = false, false, false, false
	st.emitted, st.bytes = 0, 0
	s.streams.Put(st)
	return nil
}

func (st *stream) record() {
	if st.recorded {
		return
	}
	st.recorded = true
	st.s.metrics.count(st.c.route, st.status, st.bytes)
	if e := st.c.entry; e != nil {
		e.Status = st.status
		e.Cancelled = st.cancelled
		st.s.journal.record(*e)
	}
}

// await waits until the next token is due. When X-Mock-Disconnect-After's count of
// tokens has been sent, it flushes what is pending and closes the connection instead.
func (st *stream) await() error {
	if st.c.st.disconnect == st.emitted {
		return st.hangUp()
	}
	due := st.pace.due()
	if st.unpaced {
		return nil
	}
	clk := st.s.clock
	if d := due - clk.now().Sub(st.c.at); d > 0 && !clk.sleep(d, &st.timer, st.s.stop) {
		st.unpaced = true
	}
	return nil
}

// beforeEnd is called after the last token, before the events that close the stream:
// a disconnect count at or beyond the reply's length cuts the stream there. A reply
// that paced no token yet waits for its first byte here.
func (st *stream) beforeEnd() error {
	if st.pace.k == 0 {
		if err := st.await(); err != nil {
			return err
		}
	}
	if st.c.st.disconnect >= 0 {
		return st.hangUp()
	}
	return nil
}

func (st *stream) hangUp() error {
	if len(st.buf) > 0 {
		if err := st.flush(); err != nil {
			return err
		}
	}
	if st.conn != nil {
		_ = st.conn.Close()
	}
	return errHungUp
}

// flush writes the pending events as one chunk. A failed write means the client went
// away.
func (st *stream) flush() error {
	n, err := st.w.Write(st.buf)
	st.bytes += n
	st.buf = st.buf[:0]
	if err != nil {
		st.cancelled = true
		st.record()
		return err
	}
	return nil
}

// tokenSent flushes the event of one token, which starts at mark in buf. With
// malformed set the first token's event is cut in half: broken JSON.
func (st *stream) tokenSent(mark int) error {
	if st.malformed && st.emitted == 0 {
		st.buf = append(st.buf[:mark+(len(st.buf)-mark)/2], "\n\n"...)
	}
	if err := st.flush(); err != nil {
		return err
	}
	st.emitted++
	st.s.metrics.events.Add(1)
	return nil
}

// appendEvent appends an SSE event with an event: line (Anthropic, Responses).
func appendEventName(dst []byte, name string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	return append(dst, "\ndata: "...)
}

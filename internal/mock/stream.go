package mock

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/valyala/fasthttp"
)

// errHungUp ends a stream that X-Mock-Disconnect-After cut on purpose.
var errHungUp = errors.New("mock: connection closed by X-Mock-Disconnect-After")

// errNoRead is returned by stream.Read, which fasthttp never calls because the stream
// supports WriteTo.
var errNoRead = errors.New("mock: stream bodies are written with WriteTo")

// A streamed reply is a head, a number of paced units and a tail. A unit is one token
// event (a text delta, or one fragment of a tool call's arguments); unit i is due at the
// i-th offset of the reply's pacer. The head goes out with unit 0, in the same chunk; the
// tail right after the last unit, in a chunk of its own (with no unit at all, head and
// tail share one chunk, at the first token's time). Every unit is one chunk of the
// chunked body, so that a client sees each token as soon as it is due.
//
// X-Mock-Disconnect-After N cuts the stream before unit N, or before the tail when N is
// at or beyond the reply's length: what is pending is written, then the connection is
// closed with no terminating chunk.
//
// A stream is driven in one of two ways, which put the same bytes on the wire:
//   - paced (sched.go): the connection is hijacked from fasthttp and one of a few pacer
//     goroutines writes each unit when it is due, straight to the socket, then hands the
//     keep-alive connection back to fasthttp. A held stream costs its small state and its
//     socket: no goroutine, timer or buffer of its own.
//   - in place (WriteTo, below): fasthttp writes the body on the connection's own
//     goroutine. Streams with nothing to wait for (TTFT, ITL and latency all zero) take
//     this path, which is cheaper for them, as do streams on connections that cannot be
//     written to directly and streams that start while the server shuts down.
type stream struct {
	s   *Server
	c   call // the request; model points into own
	own []byte
	id  []byte // the reply's id, 24 base62 characters

	pace   pacer
	units  int           // paced units in the reply
	next   int           // index of the next unit; units when only the tail is left
	argPos int           // read position in the tool call's arguments
	cutAt  int           // X-Mock-Disconnect-After as a unit index; -1: never
	due    time.Duration // offset from c.at at which the next step is due
	status int
	seq    int // Responses: sequence number of the next event

	malformed bool
	bytes     int // body bytes written, chunk framing excluded
	cancelled bool
	recorded  bool
	conn      net.Conn // the client's connection

	// Bedrock event streams only (bedrock.go): the encoder, its writer and the
	// payload being built, kept with the pooled stream.
	enc     *eventstream.Encoder
	ew      appendWriter
	payload []byte

	// In-place streams only.
	w       io.Writer
	timer   *time.Timer
	unpaced bool // Shutdown ended pacing
	buf     []byte
	buf2    []byte

	// Paced streams only (sched.go, conn.go).
	raw        syscall.RawConn
	when       time.Time // when the next step is due; the pacer's heap key
	out        []byte    // bytes owed to the socket: the response head before the first chunk, or what a full socket refused
	owedEnd    stepEnd   // what follows once out is written
	blocked    int       // consecutive retries on a full socket
	rest       []byte    // bytes of pipelined requests that fasthttp had read past this one
	closeAfter bool      // the request asked to close the connection
	peek       [64]byte  // read buffer for rest
	onHijack   fasthttp.HijackHandler
	writeFn    func(fd uintptr) bool // writes wbuf; bound once per pooled stream
	wbuf       []byte
	wn         int
	werr       error
}

// stepEnd says what follows a step.
type stepEnd uint8

const (
	stepMore stepEnd = iota // more units are due later
	stepDone                // the reply is complete: the terminating chunk follows
	stepCut                 // X-Mock-Disconnect-After: close the connection now
)

var _ fasthttp.BodyWriterTo = (*stream)(nil)

// newStream prepares the stream of c, taken from the pool.
func (s *Server) newStream(c *call, status int, malformed bool) *stream {
	st, _ := s.streams.Get().(*stream)
	if st == nil {
		st = &stream{s: s}
		st.onHijack = st.hijacked
		st.writeFn = st.writeRaw
	}
	st.c = *c
	// Copy what points into the request: it is not ours once the handler returns.
	st.own = append(append(append(st.own[:0], c.model...), c.tools...), c.toolChoice...)
	m, t := len(c.model), len(c.model)+len(c.tools)
	st.c.model = st.own[:m:m]
	if c.tools != nil {
		st.c.tools = st.own[m:t:t]
	}
	if c.toolChoice != nil {
		st.c.toolChoice = st.own[t:]
	}
	st.c.tokens.reset()
	st.id = appendID(st.id[:0], "", c.serial^s.seed)
	st.pace = newPacer(&c.st, c.n, c.seed^paceSalt)
	st.units = st.c.countUnits()
	st.next, st.argPos, st.seq = 0, 0, 0
	st.cutAt = c.st.disconnect
	if c.route == routeGemini && st.units > 0 && st.cutAt >= st.units {
		// Gemini's last unit carries the finish reason: a cut at or beyond the reply's
		// length comes before it, as the other formats cut before their end events.
		st.cutAt = st.units - 1
	}
	st.due = 0
	if st.cutAt != 0 {
		st.due = st.pace.due()
	}
	st.status = status
	st.malformed = malformed
	s.metrics.openStreams.Add(1)
	return st
}

// paced reports whether the stream has anything to wait for.
func (st *stream) paced() bool {
	return st.pace.first > 0 || st.pace.gap > 0
}

// countUnits returns the number of paced units of the reply.
func (c *call) countUnits() int {
	frags := 0
	if c.tool != nil {
		frags = c.tool.fragments()
	}
	switch c.route {
	case routeChat:
		if c.tool != nil {
			return c.n + 1 + frags // the call's id and name, then its arguments
		}
	case routeResponses:
		if c.tool != nil {
			return frags
		}
	case routeMessages, routeConverse:
		return frags + c.n
	}
	return c.n
}

// step appends what is due now to a and b, the payloads of at most two chunks (either
// may stay empty), and says what follows. It never blocks.
func (st *stream) step(a, b []byte) ([]byte, []byte, stepEnd) {
	i := st.next
	if i == 0 {
		a = st.appendHead(a)
		if st.cutAt == 0 {
			return a, b, stepCut
		}
	}
	if i == st.units { // no unit at all: the tail goes with the head
		if st.cutAt >= 0 {
			return a, b, stepCut
		}
		return st.appendTail(a), b, stepDone
	}
	mark := len(a)
	a = st.appendUnit(a, i)
	if st.malformed && i == 0 && st.c.route != routeConverse {
		// The first token's event is cut in half: broken JSON. (A Bedrock event
		// stream cuts the payload inside a well-framed message: converseUnit.)
		a = append(a[:mark+(len(a)-mark)/2], "\n\n"...)
	}
	st.next++
	st.s.metrics.events.Add(1)
	switch {
	case st.next < st.units:
		if st.cutAt == st.next {
			return a, b, stepCut
		}
		st.due = st.pace.due()
		return a, b, stepMore
	case st.cutAt >= 0:
		return a, b, stepCut
	}
	return a, st.appendTail(b), stepDone
}

// appendHead appends the events that open the stream.
func (st *stream) appendHead(b []byte) []byte {
	switch st.c.route {
	case routeChat:
		return st.chatHead(b)
	case routeResponses:
		return st.responsesHead(b)
	case routeMessages:
		return st.messagesHead(b)
	case routeConverse:
		return st.converseHead(b)
	case routeGemini:
		if !st.c.sse {
			return append(b, '[')
		}
	}
	return b
}

// appendUnit appends the event of unit i; units are appended in order.
func (st *stream) appendUnit(b []byte, i int) []byte {
	switch st.c.route {
	case routeChat:
		return st.chatUnit(b, i)
	case routeCompletions:
		return st.completionsUnit(b)
	case routeResponses:
		return st.responsesUnit(b)
	case routeMessages:
		return st.messagesUnit(b)
	case routeConverse:
		return st.converseUnit(b, i)
	case routeGemini:
		return st.geminiUnit(b, i)
	}
	return b
}

// appendTail appends the events that close the stream.
func (st *stream) appendTail(b []byte) []byte {
	switch st.c.route {
	case routeChat:
		return st.chatTail(b)
	case routeCompletions:
		return st.completionsTail(b)
	case routeResponses:
		return st.responsesTail(b)
	case routeMessages:
		return st.messagesTail(b)
	case routeConverse:
		return st.converseTail(b)
	case routeGemini:
		if st.units == 0 {
			return st.geminiFinal(b, nil)
		}
	}
	return b
}

// nextFragment returns the next piece of the tool call's arguments.
func (st *stream) nextFragment() []byte {
	frag := st.c.tool.fragment(st.argPos)
	st.argPos += len(frag)
	return frag
}

// startStream answers c with a stream: paced on the pacers when it has anything to wait
// for and the connection allows it, else written in place by fasthttp.
func (s *Server) startStream(ctx *fasthttp.RequestCtx, c *call, malformed bool) {
	st := s.newStream(c, ctx.Response.StatusCode(), malformed)
	switch {
	case c.route == routeGemini && !c.sse:
		ctx.SetContentType("application/json; charset=UTF-8")
	case c.route == routeConverse:
		ctx.SetContentType("application/vnd.amazon.eventstream")
	default:
		ctx.SetContentType("text/event-stream; charset=utf-8")
	}
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	if st.paced() && s.hijackStream(ctx, st) {
		return
	}
	st.conn = ctx.Conn()
	ctx.Response.SetBodyStream(st, -1)
}

func (st *stream) Read([]byte) (int, error) { return 0, errNoRead }

// SupportsBodyWriteTo tells fasthttp that WriteTo may replace Read.
func (st *stream) SupportsBodyWriteTo() bool { return true }

// WriteTo writes the whole stream in place, pacing it with the stream's own timer, and
// records the journal entry as soon as the stream ends, however it ends. fasthttp frames
// every Write as one chunk and flushes it.
func (st *stream) WriteTo(w io.Writer) (int64, error) {
	st.w = w
	for {
		st.wait()
		var end stepEnd
		st.buf, st.buf2, end = st.step(st.buf[:0], st.buf2[:0])
		if err := st.writeChunk(st.buf); err != nil {
			return int64(st.bytes), err
		}
		if err := st.writeChunk(st.buf2); err != nil {
			return int64(st.bytes), err
		}
		switch end {
		case stepCut:
			// Journal first: a client that sees the connection close may
			// read the journal at once.
			st.record()
			if st.conn != nil {
				_ = st.conn.Close()
			}
			return int64(st.bytes), errHungUp
		case stepDone:
			st.record()
			return int64(st.bytes), nil
		}
	}
}

// wait sleeps until the next step is due, unless Shutdown ended pacing.
func (st *stream) wait() {
	if st.unpaced || st.due <= 0 {
		return
	}
	clk := st.s.clock
	if d := st.due - clk.now().Sub(st.c.at); d > 0 && !clk.sleep(d, &st.timer, st.s.stop) {
		st.unpaced = true
	}
}

// writeChunk writes one chunk in place. A failed write means the client went away.
func (st *stream) writeChunk(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := st.w.Write(p)
	st.bytes += n
	if err != nil {
		st.cancelled = true
		st.record()
		return err
	}
	return nil
}

// Close is called by fasthttp when it is done with the body of an in-place stream.
func (st *stream) Close() error {
	if !st.recorded {
		// The body was never written: the client was gone before the first byte.
		st.cancelled = true
		st.record()
	}
	st.release()
	return nil
}

// record counts the reply and journals it, once.
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

// release returns st to the pool. It keeps its buffers, drops every reference.
func (st *stream) release() {
	s := st.s
	s.metrics.openStreams.Add(-1)
	st.c = call{}
	st.conn, st.w, st.raw = nil, nil, nil
	st.buf, st.buf2, st.out, st.rest = st.buf[:0], st.buf2[:0], st.out[:0], st.rest[:0]
	st.wbuf, st.werr = nil, nil
	st.ew.b, st.payload = nil, st.payload[:0]
	st.unpaced, st.cancelled, st.malformed, st.recorded, st.closeAfter = false, false, false, false, false
	st.bytes, st.blocked = 0, 0
	st.owedEnd = stepMore
	s.streams.Put(st)
}

// appendEventName appends the start of an SSE event with an event: line (Anthropic,
// Responses).
func appendEventName(dst []byte, name string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	return append(dst, "\ndata: "...)
}

package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// The exchange is its own response body stream while relaying: fasthttp
// calls WriteTo on the connection's goroutine (no extra goroutine, no pipe)
// and frames every Write as one flushed chunk; Close settles the exchange.
var _ fasthttp.BodyWriterTo = (*exchange)(nil)

// maxEvent bounds one upstream stream event.
const maxEvent = 1 << 20

var (
	errClientGone   = errors.New("client went away")
	errTotalTimeout = errors.New("total timeout")
	errGuardBlock   = errors.New("guardrail blocked the stream")
)

// relayState is the exchange's streaming: the upstream's stream, read and
// relayed to the client connection by WriteTo.
type relayState struct {
	stream      bool // a model route's client asked for a stream
	raw         bool // relay bytes as they come (passthrough), no SSE parsing
	hideUsage   bool
	sawTerminal bool
	seqNext     int64 // Responses: the sequence_number after the upstream's last event
	// deltas counts the events of the stream that carried output (its
	// tokens received so far, one per delta as best counted): what a cut
	// stream is charged for when its usage says less (streamedOutput).
	deltas      int64
	conn        net.Conn
	writeTO     time.Duration
	bodyStream  fasthttp.ReadCloserWithError // guarded by mu once the timer runs
	rd          *sse.Reader                  // kept across requests, reset
	upRead      waitTimer                    // the reply stream, timed (rd reads through it)
	out         []byte
	outPos      int
	done        bool
	timer       *time.Timer
	watchDone   chan struct{}
	watchStop   atomic.Bool
	clientBytes atomic.Bool // the watcher consumed a byte the client sent
}

// reset needs no lock: after a relay, closeRelay stopped the timer and
// cleared bodyStream under mu in a new generation, so a late timer or
// watcher call reads neither.
func (r *relayState) reset() {
	r.stream, r.raw, r.hideUsage, r.sawTerminal, r.done = false, false, false, false, false
	r.seqNext, r.writeTO, r.deltas = 0, 0, 0
	r.conn, r.bodyStream, r.timer, r.watchDone = nil, nil, nil, nil
	r.watchStop.Store(false)
	r.clientBytes.Store(false)
	r.out, r.outPos = reuse(r.out), 0
	r.upRead = waitTimer{}
	if r.rd != nil {
		r.rd.Reset(nil)
	}
}

// cancelState lets the relay's timer and client watcher, which run on
// goroutines of their own, cancel the exchange they were started for and
// no later one.
type cancelState struct {
	mu     sync.Mutex // guards gen and reason against late timer calls
	gen    uint64     // the relay's generation; counts on across reuses, never zeroed
	reason cancelReason
}

// reset starts a new generation: a timer or watcher of the request before
// finds gen changed and does nothing.
func (c *cancelState) reset() {
	c.mu.Lock()
	c.gen++
	c.reason = reasonNone
	c.mu.Unlock()
}

// startRelay makes the exchange the response body. deadline is when the
// total timeout ends the stream.
func (x *exchange) startRelay(ctx *fasthttp.RequestCtx, deadline time.Time) {
	bs, ok := x.upResp.BodyStream().(fasthttp.ReadCloserWithError)
	if !ok {
		// fasthttp's streamed bodies implement it; anything else is a bug.
		x.fail(ctx, errorf(500, CodeInternal, "Sluice hit an internal error relaying the reply; retry the request"))
		return
	}
	x.bodyStream = bs
	x.conn = ctx.Conn()
	x.writeTO = x.s.cfg.Server.WriteTimeout.D()
	x.upRead = waitTimer{r: bs, wait: &x.upWait}
	if !x.raw {
		if x.rd == nil {
			x.rd = sse.NewReader(&x.upRead, maxEvent)
		} else {
			x.rd.Reset(&x.upRead)
		}
	}
	x.mu.Lock()
	gen := x.gen
	x.mu.Unlock()
	x.timer = time.AfterFunc(time.Until(deadline), func() { x.cancel(gen, reasonTotalTimeout) })
	if x.gpol != nil && x.gpol.HasOutput() && !x.raw {
		x.gs = x.gpol.NewStream(x.format, x.op)
	}
	x.g.met.StreamsOpen().Inc()
	if !ctx.Request.Header.IsHTTP11() {
		// HTTP/1.0 has no chunked encoding (RFC 9112 §6.1) and fasthttp
		// would use it for a body of unknown length: relay the whole stream
		// first and send it with a Content-Length. Rare (curl -0, old
		// proxies); everything else streams.
		var body []byte
		for !x.done {
			x.fill()
			body = append(body, x.out...)
			x.out = x.out[:0]
		}
		ctx.Response.SetBodyRaw(body)
		x.closeRelay() // the handler's finish settles and releases
		return
	}
	x.relaying = true
	ctx.Response.SetBodyStream(x, -1)
}

// cancel stops the upstream side of the relay for reason, unless the
// exchange has moved on (gen differs) or was already cancelled.
func (x *exchange) cancel(gen uint64, reason cancelReason) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gen != gen || x.reason != reasonNone || x.bodyStream == nil {
		return
	}
	x.reason = reason
	err := errClientGone
	if reason == reasonTotalTimeout {
		err = errTotalTimeout
	}
	_ = x.bodyStream.CloseWithError(err)
}

func (x *exchange) cancelReason() cancelReason {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.reason
}

// watchClient notices a client that closes its connection while the relay
// waits for the upstream, and cancels the upstream at once. HTTP/1.1
// clients send nothing while they read a reply, so a read returns only when
// the client hangs up (or, rarely, pipelines its next request).
// See docs/decisions/0005-stream-disconnect-watcher.md.
func (x *exchange) watchClient(gen uint64) {
	defer close(x.watchDone)
	var b [1]byte
	n, err := x.conn.Read(b[:])
	if n > 0 {
		x.clientBytes.Store(true)
		return
	}
	var ne net.Error
	if x.watchStop.Load() || (errors.As(err, &ne) && ne.Timeout()) {
		return // stopped by stopWatch, not by the client
	}
	x.cancel(gen, reasonClientGone)
}

// SupportsBodyWriteTo tells fasthttp to use WriteTo for chunked framing.
func (x *exchange) SupportsBodyWriteTo() bool { return true }

// WriteTo relays the upstream stream to w, one write (one flushed chunk) per
// batch of events already received.
func (x *exchange) WriteTo(w io.Writer) (int64, error) {
	x.mu.Lock()
	gen := x.gen
	x.mu.Unlock()
	x.watchDone = make(chan struct{})
	// fasthttp armed a read deadline (server.read_timeout) for reading the
	// request; the watcher must block for as long as the stream lasts.
	_ = x.conn.SetReadDeadline(time.Time{})
	go x.watchClient(gen)
	defer x.stopWatch()

	var total int64
	for !x.done {
		x.fill()
		if len(x.out) == 0 {
			continue
		}
		if x.writeTO > 0 {
			_ = x.conn.SetWriteDeadline(time.Now().Add(x.writeTO))
		}
		if x.s.logBodies == logFull && len(x.logResp) < x.s.maxLogBody {
			x.logResp = append(x.logResp, x.out[:min(len(x.out), x.s.maxLogBody-len(x.logResp))]...)
		}
		n, err := w.Write(x.out)
		total += int64(n)
		x.out = x.out[:0]
		if err != nil {
			x.cancel(gen, reasonClientGone)
			x.status = 499
			x.done = true
			return total, err
		}
	}
	return total, nil
}

// stopWatch ends the client watcher and restores the connection for the
// next request.
func (x *exchange) stopWatch() {
	x.watchStop.Store(true)
	_ = x.conn.SetReadDeadline(time.Now())
	<-x.watchDone
	_ = x.conn.SetReadDeadline(time.Time{})
	if x.clientBytes.Load() {
		// The client sent bytes of a next request that the watcher consumed;
		// this connection cannot serve it. End the chunked body ourselves
		// and close, so the client sees a complete reply and reconnects.
		_, _ = x.conn.Write([]byte("0\r\n\r\n"))
		_ = x.conn.Close()
	}
}

// Read makes the exchange an io.Reader for SetBodyStream. fasthttp calls
// WriteTo instead for chunked bodies, which is every body Sluice streams
// (HTTP/1.0 clients are served buffered by startRelay); Read remains
// correct for any caller that reads.
func (x *exchange) Read(p []byte) (int, error) {
	for x.outPos >= len(x.out) {
		if x.done {
			return 0, io.EOF
		}
		x.out, x.outPos = x.out[:0], 0
		x.fill()
	}
	n := copy(p, x.out[x.outPos:])
	x.outPos += n
	return n, nil
}

// fill appends the next batch of events to x.out: at least one event, and
// every further event already buffered, so a burst costs one write while a
// lone event is never held back. It sets x.done at the end of the stream.
func (x *exchange) fill() {
	if x.raw {
		x.fillRaw()
		return
	}
	if x.translated() {
		x.fillTranslated()
		return
	}
	for {
		ev, err := x.rd.Next()
		if err != nil {
			x.end(err)
			return
		}
		if ev.Incomplete {
			if n := len(ev.Raw); n == 0 || ev.Raw[n-1] != '\n' {
				// The upstream stopped mid-line: relaying the fragment
				// would glue the error event onto a broken line. end()
				// reports the failure on the next call.
				continue
			}
			// Only the blank line is missing (a last "data: [DONE]\n"):
			// the event is whole. Relay it, completed.
			if !x.event(&ev) {
				// ev.Raw's capacity is its length: the append copies.
				ev.Raw = append(ev.Raw, '\n')
				x.relayEvent(&ev)
				if x.done {
					return
				}
			}
			continue
		}
		if len(ev.Data) == 0 && len(ev.Name) == 0 {
			// A comment (keep-alive): relay it as is.
			x.out = append(x.out, ev.Raw...)
		} else if !x.event(&ev) {
			x.relayEvent(&ev)
		}
		if x.done {
			return
		}
		if len(x.out) > 0 && !x.rd.Buffered() {
			return
		}
	}
}

// event inspects one event for usage, the end of the stream and the first
// token (the format's StreamEvent hook); it reports whether the event is to
// be hidden from the client.
func (x *exchange) event(ev *sse.Event) (hide bool) {
	if x.ttft == 0 {
		x.ttft = time.Since(x.start)
	}
	end, usageOnly := x.format.Hooks().StreamEvent(x.op, ev.Name, ev.Data, &x.usage, &x.seqNext)
	if end {
		x.sawTerminal = true
	} else if !usageOnly {
		x.deltas++ // streamedOutput discounts the first, which opens the reply
	}
	return usageOnly && x.hideUsage
}

// collectStreamVerdicts adds the stream scanner's verdicts to the
// exchange's and the metrics, once.
func (x *exchange) collectStreamVerdicts() {
	if x.gs == nil || x.gsCounted {
		return
	}
	x.gsCounted = true
	n := len(x.verdicts)
	x.verdicts = x.gs.Verdicts(x.verdicts[:n])
	x.countVerdicts(n)
}

// relayEvent appends an event the client is to see: as it came, or as the
// output guardrails rewrite it. A block, or an event the guardrails cannot
// read (streamGuardError), ends the stream with the format's error event
// and stops the upstream.
//
// Without output guardrails events are relayed as they came, valid JSON or
// not: Sluice checks nothing there, as a direct connection to the provider
// would not, and validating every event would cost the relay more than all
// its other work (docs/guardrails.md, "What the client sees").
func (x *exchange) relayEvent(ev *sse.Event) {
	if x.gs == nil {
		x.out = append(x.out, ev.Raw...)
		return
	}
	n := len(x.verdicts)
	out, err := x.gs.Event(x.out, ev)
	x.out = out
	if err == nil {
		return
	}
	x.verdicts = x.gs.Verdicts(x.verdicts[:n])
	x.countVerdicts(n)
	x.gsCounted = true
	e := x.streamGuardError(err)
	x.out = x.appendStreamError(x.out, e)
	x.done = true
	x.mu.Lock()
	if x.bodyStream != nil {
		_ = x.bodyStream.CloseWithError(errGuardBlock)
	}
	x.mu.Unlock()
}

// streamGuardError is the error event's error for a stream the output
// guardrails end: a block (the rule named, status unchanged: the client
// got a 200 and a reply cut short on purpose), or an event they cannot
// read, the upstream's fault (502, counted as a malformed reply and logged
// with the request id; never the event, which may hold model text).
func (x *exchange) streamGuardError(err error) *HTTPError {
	if rule := violatedRule(err); rule != "" {
		e := guardError(err, "reply")
		e.Msg = "the stream was cut: the model's reply matched guardrail rule " + quote(rule)
		x.errCode = e.Code
		return e
	}
	name := x.up.Name()
	x.g.met.UpstreamError(name, provider.KindMalformed)
	x.g.log.LogAttrs(context.Background(), slog.LevelWarn, "stream cut: an upstream event is not valid JSON, so output guardrails cannot check it",
		slog.String("request_id", string(x.reqID)), slog.String("provider", name), slog.String("error", err.Error()))
	e := &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: err,
		Msg: "provider " + name + " sent a stream event that is not valid JSON; guardrails cannot check it, so the stream was cut here. Retry the request"}
	x.status, x.errCode = e.Status, e.Code
	return e
}

func (x *exchange) fillRaw() {
	if cap(x.out) < 16<<10 {
		x.out = make([]byte, 0, 16<<10)
	}
	n, err := x.upRead.Read(x.out[len(x.out):cap(x.out)])
	x.out = x.out[:len(x.out)+n]
	if err != nil {
		if errors.Is(err, io.EOF) {
			x.done = true
			return
		}
		x.end(err)
	}
}

// end finishes the stream after a read error (io.EOF included): a stream
// that did not reach its terminal event gets the format's error event.
func (x *exchange) end(err error) {
	x.done = true
	if x.gs != nil && !x.gsCounted {
		var gerr error
		if x.cancelReason() != reasonClientGone {
			// Text still held back is scanned as the end of the reply.
			x.out = x.gs.Finish(x.out)
			gerr = x.gs.Err()
		}
		x.collectStreamVerdicts()
		if gerr != nil {
			x.out = x.appendStreamError(x.out, x.streamGuardError(gerr))
			return
		}
	}
	var e *HTTPError
	switch reason := x.cancelReason(); {
	case reason == reasonClientGone:
		x.status = 499
		return
	case reason == reasonTotalTimeout:
		e = &HTTPError{Status: 504, Code: CodeUpstreamTimeout,
			Msg: "the stream from provider " + x.up.Name() + " ran past its total timeout; it was cut here"}
	case errors.Is(err, io.EOF):
		if x.sawTerminal || x.raw {
			return
		}
		e = &HTTPError{Status: 502, Code: CodeUpstreamUnreachable,
			Msg: "provider " + x.up.Name() + " ended the stream before it was complete; retry the request"}
	case errors.Is(err, sse.ErrEventTooLarge):
		e = &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: err,
			Msg: "provider " + x.up.Name() + " sent a stream event too large to relay"}
	default:
		e = midStreamError(x.up.Name(), provider.Classify(err))
	}
	x.g.met.UpstreamError(x.up.Name(), "stream_"+e.Code)
	x.status, x.errCode = e.Status, e.Code
	if !x.raw {
		x.out = x.appendStreamError(x.out, e)
	}
}

// appendStreamError appends the error event that ends the stream; a
// Responses one continues the upstream's sequence numbers.
func (x *exchange) appendStreamError(dst []byte, e *HTTPError) []byte {
	return appendStreamError(dst, x.op, x.format, e, x.seqNext)
}

// Close is called by fasthttp once the body has been written (or the
// response dropped): it releases the upstream, settles the exchange and
// returns it to the pool.
func (x *exchange) Close() error {
	x.closeRelay()
	x.settle()
	x.release()
	return nil
}

// closeRelay stops the timer, releases (or closes) the upstream connection
// and records a relay that did not run to its end as 499.
func (x *exchange) closeRelay() {
	if x.timer != nil {
		x.timer.Stop()
	}
	x.mu.Lock()
	x.gen++ // late timer or watcher calls must not touch the next request
	bs := x.bodyStream
	x.bodyStream = nil
	x.mu.Unlock()
	if !x.done && x.status != 499 {
		// fasthttp dropped the response before relaying it all.
		x.status = 499
	}
	x.collectStreamVerdicts() // a client that left: what was redacted so far
	if x.traced {
		x.upEnd = time.Now()
	}
	if bs != nil {
		x.upResp.CloseBodyStream() //nolint:errcheck // releases or closes the upstream connection
	}
	x.g.met.StreamsOpen().Dec()
}

// waitTimer times the reads of a streamed reply, the only places a relay
// waits for the upstream: events parsed from what is already buffered cost
// no clock reads, and their parsing counts as Sluice's own time.
type waitTimer struct {
	r    io.Reader
	wait *time.Duration
}

func (w *waitTimer) Read(p []byte) (int, error) {
	t0 := time.Now()
	n, err := w.r.Read(p)
	*w.wait += time.Since(t0)
	return n, err
}

package mock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Options configure a Server. Every field's zero value is usable.
type Options struct {
	// Listen is the address ListenAndServe listens on; empty means 127.0.0.1:9000.
	Listen string
	// TTFT is the default time to the first token; ITL the default time between tokens.
	// Zero means no delay at all.
	TTFT, ITL time.Duration
	// Tokens is the default reply length in tokens; zero means 16.
	Tokens int
	// Seed seeds the reply content; the same seed and request give the same reply.
	Seed int64
	// Echo makes replies repeat the text of the last user message.
	Echo bool
	// Journal is how many requests GET /_mock/requests and Journal keep; zero turns the
	// journal off.
	Journal int
}

// DefaultListen is the address the mock listens on when Options.Listen is empty.
const DefaultListen = "127.0.0.1:9000"

// DefaultTokens is the reply length when Options.Tokens is zero.
const DefaultTokens = 16

// Server is the mock LLM server. It is safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	base    steer // the steering Options give every request
	seed    uint64
	srv     *fasthttp.Server
	journal *journal // nil when off
	clock   clock
	metrics metrics
	serial  atomic.Uint64
	streams sync.Pool // *stream
	sched   *sched    // the pacers of paced streams
	track   *tracker  // what Shutdown waits for besides fasthttp's connections

	stop     chan struct{} // closed by Shutdown: pacing ends, hangs are released
	stopOnce sync.Once
}

// New validates opts and returns a server that is not yet listening. A nil logger
// discards logs.
func New(opts Options, logger *slog.Logger) (*Server, error) {
	switch {
	case opts.TTFT < 0:
		return nil, fmt.Errorf("mock: negative TTFT %v", opts.TTFT)
	case opts.ITL < 0:
		return nil, fmt.Errorf("mock: negative ITL %v", opts.ITL)
	case opts.Tokens < 0 || opts.Tokens > maxSteerTokens:
		return nil, fmt.Errorf("mock: tokens %d out of range 0-%d", opts.Tokens, maxSteerTokens)
	case opts.Journal < 0:
		return nil, fmt.Errorf("mock: negative journal size %d", opts.Journal)
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Tokens == 0 {
		opts.Tokens = DefaultTokens
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:    opts,
		log:     logger,
		seed:    mix64(uint64(opts.Seed) + 0x2545f4914f6cdd1d),
		journal: newJournal(opts.Journal),
		clock:   realClock{},
		stop:    make(chan struct{}),
		track:   newTracker(),
	}
	s.sched = newSched(s)
	s.base = defaultSteer(&s.opts)
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		Name:                  "sluice-mock",
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		// 8 KiB of request head is enough for any SDK; a 1 KiB write buffer holds a
		// non-streamed reply (larger ones go out with writev). Held streams do not keep
		// either: their connections are hijacked (conn.go). ReduceMemoryUsage would
		// cost about 10% of the non-streamed throughput (wrk -c64, 2 cores).
		ReadBufferSize:    8192,
		WriteBufferSize:   1024,
		ReduceMemoryUsage: false,
		// Hijacked connections are ours: paced streams hand theirs back with
		// ServeConn; drop, cutShort and hang close theirs.
		KeepHijackedConns:  true,
		ConnState:          connState,
		MaxRequestBodySize: 64 << 20,
		IdleTimeout:        2 * time.Minute,
		CloseOnShutdown:    true,
		Logger:             fasthttpLogger{logger},
	}
	return s, nil
}

// fasthttpLogger sends fasthttp's own messages (mostly connection errors) to slog at
// debug level.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...), "component", "mock/fasthttp")
}

// Handler returns the request handler, for callers that run their own fasthttp server
// or call it on a RequestCtx directly. Streams served that way are written in place,
// on the connection's goroutine; only the mock's own server (Serve) paces them from its
// pacers.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve serves on ln until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(pacingListener{ln}); err != nil {
		return fmt.Errorf("mock: serve: %w", err)
	}
	return nil
}

// ListenAndServe listens on Options.Listen and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("mock: listen: %w", err)
	}
	s.log.Info("mock listening on "+ln.Addr().String(), "addr", ln.Addr().String())
	return s.Serve(ln)
}

// Start listens on Options.Listen (use 127.0.0.1:0 for an ephemeral port) and serves
// in the background until Shutdown. It returns the bound address, host:port.
func (s *Server) Start() (string, error) {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return "", fmt.Errorf("mock: listen: %w", err)
	}
	addr := ln.Addr().String()
	s.log.Info("mock listening on "+addr, "addr", addr)
	go func() {
		if err := s.Serve(ln); err != nil {
			s.log.Error("mock stopped serving", "err", err)
		}
	}()
	return addr, nil
}

// Shutdown stops accepting connections, ends pacing so that open streams finish at
// once (their connections are then closed), closes hanging connections and waits for
// in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.track.stop()
	s.sched.stop()
	s.track.closeServed(false)
	err := s.srv.ShutdownWithContext(ctx)
	s.track.closeServed(true)
	if werr := s.track.wait(ctx); werr != nil && !errors.Is(err, werr) {
		err = errors.Join(err, werr)
	}
	if err != nil {
		return fmt.Errorf("mock: shutdown: %w", err)
	}
	return nil
}

// handle routes a request.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch string(path) {
	case "/v1/chat/completions":
		s.serveLLM(ctx, routeChat, nil)
	case "/v1/messages":
		s.serveLLM(ctx, routeMessages, nil)
	case "/v1/messages/count_tokens":
		s.serveLLM(ctx, routeCountTokens, nil)
	case "/v1/completions":
		s.serveLLM(ctx, routeCompletions, nil)
	case "/v1/embeddings":
		s.serveLLM(ctx, routeEmbeddings, nil)
	case "/v1/responses":
		s.serveLLM(ctx, routeResponses, nil)
	case "/v1/models":
		s.serveModels(ctx, nil)
	case "/healthz":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok\n")
	case "/metrics":
		s.serveMetrics(ctx)
	case "/_mock/requests":
		s.serveJournal(ctx)
	default:
		s.routeByPrefix(ctx, path)
	}
}

// routeByPrefix serves the routes whose paths carry parameters.
func (s *Server) routeByPrefix(ctx *fasthttp.RequestCtx, path []byte) {
	if id, ok := cutPrefix(path, "/v1/models/"); ok && len(id) > 0 {
		s.serveModels(ctx, id)
		return
	}
	if rest, ok := cutPrefix(path, "/openai/deployments/"); ok {
		if s.serveAzure(ctx, rest) {
			return
		}
	}
	if rest, ok := cutPrefix(path, "/v1beta/models/"); ok {
		s.serveGemini(ctx, rest)
		return
	}
	if rest, ok := cutPrefix(path, "/model/"); ok {
		s.serveBedrock(ctx, rest)
		return
	}
	c := call{route: routeOther, at: s.clock.now()}
	if s.journal != nil {
		c.entry = newEntry(&ctx.Request, c.at)
	}
	k := kindOf(fasthttp.StatusNotFound)
	k.openAICode = "" // OpenAI's unknown-URL error has a null code
	writeErrorKind(ctx, formatOpenAI, fasthttp.StatusNotFound, k,
		"Invalid URL ("+string(ctx.Method())+" "+string(path)+")", "")
	s.finish(ctx, &c)
}

func cutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return nil, false
	}
	return b[len(prefix):], true
}

// serveLLM is the common path of every model route: Bedrock's signature check,
// steering, chaos, then the route's own handler. model, when not nil, names the model
// where the path carries it (Azure deployments, Gemini, Bedrock).
func (s *Server) serveLLM(ctx *fasthttp.RequestCtx, r route, model []byte) {
	c := call{route: r, at: s.clock.now(), serial: s.serial.Add(1), maxTokens: -1}
	if s.journal != nil {
		c.entry = newEntry(&ctx.Request, c.at)
	}
	f := r.format()
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		writeError(ctx, f, fasthttp.StatusMethodNotAllowed, "Use POST for this route.", "")
		s.finish(ctx, &c)
		return
	}
	if f == formatBedrock {
		// AWS checks the signature before anything else, so steering cannot hide a
		// gateway that forgot to sign.
		if msg := checkSigV4(ctx.Request.Header.Peek("Authorization")); msg != "" {
			writeError(ctx, f, fasthttp.StatusForbidden, msg, "")
			s.finish(ctx, &c)
			return
		}
	}
	st, err := parseSteer(&s.base, &ctx.Request)
	if err != nil {
		writeError(ctx, f, fasthttp.StatusBadRequest, err.Error(), "")
		s.finish(ctx, &c)
		return
	}
	c.st = st
	if s.chaos(ctx, &c) {
		return
	}
	body := ctx.PostBody()
	if model != nil {
		c.model = model
	}
	switch r {
	case routeChat:
		s.chat(ctx, &c, body)
	case routeCompletions:
		s.completions(ctx, &c, body)
	case routeEmbeddings:
		s.embeddings(ctx, &c, body)
	case routeResponses:
		s.responses(ctx, &c, body)
	case routeMessages:
		s.messages(ctx, &c, body)
	case routeCountTokens:
		s.countTokens(ctx, &c, body)
	case routeGemini:
		s.gemini(ctx, &c, body)
	case routeGeminiEmbed:
		s.geminiEmbed(ctx, &c, body)
	case routeConverse:
		s.converse(ctx, &c, body)
	}
}

// finish records a reply that was written in full by the handler.
func (s *Server) finish(ctx *fasthttp.RequestCtx, c *call) {
	status := ctx.Response.StatusCode()
	s.metrics.count(c.route, status, len(ctx.Response.Body()))
	if c.entry != nil {
		c.entry.Status = status
		s.journal.record(*c.entry)
	}
}

// wait pauses a non-streamed reply for d, or until Shutdown.
func (s *Server) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	var t *time.Timer
	s.clock.sleep(d, &t, s.stop)
}

// roll returns a number in [0, 100) for a chaos decision of request serial. salt keeps
// the decisions of one request independent.
func (s *Server) roll(serial, salt uint64) float64 {
	x := mix64(s.seed ^ serial*0x9e3779b97f4a7c15 ^ salt)
	return float64(x>>11) / (1 << 53) * 100
}

// chaos applies the steering that replaces a normal reply: hang, drop, a forced error
// status, an error rate. It reports whether it answered the request.
func (s *Server) chaos(ctx *fasthttp.RequestCtx, c *call) bool {
	st := &c.st
	switch {
	case st.hang:
		s.hang(ctx, c)
		return true
	case st.dropRate > 0 && s.roll(c.serial, 1) < st.dropRate:
		s.drop(ctx, c)
		return true
	case st.status >= 400:
		s.failWith(ctx, c, st.status)
		return true
	case st.errorRate > 0 && s.roll(c.serial, 2) < st.errorRate:
		s.failWith(ctx, c, fasthttp.StatusInternalServerError)
		return true
	}
	return false
}

// failWith waits until the first byte would be due, then sends an error of status.
func (s *Server) failWith(ctx *fasthttp.RequestCtx, c *call, status int) {
	if c.st.hasLatency {
		s.wait(c.st.latency)
	} else {
		s.wait(c.st.ttft)
	}
	writeError(ctx, c.route.format(), status, forcedMessage(status), "")
	s.finish(ctx, c)
}

// drop closes the connection without a response.
func (s *Server) drop(ctx *fasthttp.RequestCtx, c *call) {
	s.metrics.count(c.route, 0, 0)
	if c.entry != nil {
		c.entry.Status = 0
		s.journal.record(*c.entry)
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) { _ = conn.Close() })
}

// cutShort sends the head of a non-streamed reply and the share of its body that
// X-Mock-Disconnect-After's N tokens of n stand for (never all of it), then closes the
// connection: the client sees a body shorter than its Content-Length.
func (s *Server) cutShort(ctx *fasthttp.RequestCtx, c *call) {
	body := ctx.Response.Body()
	cut := len(body) * min(c.st.disconnect, c.n) / (c.n + 1)
	var head []byte
	head = append(head, "HTTP/1.1 "...)
	head = appendInt(head, ctx.Response.StatusCode())
	head = append(head, ' ')
	head = append(head, fasthttp.StatusMessage(ctx.Response.StatusCode())...)
	head = append(head, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	head = appendInt(head, len(body))
	head = append(head, "\r\n\r\n"...)
	head = append(head, body[:cut]...)
	s.metrics.count(c.route, ctx.Response.StatusCode(), cut)
	if c.entry != nil {
		c.entry.Status = ctx.Response.StatusCode()
		s.journal.record(*c.entry)
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		_, _ = conn.Write(head)
		_ = conn.Close()
	})
}

// hang accepts the request and never answers; the connection is held until the client
// closes it or the server shuts down. The journal entry is recorded then, cancelled
// when it was the client that went away.
func (s *Server) hang(ctx *fasthttp.RequestCtx, c *call) {
	entry := c.entry
	r := c.route
	// Shutdown closes the raw connection, which ends the read below.
	raw := ctx.Conn()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		stopped := true
		if s.track.hangStarted(raw) {
			defer s.track.done() // after the journal entry below
			var buf [512]byte
			for {
				if _, err := conn.Read(buf[:]); err != nil {
					break
				}
			}
			stopped = s.track.hangEnded(raw)
		}
		_ = conn.Close()
		s.metrics.count(r, 0, 0)
		if entry != nil {
			entry.Status = 0
			entry.Cancelled = !stopped
			s.journal.record(*entry)
		}
	})
}

package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
)

// Server is the listener side of a gateway.
type Server struct {
	g      *Gateway
	srv    *fasthttp.Server
	client bool // the client listener: load shedding and the per-client cap apply
}

// NewServer builds the fasthttp server for g with the configured limits.
func (g *Gateway) NewServer() *Server {
	sc := g.Config().Server
	maxHeader := sc.MaxHeaderBytes.Int()
	return &Server{g: g, client: true, srv: &fasthttp.Server{
		Handler:               g.Handler(),
		ErrorHandler:          g.ErrorHandler,
		Name:                  "",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    sc.MaxRequestBody.Int(),
		ReadBufferSize:        maxHeader,
		ReadTimeout:           sc.ReadTimeout.D(),
		WriteTimeout:          sc.WriteTimeout.D(),
		IdleTimeout:           sc.IdleTimeout.D(),
		CloseOnShutdown:       true,
		// Replies without a Content-Type (rare upstreams, passthrough)
		// must not gain fasthttp's text/plain default.
		NoDefaultContentType: true,
		// The body limit must be enforced before reading: fasthttp checks
		// Content-Length against MaxRequestBodySize up front.
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{g},
		// Keeps raw request bytes out of fasthttp's errors (see fasthttplog.go).
		SecureErrorLogMessage: true,
	}}
}

// NewAdminServer builds a server for the admin API alone (admin.listen).
func (g *Gateway) NewAdminServer() *Server {
	sc := g.Config().Server
	return &Server{g: g, srv: &fasthttp.Server{
		Handler:               g.AdminHandler(),
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		MaxRequestBodySize:    1 << 20,
		ReadTimeout:           sc.ReadTimeout.D(),
		WriteTimeout:          sc.WriteTimeout.D(),
		IdleTimeout:           sc.IdleTimeout.D(),
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{g},
		SecureErrorLogMessage: true,
	}}
}

// fasthttpLogger routes fasthttp's own messages to slog at debug level,
// with whatever could hold request bytes redacted (fasthttpMessage).
type fasthttpLogger struct{ g *Gateway }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.g.log.Debug("fasthttp: " + fasthttpMessage(format, args...))
}

// Serve accepts connections on ln until Shutdown. The gateway reports ready
// once it is serving.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, nil) }

func (s *Server) serve(ln net.Listener, tcfg *tls.Config) error {
	g := s.g
	if s.client && g.clients != nil { // under TLS, so the cap counts sockets
		ln = &capListener{Listener: ln, cc: g.clients, trusted: func() []config.IPRange { return g.Config().Server.TrustedProxies },
			countLoopback: g.capLoopback}
	}
	if tcfg != nil {
		ln = tls.NewListener(ln, tcfg)
	}
	if s.client {
		g.over.start(g.Config)
	}
	g.ready.Store(true)
	return s.srv.Serve(ln)
}

// ServeTLS is Serve with TLS from a certificate and key in PEM files.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	return s.serve(ln, cfg)
}

// Shutdown drains the gateway: /readyz fails at once, after delay the
// listeners close, and in-flight requests and streams run to completion
// until ctx ends. It returns ctx.Err() if streams were still open then.
func (s *Server) Shutdown(ctx context.Context, delay time.Duration) error {
	s.g.draining.Store(true)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	err := s.srv.ShutdownWithContext(ctx)
	if s.client {
		s.g.over.halt()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return err
}

// Ready reports whether the gateway takes traffic.
func (g *Gateway) Ready() bool { return g.ready.Load() && !g.draining.Load() }

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
)

const mockUsage = `Usage: sluice mock [flags]

Serve the LLM-native mock backend: OpenAI (/v1/chat/completions, /v1/completions,
/v1/embeddings, /v1/responses, /v1/models), Anthropic (/v1/messages), Azure OpenAI
(/openai/deployments/{d}/...) and Gemini (/v1beta/models/{model}:{action}), steerable
per request with X-Mock-* headers or query parameters (see docs/mock.md).
Runs until SIGINT or SIGTERM, then shuts down gracefully.

Flags:
  --listen ADDR   address to listen on (default 127.0.0.1:9000; port 0 picks one)
  --ttft D        time to first token, a Go duration such as 50ms or 1.5s (default 0)
  --itl D         time between tokens, a Go duration (default 0)
  --tokens N      reply length in tokens (default 16)
  --seed N        seed of the reply content (default 0)
  --echo          reply with the text of the last user message
  --journal N     keep the last N requests for GET /_mock/requests (default 0: off)
  --log-level L   debug, info, warn or error (default info)
`

// mockShutdownTimeout bounds the graceful shutdown after a signal.
const mockShutdownTimeout = 10 * time.Second

// cmdMock runs `sluice mock`. It returns the process exit status: 0 after a clean
// shutdown or --help, 2 for bad flags, 1 when the server cannot start.
func cmdMock(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runMock(ctx, args, stdout, stderr, nil)
}

// runMock serves until ctx ends. ready, when not nil, is called with the address once
// the mock listens.
func runMock(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) int {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts mock.Options
	var level string
	fs.StringVar(&opts.Listen, "listen", mock.DefaultListen, "")
	fs.DurationVar(&opts.TTFT, "ttft", 0, "")
	fs.DurationVar(&opts.ITL, "itl", 0, "")
	fs.IntVar(&opts.Tokens, "tokens", mock.DefaultTokens, "")
	fs.Int64Var(&opts.Seed, "seed", 0, "")
	fs.BoolVar(&opts.Echo, "echo", false, "")
	fs.IntVar(&opts.Journal, "journal", 0, "")
	fs.StringVar(&level, "log-level", "info", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, mockUsage)
			return 0
		}
		fmt.Fprintf(stderr, "sluice mock: %v\n\n%s", err, mockUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice mock: unexpected argument %q\n\n%s", fs.Arg(0), mockUsage)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		fmt.Fprintf(stderr, "sluice mock: --log-level: %v\n", err)
		return 2
	}
	if opts.Tokens == 0 {
		fmt.Fprintln(stderr, "sluice mock: --tokens must be at least 1")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	srv, err := mock.New(opts, logger)
	if err != nil {
		fmt.Fprintf(stderr, "sluice mock: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		logger.Error("mock cannot listen", "addr", opts.Listen, "err", err)
		return 1
	}
	addr := ln.Addr().String()
	logger.Info("mock listening on "+addr, "addr", addr)
	if ready != nil {
		ready(addr)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil {
			logger.Error("mock stopped", "err", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	logger.Info("mock shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), mockShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("mock shutdown", "err", err)
		return 1
	}
	if err := <-served; err != nil {
		logger.Error("mock stopped", "err", err)
		return 1
	}
	return 0
}

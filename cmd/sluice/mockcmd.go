package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
)

const mockUsage = `Usage: sluice mock [flags]

Serve the LLM-native mock backend: OpenAI (/v1/chat/completions, /v1/completions,
/v1/embeddings, /v1/responses, /v1/models), Anthropic (/v1/messages,
/v1/messages/count_tokens), Azure OpenAI (/openai/deployments/{d}/...), Gemini
(/v1beta/models/{model}:{action}) and Bedrock (/model/{modelId}/converse and
/converse-stream, with a SigV4 Authorization header), steerable per request with
X-Mock-* headers or query parameters (see docs/mock.md).
Runs until SIGINT or SIGTERM, then shuts down gracefully.

Flags:
  --listen ADDR   address to listen on (default 127.0.0.1:9000; port 0 picks one)
  --ttft D        time to first token, a Go duration such as 50ms or 1.5s (default 0)
  --itl D         time between tokens, a Go duration (default 0)
  --tokens N      reply length in tokens (default 16)
  --seed N        seed of the reply content (default 0)
  --echo          reply with the text of the last user message
  --journal N     keep the last N requests for GET /_mock/requests (default 0: off)
  --procs N       Go scheduler threads (GOMAXPROCS) the mock runs on: 0 = every CPU it
                  may use; default half of those (a container's CPU quota counts), at
                  least 1, leaving the rest to the load generator and gateway that
                  usually share the machine (docs/decisions/0002-mock-procs.md); a
                  GOMAXPROCS variable wins
  --log-level L   debug, info, warn or error (default info)
`

// mockShutdownTimeout bounds the graceful shutdown after a signal.
const mockShutdownTimeout = 10 * time.Second

// cmdMock runs `sluice mock`. It returns the process exit status: 0 after a clean
// shutdown or --help, 2 for bad flags, 1 when the server cannot start.
func cmdMock(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runMock(ctx, args, stdout, stderr, nil, func(n int) { runtime.GOMAXPROCS(n) })
}

// mockProcs is the GOMAXPROCS `sluice mock` runs with, 0 meaning "leave the
// runtime's own": a valid GOMAXPROCS variable wins (the runtime has applied it);
// --procs 0 is every CPU the process may use, which is the runtime's default;
// --procs N is N; without either, half of def (the runtime's default, which
// counts a container's CPU quota), at least 1. Next to a load generator on a
// small machine, a mock on every CPU spends its time fighting the load for them:
// on 2 CPUs under wrk -c64 it served 0.59x nginx's RPS on 2 threads and 0.72x
// on 1 (docs/decisions/0002-mock-procs.md).
func mockProcs(flagProcs int, flagSet bool, env string, def int) int {
	if n, err := strconv.Atoi(env); err == nil && n >= 1 {
		return 0
	}
	if flagSet {
		return flagProcs
	}
	return max(1, def/2)
}

// runMock serves until ctx ends. ready, when not nil, is called with the address once
// the mock listens.
//
// setProcs, when not nil, is given the GOMAXPROCS to run with (mockProcs); tests that
// serve in-process pass nil and keep their own.
func runMock(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string), setProcs func(int)) int {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
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
	procs := fs.Int("procs", 0, "")
	if err := parseFlags(fs, args); err != nil {
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
	if *procs < 0 {
		fmt.Fprintln(stderr, "sluice mock: --procs must be 0 (every CPU) or more")
		return 2
	}
	procsSet := false
	fs.Visit(func(f *flag.Flag) { procsSet = procsSet || f.Name == "procs" })
	env := os.Getenv("GOMAXPROCS")
	n := mockProcs(*procs, procsSet, env, runtime.GOMAXPROCS(0))
	if setProcs != nil && n > 0 {
		setProcs(n)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if procsSet && n == 0 && *procs != 0 {
		logger.Warn("the GOMAXPROCS variable is set: --procs is ignored", "GOMAXPROCS", env)
	}
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
	logger.Info("mock listening on "+addr, "addr", addr, "procs", runtime.GOMAXPROCS(0))
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

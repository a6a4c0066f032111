// Package harness starts and stops the processes of a Sluice deployment
// on one machine, for tools that put it under faults or long load (the
// chaos suite, tools/chaos; the soak, tools/soak): a private PostgreSQL
// and Redis on loopback ports of their own with data under a directory
// the caller chooses, the mock, and `sluice serve` instances built from the tree;
// Deployment puts them together as both tools run them (two instances
// sharing PostgreSQL and Redis) and GatewayConfig writes the config they
// serve. It also has the pieces those tools share: an open-loop load
// client that gives every request a unique x-request-id and records what
// the client saw, the accounting of request-log rows against those
// answers, a Prometheus text reader, /proc samplers (open descriptors,
// RSS), and what their main functions and reports have in common (flags,
// signals, the exit status, checks, results files).
//
// It never touches a shared server: PostgreSQL is a fresh cluster made
// with initdb, Redis a fresh redis-server without persistence, each on an
// ephemeral port of 127.0.0.1.
//
// How it fails: every start waits a bounded time for the process to be
// ready and returns an error that carries the tail of its log when it is
// not; every stop sends SIGTERM (SIGINT for PostgreSQL's fast shutdown)
// and SIGKILL after a grace period, so it always returns. Processes are
// direct children; those the harness starts itself die with it
// (Pdeathsig) except PostgreSQL when it runs as another user (the kernel
// clears the signal on a change of user), which the caller stops.
// Nothing here uses testing.T, so the same code serves tests and tools.
package harness

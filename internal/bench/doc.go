// Package bench is Sluice's load-test harness: an open-loop, constant-arrival-rate
// load generator that drives several targets (the mock directly, and any number of
// gateways in front of it) side by side through a ladder of request rates, and writes
// what it measured as results.json, report.md, SVG charts and a self-contained
// report.html. `sluice bench` is its command line.
//
// # Method
//
// Requests are scheduled by the clock, never by replies: request i of a step is due at
// start + i/rate, and its latency is measured from that scheduled time, so a target that
// stalls cannot hide the queue it builds up (no coordinated omission). When the
// generator wakes late (a stall, a busy machine) it sends every request that has come
// due at once, each still timed from its own scheduled time. A bounded pool of worker
// goroutines, each owning at most one keep-alive connection, sends the requests; it
// starts sized to rate × expected latency and grows while requests wait for a free
// worker, up to Config.MaxConns. Latencies go into log-linear histograms (relative
// error under 0.4 %). On Linux the pacer sleeps on a timerfd read through Go's poller,
// which wakes within tens of microseconds; Go's own timers wake at millisecond
// granularity in an idle process, which would add up to a millisecond to every
// latency measured from a schedule.
//
// At each step the targets run one after another, each for a warm-up (discarded) and
// then the step's full measured window, in an order that reverses from one step to the
// next, so a machine that drifts hurts every target alike. The measured population is
// the requests scheduled inside the window; achieved_rps counts the requests actually
// sent inside it. With a PID per target, the target's CPU time over the window (from
// /proc) divided by the requests sent gives CPU microseconds per request, and the
// largest resident set seen gives the peak RSS.
//
// # How it fails
//
// Errors of the target (HTTP status classes, timeouts, resets, refused connections,
// broken streams) are counted by kind and never stop a run; a target whose error rate
// passes Config.StopErrorRate at one step is not run at higher steps. Requests that the
// generator could not send before the drain deadline count as errors of kind
// "not_sent", and a step whose generator fell behind its schedule is flagged in the
// results' warnings, so a report never passes off the generator's limit as the
// target's. Run returns an error only for a bad configuration or a cancelled context
// (with the steps completed so far).
package bench

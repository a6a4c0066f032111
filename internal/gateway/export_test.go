package gateway

import (
	"time"

	"github.com/sluice-gw/sluice/internal/route"
)

// SetAdminClock replaces the clock of g's admin-failure throttle. Call it
// before g serves requests.
func SetAdminClock(g *Gateway, now func() time.Time) { g.adminThrottle.now = now }

// SetRouteClock replaces the clock of g's routing: its targets' breakers
// and the waits between retries. Call it before g serves requests.
func SetRouteClock(g *Gateway, c route.Clock) { g.clock = c }

// SetShedSignals sets what the overload sampler would decide: the memory
// level (0 fine, 1 above 90% of the ceiling, 2 above it) and the CPU shed
// shares of normal and high priority requests (0 to 1). The sampler must
// not run (shed_latency 0s and memory_limit 0).
func SetShedSignals(g *Gateway, mem int32, normal, high float64) {
	g.over.memLevel.Store(mem)
	g.over.dropNormal.Store(uint64(normal * (1 << 32)))
	g.over.dropHigh.Store(uint64(high * (1 << 32)))
}

// CountLoopbackConns makes the per-client connection cap count loopback
// peers, which it exempts in production. Call it before g serves.
func CountLoopbackConns(g *Gateway) { g.capLoopback = true }

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

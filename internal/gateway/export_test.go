package gateway

import "time"

// SetAdminClock replaces the clock of g's admin-failure throttle. Call it
// before g serves requests.
func SetAdminClock(g *Gateway, now func() time.Time) { g.adminThrottle.now = now }

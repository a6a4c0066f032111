package gateway

import (
	"net"
	"testing"
)

// BenchmarkWaitersAddRemove is what watching for a client that leaves costs
// every upstream exchange: on and off the waiter list.
func BenchmarkWaitersAddRemove(b *testing.B) {
	var ws waiters
	ws.running = true // no sweeper: only the list operations are measured
	var conn net.Conn
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		x := &exchange{}
		for pb.Next() {
			ws.add(x, conn)
			ws.remove(x)
		}
	})
}

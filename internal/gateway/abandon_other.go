//go:build !linux

package gateway

import "syscall"

// rawPeerClosed needs poll(2) with POLLRDHUP (Linux): elsewhere a client
// that leaves before the reply is noticed only when the reply is written.
func rawPeerClosed(syscall.RawConn) bool { return false }

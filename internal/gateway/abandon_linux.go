package gateway

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// rawPeerClosed asks the kernel, without reading, whether the peer closed
// or reset the socket: poll(2) with POLLRDHUP and no wait. Bytes the client
// sent meanwhile (a pipelined request) stay unread and do not count; a
// client that only shut down its sending side is reported closed, as a
// 1-byte read would report it.
func rawPeerClosed(rc syscall.RawConn) bool {
	closed := false
	err := rc.Control(func(fd uintptr) {
		fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		n, err := unix.Poll(fds[:], 0)
		closed = err == nil && n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
	})
	return err == nil && closed
}

//go:build unix

package mock

import (
	"net"
	"syscall"
)

// rawConnOf returns the raw connection that paced streams write to.
func rawConnOf(c net.Conn) (syscall.RawConn, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return raw, true
}

// writeRaw writes st.wbuf with write(2) on the non-blocking socket until it is all
// written, the socket is full (EAGAIN) or the connection failed. It always returns true,
// so that RawConn.Write never waits for the socket to become writable: a pacer must not
// block on one slow client. It is bound once per pooled stream (st.writeFn), so a write
// allocates nothing.
func (st *stream) writeRaw(fd uintptr) bool {
	for st.wn < len(st.wbuf) {
		n, err := syscall.Write(int(fd), st.wbuf[st.wn:])
		if n > 0 {
			st.wn += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			st.werr = err
			return true
		case n <= 0:
			return true
		}
	}
	return true
}

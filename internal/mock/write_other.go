//go:build !unix

package mock

import (
	"net"
	"syscall"
)

// rawConnOf reports false: without write(2) streams are written in place by fasthttp.
func rawConnOf(net.Conn) (syscall.RawConn, bool) { return nil, false }

func (st *stream) writeRaw(uintptr) bool { return true }

package provider

import (
	"net"
	"time"
)

// deadlineConn enforces the idle timeout between reads of a response.
//
// fasthttp sets one read deadline per request (we use it for the first-byte
// timeout) and leaves it in place while a streamed body is read, which would
// cut every stream at the first-byte deadline. This wrapper takes over once
// the first response bytes arrived: every later Read pushes the deadline to
// now+idle, so a stream may run as long as events keep coming. A Write starts
// a new request on the connection and hands the first read back to fasthttp's
// deadline.
//
// Read and Write are called sequentially by whichever goroutine owns the
// connection (fasthttp's pool hands it over with a mutex), so the flag needs
// no synchronisation; Close may come from any goroutine.
type deadlineConn struct {
	net.Conn
	idle    time.Duration
	flowing bool
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.flowing = false
	return c.Conn.Write(p)
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if c.flowing && c.idle > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.flowing = true
	}
	return n, err
}

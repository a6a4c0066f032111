package gateway

import (
	"crypto/tls"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// tcpPair returns the two ends of a loopback TCP connection: the server
// end (what the gateway holds) and the client end.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// waitReadable blocks until conn has something to read (bytes, or the
// peer's close), so that a check after it sees what the peer did.
func waitReadable(t *testing.T, conn *net.TCPConn) {
	t.Helper()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var perr error
	if err := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, perr = unix.Poll(fds, 10_000)
	}); err != nil || perr != nil || n != 1 {
		t.Fatalf("connection never became readable: %v %v %d", err, perr, n)
	}
}

func TestPeerClosed(t *testing.T) {
	const next = "POST /v1/chat/completions HTTP/1.1\r\n"
	for _, tc := range []struct {
		name   string
		peer   func(t *testing.T, c *net.TCPConn) // what the client does
		tls    bool                               // inspect through a *tls.Conn
		closed bool
	}{
		{name: "open and silent", closed: false},
		{name: "pipelined next request", peer: func(t *testing.T, c *net.TCPConn) {
			if _, err := c.Write([]byte(next)); err != nil {
				t.Fatal(err)
			}
		}, closed: false},
		{name: "closed", peer: func(_ *testing.T, c *net.TCPConn) { c.Close() }, closed: true},
		{name: "closed over TLS", peer: func(_ *testing.T, c *net.TCPConn) { c.Close() }, tls: true, closed: true},
		{name: "reset", peer: func(_ *testing.T, c *net.TCPConn) {
			_ = c.SetLinger(0)
			c.Close()
		}, closed: true},
		{name: "sent a request, then closed", peer: func(t *testing.T, c *net.TCPConn) {
			if _, err := c.Write([]byte(next)); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}, closed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := tcpPair(t)
			if tc.peer != nil {
				tc.peer(t, client)
				waitReadable(t, server)
			}
			var conn net.Conn = server
			if tc.tls {
				conn = tls.Server(server, &tls.Config{})
			}
			if got := peerClosed(conn); got != tc.closed {
				t.Fatalf("peerClosed = %v, want %v", got, tc.closed)
			}
			if tc.name == "pipelined next request" {
				// The check read nothing: the next request is still there.
				buf := make([]byte, len(next))
				if n, err := server.Read(buf); err != nil || string(buf[:n]) != next {
					t.Fatalf("next request consumed: %q %v", buf[:n], err)
				}
			}
		})
	}
	// A connection that is not a socket cannot be inspected: reported open.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	b.Close()
	if peerClosed(a) {
		t.Error("a pipe was reported closed")
	}
}

func TestSweepCancelsOnlyAbandonedWaits(t *testing.T) {
	var ws waiters
	ws.running = true // sweep is called by hand; add must not start the loop
	type wait struct {
		x      *exchange
		leave  bool // the client closes its connection
		remove bool // the wait ends before the sweep
	}
	waits := []*wait{{leave: true}, {}, {leave: true, remove: true}, {leave: true}, {}}
	for _, w := range waits {
		server, client := tcpPair(t)
		if w.leave {
			client.Close()
			waitReadable(t, server)
		}
		w.x = &exchange{}
		ws.add(w.x, server)
	}
	for _, w := range waits {
		if w.remove {
			ws.remove(w.x)
		}
	}
	if !ws.sweep() {
		t.Fatal("sweeper stopped with waits on its list")
	}
	for i, w := range waits {
		want := w.leave && !w.remove
		if got := w.x.aw.call.Cancelled(); got != want {
			t.Errorf("wait %d: cancelled %v, want %v", i, got, want)
		}
		if !w.remove {
			ws.remove(w.x)
		}
	}
	if ws.head != nil {
		t.Fatal("list not empty after every wait was removed")
	}
	// With nothing to watch the sweeper ends after sweepIdleRounds sweeps.
	for i := 1; i < sweepIdleRounds; i++ {
		if !ws.sweep() {
			t.Fatalf("sweeper stopped after %d idle sweeps", i)
		}
	}
	if ws.sweep() || ws.running {
		t.Fatal("idle sweeper did not stop")
	}
}

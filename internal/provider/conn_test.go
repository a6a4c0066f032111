package provider

import (
	"net"
	"testing"
	"time"
)

// countingConn records the deadlines set on it.
type countingConn struct {
	net.Conn
	reads, writes []time.Time
}

func (c *countingConn) Read(p []byte) (int, error)  { return len(p), nil }
func (c *countingConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *countingConn) SetReadDeadline(t time.Time) error {
	c.reads = append(c.reads, t)
	return nil
}
func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.writes = append(c.writes, t)
	return nil
}

func TestDeadlineConnArmsCoarsely(t *testing.T) {
	inner := &countingConn{}
	c := &deadlineConn{Conn: inner, first: time.Hour, idle: time.Minute}
	buf := make([]byte, 8)
	start := time.Now()
	for i := 0; i < 100; i++ {
		// What fasthttp does per request when it sets no deadline itself.
		_ = c.SetWriteDeadline(time.Time{})
		_ = c.SetReadDeadline(time.Time{})
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil { // first bytes: first-byte deadline
			t.Fatal(err)
		}
	}
	if len(inner.writes) != 1 || len(inner.reads) != 1 {
		t.Fatalf("100 requests set %d write and %d read deadlines, want 1 and 1", len(inner.writes), len(inner.reads))
	}
	if d := inner.reads[0].Sub(start); d < time.Hour-time.Second || d > time.Hour+time.Second {
		t.Errorf("first-byte deadline %v after start, want 1h", d)
	}

	// Once bytes flow, the idle timeout applies: earlier than the armed
	// first-byte deadline, so it is set at once, then kept.
	for i := 0; i < 10; i++ {
		_, _ = c.Read(buf)
	}
	if len(inner.reads) != 2 {
		t.Fatalf("reads set %d deadlines, want 2", len(inner.reads))
	}
	if d := time.Until(inner.reads[1]); d > time.Minute || d < time.Minute-time.Second {
		t.Errorf("idle deadline in %v, want 1m", d)
	}

	// The next request goes back to the first-byte timeout: the armed
	// idle deadline is far too early, so it is set again.
	_, _ = c.Write(buf)
	_, _ = c.Read(buf)
	if len(inner.reads) != 3 || time.Until(inner.reads[2]) < time.Hour-time.Second {
		t.Errorf("deadlines after a new request: %v", inner.reads)
	}
}

func TestDeadlineConnRearmsStaleDeadline(t *testing.T) {
	inner := &countingConn{}
	c := &deadlineConn{Conn: inner, first: time.Second, idle: time.Second}
	c.rd = time.Now().Add(-time.Minute) // armed long ago, already past
	buf := make([]byte, 1)
	_, _ = c.Read(buf)
	if len(inner.reads) != 1 || !inner.reads[0].After(time.Now()) {
		t.Fatalf("a past deadline was not re-armed: %v", inner.reads)
	}
	// An explicit deadline from a caller is set as is.
	at := time.Now().Add(5 * time.Millisecond)
	_ = c.SetReadDeadline(at)
	if inner.reads[len(inner.reads)-1] != at {
		t.Error("explicit deadline not set")
	}
}

func TestDeadlineConnWithoutTimeouts(t *testing.T) {
	inner := &countingConn{}
	c := &deadlineConn{Conn: inner}
	buf := make([]byte, 1)
	_, _ = c.Write(buf)
	_, _ = c.Read(buf)
	_, _ = c.Read(buf)
	if len(inner.reads)+len(inner.writes) != 0 {
		t.Errorf("deadlines set without timeouts: %v %v", inner.reads, inner.writes)
	}
}

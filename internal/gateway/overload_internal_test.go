package gateway

import (
	"bufio"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
	smetrics "github.com/sluice-gw/sluice/internal/metrics"
)

func TestWindowQuantile(t *testing.T) {
	h := &metrics.Float64Histogram{
		Buckets: []float64{0, 0.001, 0.01, 0.1, math.Inf(1)},
		Counts:  []uint64{100, 10, 5, 2},
	}
	if got := windowQuantile(h, nil, 0.5); got != 0.001 {
		t.Errorf("p50 of everything %v, want 0.001", got)
	}
	if got := windowQuantile(h, nil, 0.99); got != 0.1 {
		t.Errorf("p99 of everything %v, want 0.1", got)
	}
	// Since the last sample only the slow buckets grew: 0 fast, 1 in
	// (0.01, 0.1], 3 above 0.1.
	prev := []uint64{100, 10, 4, 0}
	if got := windowQuantile(h, prev, 0.5); got != 0.1 {
		t.Errorf("window p50 %v, want 0.1 (the +Inf bucket reports its lower bound)", got)
	}
	if got := windowQuantile(h, h.Counts, 0.99); got != 0 {
		t.Errorf("empty window %v, want 0", got)
	}
}

// TestSteer: overloaded windows grow normal keys' share first, high
// priority's only once normal's is full; calm windows shrink high's first.
func TestSteer(t *testing.T) {
	o, err := newOverload(smetrics.New())
	if err != nil {
		t.Fatal(err)
	}
	share := func() (float64, float64) {
		return float64(o.dropNormal.Load()) / (1 << 32), float64(o.dropHigh.Load()) / (1 << 32)
	}
	for range 10 {
		o.steer(true, 3)
	}
	if n, h := share(); math.Abs(n-1) > 1e-6 || h != 0 {
		t.Fatalf("after 10 overloaded windows: normal %v high %v, want 1 and 0", n, h)
	}
	o.steer(true, 3)
	o.steer(true, 3)
	if n, h := share(); math.Abs(n-1) > 1e-6 || math.Abs(h-0.2) > 1e-6 {
		t.Fatalf("after 2 more: normal %v high %v, want 1 and 0.2", n, h)
	}
	for range 4 {
		o.steer(false, 0.5)
	}
	if n, h := share(); math.Abs(n-1) > 1e-6 || h != 0 {
		t.Fatalf("after 4 calm windows: normal %v high %v, want 1 and 0", n, h)
	}
	for range 20 {
		o.steer(false, 0.5)
	}
	if n, h := share(); n != 0 || h != 0 {
		t.Fatalf("after 20 more: normal %v high %v, want 0 and 0", n, h)
	}
	// Just over the threshold the step is small: a tenth of a full one.
	o.steer(true, 1.05)
	if n, _ := share(); math.Abs(n-0.01) > 1e-6 {
		t.Fatalf("one window 5%% over: normal %v, want 0.01", n)
	}
	o.steer(true, 1.5)
	if n, _ := share(); math.Abs(n-0.06) > 1e-6 {
		t.Fatalf("then one 50%% over: normal %v, want 0.06", n)
	}
}

// TestClientConnCap: the listener counts connections per client address;
// one past the cap is answered 429 with Connection: close, one that sends
// nothing is closed after overCapReadWait, and a closed connection gives
// its count back. Loopback is exempt in production, so the test counts it.
func TestClientConnCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cc := newClientConns(2)
	ln := &capListener{Listener: inner, cc: cc, trusted: func() []config.IPRange { return nil }, countLoopback: true}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if overCap(ctx) {
			ctx.SetConnectionClose()
			ctx.SetStatusCode(429)
			return
		}
		ctx.SetStatusCode(200)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	addr := inner.Addr().String()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	get := func(c net.Conn) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	a, b := dial(), dial()
	if get(a).StatusCode != 200 || get(b).StatusCode != 200 {
		t.Fatal("connections within the cap refused")
	}
	c := dial()
	if resp := get(c); resp.StatusCode != 429 || !resp.Close {
		t.Fatalf("third connection: %d close=%v, want 429 and Connection: close", resp.StatusCode, resp.Close)
	}
	// A connection past the cap that sends nothing is closed (fasthttp may
	// say 408 first).
	idle := dial()
	_ = idle.SetReadDeadline(time.Now().Add(overCapReadWait + 5*time.Second))
	start := time.Now()
	if got, err := io.ReadAll(idle); err != nil || (len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 408")) {
		t.Fatalf("idle connection past the cap: read %q, %v; want it closed", got, err)
	}
	if d := time.Since(start); d > overCapReadWait+3*time.Second {
		t.Errorf("idle connection past the cap closed after %v, want about %v", d, overCapReadWait)
	}
	// Closing one within the cap makes room.
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cc.mu.Lock()
		n := cc.n[netipLoopback()]
		cc.mu.Unlock()
		if n <= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("count %d after closes, want ≤ 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp := get(dial()); resp.StatusCode != 200 {
		t.Fatalf("connection after one closed: %d", resp.StatusCode)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatal(addr)
	}
}

func netipLoopback() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

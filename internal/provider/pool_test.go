package provider

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
)

// rawUpstream is a keep-alive HTTP/1.1 server that tells the test what
// happens on its connections: POST /ok answers at once, /stream answers with
// a chunked body, /hang never answers and reports when its connection closes.
type rawUpstream struct {
	addr     string
	conns    atomic.Int64  // connections accepted
	hanging  chan struct{} // a /hang request arrived
	hangDone chan struct{} // a /hang connection was closed by the client
}

func newRawUpstream(t *testing.T) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{addr: ln.Addr().String(), hanging: make(chan struct{}, 8), hangDone: make(chan struct{}, 8)}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		open []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				u.serve(c)
			}()
		}
	}()
	return u
}

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		switch req.URL.Path {
		case "/v1/ok":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
		case "/v1/stream":
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"7\r\ndata: 1\r\n7\r\ndata: 2\r\n0\r\n\r\n")
		case "/v1/hang":
			u.hanging <- struct{}{}
			_, _ = io.Copy(io.Discard, br) // until the client closes
			u.hangDone <- struct{}{}
			return
		}
	}
}

func (u *rawUpstream) upstream(t *testing.T, maxConns int) *Upstream {
	t.Helper()
	up, err := NewUpstream(&config.Provider{Name: "raw", Kind: "openai", BaseURL: "http://" + u.addr + "/v1", MaxConns: maxConns,
		Timeouts: config.Timeouts{FirstByte: config.Duration(time.Minute), Idle: config.Duration(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// do sends a POST to path as c; stream asks for the body as a stream.
func do(up *Upstream, c *Call, path string, stream bool) (*fasthttp.Response, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	up.Prepare(req, []byte("POST"), []byte(path), nil, nil)
	req.SetBodyString(`{"model":"m"}`)
	resp.StreamBody = stream
	return resp, up.Do(req, resp, c)
}

// waitFor fails the test when ch stays silent for long; the bound only
// keeps a broken build from hanging (the first-byte timeout is a minute).
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

func TestCancelAbortsWaitingExchange(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "buffered", true: "streamed"}[stream]
		t.Run(name, func(t *testing.T) {
			u := newRawUpstream(t)
			up := u.upstream(t, 0)
			var c Call
			done := make(chan error, 1)
			go func() {
				_, err := do(up, &c, "/hang", stream)
				done <- err
			}()
			waitFor(t, u.hanging, "the request reaching the upstream")
			c.Cancel()
			waitFor(t, u.hangDone, "the upstream seeing its connection closed")
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Do still waits after Cancel")
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) || ue.Kind != KindCancelled || !errors.Is(err, ErrCancelled) {
				t.Fatalf("err %v, want kind %q", err, KindCancelled)
			}
			// The slot is free again: the next call is served.
			var next Call
			if resp, err := do(up, &next, "/ok", false); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("next call: %v", err)
			}
		})
	}
}

func TestCancelBeforeDoSendsNothing(t *testing.T) {
	u := newRawUpstream(t)
	up := u.upstream(t, 0)
	var c Call
	c.Cancel()
	if _, err := do(up, &c, "/ok", false); !errors.Is(err, ErrCancelled) {
		t.Fatalf("err %v, want ErrCancelled", err)
	}
	if n := u.conns.Load(); n != 0 {
		t.Fatalf("a cancelled call opened %d connections", n)
	}
	// Reset makes the Call usable for the next request.
	c.Reset()
	if resp, err := do(up, &c, "/ok", false); err != nil || resp.StatusCode() != 200 {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestStreamHoldsItsSlotUntilRelease(t *testing.T) {
	u := newRawUpstream(t)
	up := u.upstream(t, 1)
	var a, b Call
	resp, err := do(up, &a, "/stream", true)
	if err != nil || resp.BodyStream() == nil {
		t.Fatalf("stream: %v", err)
	}
	var ue *UpstreamError
	if _, err := do(up, &b, "/ok", false); !errors.As(err, &ue) || ue.Kind != KindNoConns {
		t.Fatalf("second call while the stream holds the only slot: %v, want %s", err, KindNoConns)
	}
	body, _ := io.ReadAll(resp.BodyStream())
	if string(body) != "data: 1data: 2" {
		t.Fatalf("stream body %q", body)
	}
	_ = resp.CloseBodyStream()
	a.Release()
	if resp, err := do(up, &b, "/ok", false); err != nil || resp.StatusCode() != 200 {
		t.Fatalf("after Release: %v", err)
	}
	if n := u.conns.Load(); n != 1 {
		t.Errorf("%d connections, want the stream's one reused", n)
	}
}

func TestCancelAfterTheExchange(t *testing.T) {
	for _, tc := range []struct {
		name      string
		release   bool // the call gave its slot back before Cancel
		wantConns int64
	}{
		// A late Cancel touches nothing: the next call reuses the connection.
		{name: "released", release: true, wantConns: 1},
		// Cancel closed the connection idle in the slot the call still
		// held: the next call on that slot dials a fresh one and is served.
		{name: "held", release: false, wantConns: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newRawUpstream(t)
			up := u.upstream(t, 1)
			var a, b Call
			resp, err := do(up, &a, "/stream", true)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.BodyStream())
			_ = resp.CloseBodyStream() // the connection goes back to the slot, idle
			if tc.release {
				a.Release()
			}
			a.Cancel()
			a.Release()
			if resp, err := do(up, &b, "/ok", false); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("next call: %v", err)
			}
			if n := u.conns.Load(); n != tc.wantConns {
				t.Errorf("%d connections, want %d", n, tc.wantConns)
			}
			if b.Cancelled() {
				t.Error("another call's Cancel leaked into b")
			}
		})
	}
}

func TestPoolMakesSlotsUpToMaxConns(t *testing.T) {
	u := newRawUpstream(t)
	up := u.upstream(t, 2)
	var calls [3]Call
	for i := 0; i < 2; i++ {
		if _, err := do(up, &calls[i], "/stream", true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := do(up, &calls[2], "/ok", false); err == nil || !strings.Contains(err.Error(), "no free connections") {
		t.Fatalf("third concurrent call: %v, want no free connections", err)
	}
	if up.pool.made != 2 {
		t.Fatalf("made %d slots, want 2", up.pool.made)
	}
}

// BenchmarkPoolAcquireRelease is the slot bookkeeping every upstream
// exchange pays on top of fasthttp's own connection pool.
func BenchmarkPoolAcquireRelease(b *testing.B) {
	p := &connPool{max: 64, newHC: func(fasthttp.DialFunc) *fasthttp.HostClient { return &fasthttp.HostClient{} }}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var c Call
		for pb.Next() {
			if _, err := p.acquire(&c); err != nil {
				b.Fatal(err)
			}
			c.Release()
		}
	})
}

// BenchmarkUpstreamDo is one buffered exchange with a static local
// upstream, many at once: the slot, fasthttp's client, the connection.
func BenchmarkUpstreamDo(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"id":"x","object":"chat.completion","choices":[]}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown()
	up, err := NewUpstream(&config.Provider{Name: "static", Kind: "openai", BaseURL: "http://" + ln.Addr().String() + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		var c Call
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		resp.KeepBodyBuffer = true
		for pb.Next() {
			req.Reset()
			up.Prepare(req, []byte("POST"), []byte("/chat/completions"), nil, nil)
			req.SetBodyString(`{"model":"m"}`)
			if err := up.Do(req, resp, &c); err != nil || resp.StatusCode() != 200 {
				b.Fatal(err)
			}
		}
	})
}

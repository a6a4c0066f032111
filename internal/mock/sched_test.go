package mock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestShardHeap(t *testing.T) {
	sh := &shard{}
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1000, 0)
	var want []time.Time
	for range 500 {
		w := base.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		want = append(want, w)
		sh.push(&stream{when: w})
	}
	var prev time.Time
	for i := range want {
		st := sh.pop()
		if st.when.Before(prev) {
			t.Fatalf("pop %d: %v after %v", i, st.when, prev)
		}
		prev = st.when
	}
	if len(sh.heap) != 0 {
		t.Errorf("%d left", len(sh.heap))
	}
}

func TestAppendChunk(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "1\r\na\r\n"},
		{strings.Repeat("x", 0x26d), "26d\r\n" + strings.Repeat("x", 0x26d) + "\r\n"},
	} {
		if got := string(appendChunk([]byte("<"), []byte(tc.in))); got != "<"+tc.want {
			t.Errorf("appendChunk(%d bytes) = %q", len(tc.in), got)
		}
	}
}

// openPaced sends a paced chat stream on a new connection and waits for its first byte.
func openPaced(t testing.TB, addr string, headers ...string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	if _, err := io.WriteString(conn, rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", body, headers...)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestHeldStreamsHoldNoGoroutine: paced streams that wait for their next token hold no
// goroutine each; when their clients leave, the journal says so.
func TestHeldStreamsHoldNoGoroutine(t *testing.T) {
	const n = 200
	s, base := startMock(t, Options{Journal: n}, nil)
	addr := strings.TrimPrefix(base, "http://")
	// Warm up: the pacers and fasthttp's worker pool start their goroutines.
	openPaced(t, addr, "X-Mock-ITL", "1", "X-Mock-Tokens", "2").Close()
	s.ResetJournal()
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	for range n {
		conns = append(conns, openPaced(t, addr, "X-Mock-ITL", "60000", "X-Mock-Tokens", "10"))
	}
	grown := runtime.NumGoroutine() - before
	if grown > n/10 {
		t.Errorf("%d held streams added %d goroutines", n, grown)
	}
	if open := s.metrics.openStreams.Load(); open != n {
		t.Errorf("open streams %d, want %d", open, n)
	}
	for _, c := range conns {
		c.Close()
	}
	// The next write after a client left fails; with a minute between tokens that only
	// happens at Shutdown, which finishes the streams at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if open := s.metrics.openStreams.Load(); open != 0 {
		t.Errorf("open streams after shutdown: %d", open)
	}
	if got := len(s.Journal()); got != n {
		t.Errorf("%d journal entries, want %d", got, n)
	}
}

// TestSlowReader: a client that does not read fills its socket; the stream waits for it
// without blocking the other streams of its pacer, then completes intact.
func TestSlowReader(t *testing.T) {
	s, base := startMock(t, Options{Journal: 8}, nil)
	addr := strings.TrimPrefix(base, "http://")
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	slow, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	const tokens = 40000 // about 10 MB of events, due within 40 ms
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	if _, err := io.WriteString(slow, rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", body,
		"X-Mock-ITL", "0.001", "X-Mock-Tokens", itoa(tokens))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.metrics.stalls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream never found the socket full")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Another stream on the same pacer is not held up by the stalled one.
	for range len(s.sched.shards) - 1 {
		do(t, "POST", base+"/v1/chat/completions", nil, chatBody)
	}
	start := time.Now()
	_, other := do(t, "POST", base+"/v1/chat/completions", map[string]string{"X-Mock-ITL": "1", "X-Mock-Tokens": "5"}, body)
	if !strings.HasSuffix(other, "data: [DONE]\n\n") || time.Since(start) > 2*time.Second {
		t.Errorf("other stream took %v: %q", time.Since(start), other)
	}

	// The slow client now reads everything: a well-framed, complete stream.
	_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", len(all), err)
	}
	if n := bytes.Count(all, []byte(`"delta":{"content"`)); n != tokens || !bytes.HasSuffix(all, []byte("data: [DONE]\n\n")) {
		t.Errorf("%d token events of %d; ends %q", n, tokens, all[max(0, len(all)-40):])
	}
}

// TestPacedKeepAlive: after a paced stream the connection serves the next request, as
// Go's HTTP client expects, and Shutdown closes it at once while it waits.
func TestPacedKeepAlive(t *testing.T) {
	s, base := startMock(t, Options{Journal: 8}, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	reused := 0
	for i := range 4 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		ctx := httptrace.WithClientTrace(waitCtx(t), trace)
		body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
		if i == 2 {
			body = chatBody // a non-streamed request in between
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("X-Mock-ITL", "1")
		req.Header.Set("X-Mock-Tokens", "3")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %v %s", i, resp.StatusCode, err, b)
		}
	}
	if reused != 3 {
		t.Errorf("%d of 3 requests reused the connection", reused)
	}
	if entries := s.Journal(); len(entries) != 4 || entries[3].Cancelled {
		t.Errorf("journal %+v", entries)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v with an idle handed-back connection", d)
	}
}

// FuzzAppendCompact: compacting valid JSON gives what encoding/json's Compact gives.
func FuzzAppendCompact(f *testing.F) {
	for _, seed := range []string{
		`{"a": [1, 2, {"b" : "c d"}]}`, "[\n\t\"x\\\" y\",\r\n null ]", `"  "`, `{"k":"\\"}`, ` 12 `,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatal(err)
		}
		if got := appendCompact(nil, in); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendCompact(%q) = %q, want %q", in, got, want.Bytes())
		}
	})
}

// BenchmarkStreamStep measures building one paced chat token event and its chunk
// framing, the pacer's work per event besides the write system call.
func BenchmarkStreamStep(b *testing.B) {
	s, err := New(Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := call{route: routeChat, model: []byte(`"gpt-4o-mini"`), maxTokens: -1, st: defaultSteer(&s.opts), serial: 1, seed: 7}
	c.st.tokens = maxSteerTokens
	c.st.itl = time.Second
	c.plan(0)
	st := s.newStream(&c, 200, false)
	var x, y, frame []byte
	b.ReportAllocs()
	for b.Loop() {
		var end stepEnd
		x, y, end = st.step(x[:0], y[:0])
		frame = appendChunk(appendChunk(frame[:0], x), y)
		if end != stepMore {
			st.next, st.argPos = 0, 0
			st.c.tokens.reset()
		}
	}
	b.SetBytes(int64(len(frame)))
}

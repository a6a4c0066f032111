package mock

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestJournal(t *testing.T) {
	s, base := startMock(t, Options{Journal: 2}, nil)
	do(t, "POST", base+"/v1/chat/completions?api-version=1", map[string]string{"X-Custom": "a", "X-Mock-Tokens": "1"}, chatBody)
	do(t, "GET", base+"/v1/models", nil, "")
	do(t, "POST", base+"/v1/messages", map[string]string{"X-Mock-Status": "529"}, `{}`)

	entries := s.Journal()
	if len(entries) != 2 {
		t.Fatalf("%d entries, want the last 2", len(entries))
	}
	if entries[0].Path != "/v1/models" || entries[1].Path != "/v1/messages" || entries[1].Status != 529 || entries[0].Method != "GET" {
		t.Errorf("entries %+v", entries)
	}

	s.ResetJournal()
	do(t, "POST", base+"/v1/chat/completions?api-version=1", map[string]string{"X-Custom": "a", "X-Mock-Tokens": "1"}, chatBody)
	resp, body := do(t, "GET", base+"/_mock/requests", nil, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("journal: %d %s", resp.StatusCode, body)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 {
		t.Fatalf("journal %s: %v", body, err)
	}
	e := got[0]
	for _, k := range []string{"time", "method", "path", "headers", "body", "status", "cancelled"} {
		if _, ok := e[k]; !ok {
			t.Errorf("entry lacks %q: %s", k, body)
		}
	}
	headers, _ := e["headers"].(map[string]any)
	if e["path"] != "/v1/chat/completions" || e["query"] != "api-version=1" || e["body"] != chatBody || e["status"] != 200.0 ||
		e["cancelled"] != false || headers["x-custom"] != "a" || headers["content-type"] != "application/json" {
		t.Errorf("entry %s", body)
	}
	if resp, _ := do(t, "DELETE", base+"/_mock/requests", nil, ""); resp.StatusCode != 204 || len(s.Journal()) != 0 {
		t.Errorf("after DELETE: status %d, %d entries", resp.StatusCode, len(s.Journal()))
	}
}

func TestStart(t *testing.T) {
	s, err := New(Options{Listen: "127.0.0.1:0", Journal: 1}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	if resp, _ := do(t, "GET", "http://"+addr+"/healthz", nil, ""); resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestJournalOff(t *testing.T) {
	s, base := startMock(t, Options{}, nil)
	if resp, _ := do(t, "GET", base+"/_mock/requests", nil, ""); resp.StatusCode != 404 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if _, err := s.WaitJournal(waitCtx(t), func([]Entry) bool { return true }); !errors.Is(err, ErrJournalOff) {
		t.Errorf("WaitJournal: %v", err)
	}
	if s.Journal() != nil {
		t.Error("Journal() not nil")
	}
}

func TestWaitJournalTimeout(t *testing.T) {
	s, _ := startMock(t, Options{Journal: 4}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.WaitJournal(ctx, func(e []Entry) bool { return len(e) > 0 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
}

// TestJournalCancelledStream: a client that leaves mid-stream is recorded as cancelled
// as soon as the next write fails.
func TestJournalCancelledStream(t *testing.T) {
	s, base := startMock(t, Options{Journal: 4}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("X-Mock-ITL", "20")
	req.Header.Set("X-Mock-Tokens", "500")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q: %v", line, err)
	}
	cancel()
	resp.Body.Close()
	entries, err := s.WaitJournal(waitCtx(t), func(e []Entry) bool { return len(e) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if !entries[0].Cancelled || entries[0].Status != 200 {
		t.Errorf("entry %+v", entries[0])
	}
}

// TestHang: the request gets no answer; when the client leaves, the entry is recorded
// with cancelled set. Shutdown releases a hang that is still open.
func TestHang(t *testing.T) {
	s, base := startMock(t, Options{Journal: 4}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions?X-Mock-Hang=true", strings.NewReader(chatBody))
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang answered: %v", err)
	}
	entries, err := s.WaitJournal(waitCtx(t), func(e []Entry) bool { return len(e) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if !entries[0].Cancelled || entries[0].Status != 0 {
		t.Errorf("entry %+v", entries[0])
	}

	// A hang still open at shutdown ends without being taken for a client that left.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Mock-Hang: 1\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		t.Fatal(err)
	}
	// Wait until the mock holds the connection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.track.mu.Lock()
		n := len(s.track.hangs)
		s.track.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hang never registered")
		}
		time.Sleep(time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("hung connection after shutdown: %d %v", n, err)
	}
	entries = s.Journal()
	if len(entries) != 2 || entries[1].Cancelled || entries[1].Path != "/v1/messages" {
		t.Errorf("entries %+v", entries)
	}
}

// TestDisconnectAfter: the stream carries exactly N token events, then the connection
// closes mid-body, which the client sees as an error; with both stream drivers.
func TestDisconnectAfter(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) { testDisconnectAfter(t, drv.headers) })
	}
}

func testDisconnectAfter(t *testing.T, steer map[string]string) {
	s, base := startMock(t, Options{Journal: 8}, newFakeClock())
	for _, tc := range []struct {
		path, body, tokenMarker string
		n                       int
	}{
		{"/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"delta":{"content"`, 3},
		{"/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"delta":{"content"`, 0},
		{"/v1/messages", `{"model":"m","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"text_delta"`, 5},
		{"/v1/responses", `{"model":"m","input":"hi","stream":true}`, `response.output_text.delta","sequence`, 2},
		{"/v1beta/models/g:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"hi"}]}]}`, `"candidates"`, 4},
		// At or beyond the reply's length: every token, then the close instead of the end.
		{"/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"delta":{"content"`, 16},
	} {
		req, _ := http.NewRequestWithContext(waitCtx(t), "POST", base+tc.path, strings.NewReader(tc.body))
		req.Header.Set("X-Mock-Disconnect-After", itoa(tc.n))
		for k, v := range steer {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s after %d: read error %v, want unexpected EOF", tc.path, tc.n, err)
		}
		if got := strings.Count(string(body), tc.tokenMarker); got != tc.n {
			t.Errorf("%s: %d token events before the close, want %d:\n%s", tc.path, got, tc.n, body)
		}
		if strings.Contains(string(body), "[DONE]") || strings.Contains(string(body), "message_stop") || strings.Contains(string(body), "finishReason") {
			t.Errorf("%s: stream ended normally:\n%s", tc.path, body)
		}
	}
	entries, err := s.WaitJournal(waitCtx(t), func(e []Entry) bool { return len(e) == 6 })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Cancelled || e.Status != 200 {
			t.Errorf("a deliberate disconnect is not a cancellation: %+v", e)
		}
	}
}

// TestDisconnectNonStream: a non-streamed reply is cut short of its Content-Length.
func TestDisconnectNonStream(t *testing.T) {
	s, base := startMock(t, Options{Journal: 4}, nil)
	req, _ := http.NewRequestWithContext(waitCtx(t), "POST", base+"/v1/chat/completions", strings.NewReader(chatBody))
	req.Header.Set("X-Mock-Disconnect-After", "8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || resp.StatusCode != 200 || len(body) == 0 || int64(len(body)) >= resp.ContentLength {
		t.Errorf("read %d of %d bytes: %v", len(body), resp.ContentLength, err)
	}
	entries, err := s.WaitJournal(waitCtx(t), func(e []Entry) bool { return len(e) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Status != 200 || entries[0].Cancelled {
		t.Errorf("entry %+v", entries[0])
	}
}

func TestDrop(t *testing.T) {
	s, base := startMock(t, Options{Journal: 4}, nil)
	req, _ := http.NewRequestWithContext(waitCtx(t), "POST", base+"/v1/chat/completions", strings.NewReader(chatBody))
	req.Header.Set("X-Mock-Drop-Rate", "100")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %d", resp.StatusCode)
	}
	entries, err := s.WaitJournal(waitCtx(t), func(e []Entry) bool { return len(e) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Status != 0 || entries[0].Cancelled {
		t.Errorf("entry %+v", entries[0])
	}
}

// TestShutdownEndsPacing: a slow stream in progress finishes at once when the server
// shuts down, so shutdown does not wait out its pacing.
func TestShutdownEndsPacing(t *testing.T) {
	s, base := startMock(t, Options{}, nil)
	req, _ := http.NewRequestWithContext(waitCtx(t), "POST", base+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("X-Mock-ITL", "1000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("stream after shutdown: %v %q", err, rest)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}

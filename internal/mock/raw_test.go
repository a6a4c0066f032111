package mock

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawRequest renders an HTTP/1.x request by hand, so that tests control every byte.
func rawRequest(method, path, proto, body string, headers ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + path + " " + proto + "\r\nHost: mock\r\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b.WriteString(headers[i] + ": " + headers[i+1] + "\r\n")
	}
	if body != "" || method == "POST" {
		b.WriteString("Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// readResponse reads one HTTP/1.1 response, head and body with its framing, as raw
// bytes: up to the terminating chunk of a chunked body, Content-Length bytes otherwise,
// or to EOF when the response has neither.
func readResponse(t testing.TB, br *bufio.Reader) []byte {
	t.Helper()
	var out []byte
	length, chunked := -1, false
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err != nil {
			t.Fatalf("reading head: %v (so far %q)", err, out)
		}
		if string(line) == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(strings.TrimRight(string(line), "\r\n"), ": ")
		switch strings.ToLower(k) {
		case "content-length":
			length, _ = strconv.Atoi(v)
		case "transfer-encoding":
			chunked = v == "chunked"
		}
	}
	switch {
	case chunked:
		for {
			line, err := br.ReadSlice('\n')
			out = append(out, line...)
			if err != nil {
				t.Fatalf("reading chunk size: %v (so far %q)", err, out)
			}
			n, err := strconv.ParseInt(strings.TrimRight(string(line), "\r\n"), 16, 64)
			if err != nil {
				t.Fatalf("chunk size %q: %v", line, err)
			}
			chunk := make([]byte, n+2)
			if _, err := io.ReadFull(br, chunk); err != nil {
				t.Fatalf("reading chunk: %v (so far %q)", err, out)
			}
			out = append(out, chunk...)
			if n == 0 {
				return out
			}
		}
	case length >= 0:
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatalf("reading body: %v", err)
		}
		return append(out, body...)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading to EOF: %v", err)
	}
	return append(out, rest...)
}

// exchange is requests written at once on a connection.
type exchange []string

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r]*\r$`)

// TestWireRaw pins the bytes a client reads off the socket, status line, headers and
// chunk framing included (the Date header masked): how a streamed reply is driven must
// never show on the wire. Each case is a sequence of exchanges on one connection; an
// exchange writes its requests at once (pipelining when there are several) and reads
// one response per request. Every case runs twice against the same golden file: as
// written, and with every POST steered to be paced (see drivers).
func TestWireRaw(t *testing.T) {
	chat := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	msgs := `{"model":"claude-3-5-haiku","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Say hello."}]}`
	gem := `{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}`
	resp := `{"model":"gpt-4o-mini","input":"Say hi","stream":true}`
	cases := []struct {
		name      string
		exchanges []exchange
	}{
		{"chat_stream", []exchange{{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "3")}}},
		{"messages_stream", []exchange{{rawRequest("POST", "/v1/messages", "HTTP/1.1", msgs, "X-Mock-Tokens", "2")}}},
		{"responses_stream", []exchange{{rawRequest("POST", "/v1/responses", "HTTP/1.1", resp, "X-Mock-Tokens", "2")}}},
		{"gemini_stream_array", []exchange{{rawRequest("POST", "/v1beta/models/g:streamGenerateContent", "HTTP/1.1", gem, "X-Mock-Tokens", "2")}}},
		{"gemini_stream_sse", []exchange{{rawRequest("POST", "/v1beta/models/g:streamGenerateContent?alt=sse", "HTTP/1.1", gem, "X-Mock-Tokens", "2")}}},
		{"stream_status_201", []exchange{{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "1", "X-Mock-Status", "201")}}},
		{"stream_zero_tokens", []exchange{{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "0")}}},
		{"stream_connection_close", []exchange{{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "2", "Connection", "close")}}},
		{"stream_then_keepalive", []exchange{
			{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "2")},
			{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "1")},
			{rawRequest("GET", "/healthz", "HTTP/1.1", "")},
		}},
		{"stream_pipelined", []exchange{{
			rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "2"),
			rawRequest("POST", "/v1/messages", "HTTP/1.1", msgs, "X-Mock-Tokens", "1"),
			rawRequest("GET", "/healthz", "HTTP/1.1", ""),
		}}},
		{"nonstream_then_stream", []exchange{
			{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "X-Mock-Tokens", "2")},
			{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "2")},
		}},
		{"stream_http10", []exchange{{rawRequest("POST", "/v1/chat/completions", "HTTP/1.0", chat, "X-Mock-Tokens", "2")}}},
		// A paced stream, then streams written in place, on one connection.
		{"paced_then_in_place", []exchange{
			{rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "1", "X-Mock-ITL", "1", "X-Mock-TTFT", "1")},
			{
				rawRequest("POST", "/v1/messages", "HTTP/1.1", msgs, "X-Mock-Tokens", "1"),
				rawRequest("POST", "/v1/chat/completions", "HTTP/1.1", chat, "X-Mock-Tokens", "1", "Connection", "close"),
			},
		}},
	}
	for _, tc := range cases {
		for _, drv := range drivers {
			if drv.headers != nil && *update {
				continue
			}
			t.Run(tc.name+"/"+drv.name, func(t *testing.T) { wireRaw(t, tc.name, tc.exchanges, drv.headers) })
		}
	}
}

// wireRaw runs the exchanges of a TestWireRaw case, each POST with extra headers, and
// compares the bytes read with golden file name.
func wireRaw(t *testing.T, name string, exchanges []exchange, extra map[string]string) {
	t.Helper()
	var steer string
	for k, v := range extra {
		steer += k + ": " + v + "\r\n"
	}
	_, base := startMock(t, Options{Seed: 7}, newFakeClock())
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	var got []byte
	for _, ex := range exchanges {
		var reqs string
		for _, r := range ex {
			if strings.HasPrefix(r, "POST ") {
				r = strings.Replace(r, "Host: mock\r\n", "Host: mock\r\n"+steer, 1)
			}
			reqs += r
		}
		if _, err := io.WriteString(conn, reqs); err != nil {
			t.Fatal(err)
		}
		for range ex {
			got = append(got, readResponse(t, br)...)
			got = append(got, "\n=== end of response ===\n"...)
		}
	}
	got = dateLine.ReplaceAll(got, []byte("Date: (masked)\r"))
	path := filepath.Join("testdata", "raw", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWireRaw -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("wire bytes differ from %s\n--- got\n%q\n--- want\n%q", path, got, want)
	}
}

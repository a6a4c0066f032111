package gateway_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFramingErrorsLogNoCredentials sends malformed HTTP carrying each
// credential header to a real listener at log.level debug: fasthttp logs
// the framing error (the line must still be there) but never the secret,
// which some of its messages would otherwise dump with the raw request.
func TestFramingErrorsLogNoCredentials(t *testing.T) {
	s := newStack(t, nil)
	addr := strings.TrimPrefix(s.url, "http://")
	headers := []struct{ name, prefix string }{
		{"Authorization", "Bearer "},
		{"Proxy-Authorization", "Basic "},
		{"x-api-key", ""},
		{"api-key", ""},
		{"x-goog-api-key", ""},
		{"Cookie", "session="},
	}
	// Each malformation gets the credential line as hdr (name: value).
	malformed := []struct {
		name string
		raw  func(hdr, secret string) string
	}{
		{"bad method", func(hdr, _ string) string {
			return "P\x01ST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + hdr + "\r\n\r\n"
		}},
		{"bad version", func(hdr, _ string) string {
			return "POST /v1/chat/completions HTTP/9.9x\r\nHost: x\r\n" + hdr + "\r\n\r\n"
		}},
		{"control byte in the credential", func(hdr, _ string) string {
			return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + hdr + "\x01\r\nContent-Length: 0\r\n\r\n"
		}},
		{"bad transfer-encoding", func(hdr, _ string) string {
			return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + hdr + "\r\nTransfer-Encoding: gzip\r\n\r\n"
		}},
		{"bad chunk", func(hdr, _ string) string {
			return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + hdr + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n"
		}},
		{"key in a bad request line", func(hdr, secret string) string {
			return "GET /v1beta/models/m:generateContent?key=" + secret + " HTTP/9.9x\r\nHost: x\r\n" + hdr + "\r\n\r\n"
		}},
	}
	for _, h := range headers {
		for _, m := range malformed {
			t.Run(h.name+"/"+m.name, func(t *testing.T) {
				secret := "sk-framing-" + strings.ToLower(h.name) + "-" + strings.ReplaceAll(m.name, " ", "-")
				before := s.logs.String()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, err := io.WriteString(c, m.raw(h.name+": "+h.prefix+secret, secret)); err != nil {
					t.Fatal(err)
				}
				// fasthttp logs the error before it closes the
				// connection, so EOF here means the line is written.
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				reply, err := io.ReadAll(c)
				if err != nil {
					t.Fatalf("reading the reply: %v", err)
				}
				if !strings.HasPrefix(string(reply), "HTTP/1.1 4") {
					t.Fatalf("want a 4xx reply, got %q", reply)
				}
				logged := strings.TrimPrefix(s.logs.String(), before)
				if !strings.Contains(logged, "error when serving connection") {
					t.Fatalf("no log line for the framing error:\n%s", logged)
				}
				if strings.Contains(logged, secret) {
					t.Errorf("the secret appears in the logs:\n%s", logged)
				}
			})
		}
	}
}

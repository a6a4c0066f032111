package gateway

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestFasthttpMessage(t *testing.T) {
	const secret = "sk-secret-value"
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 51000}
	tests := []struct {
		name   string
		format string
		args   []any
		want   string
	}{
		{"serving error with a quoted header value", "error when serving connection %q<->%q: %v",
			[]any{local, remote, fmt.Errorf("error when reading request headers: invalid header value %q: buffer size=9", "Bearer "+secret+"\x01")},
			`error when serving connection "127.0.0.1:8080"<->"10.0.0.7:51000": error when reading request headers: invalid header value "[REDACTED]": buffer size=9`},
		{"escaped quotes inside a quoted string", "%v",
			[]any{fmt.Errorf("bad %q then %q", `a"`+secret+`"b`, secret)},
			`bad "[REDACTED]" then "[REDACTED]"`},
		{"unterminated quote runs to the end", "%v",
			[]any{errors.New(`contents: "GET /?key=` + secret)},
			`contents: "[REDACTED]"`},
		{"single-quoted characters are kept", "%v",
			[]any{fmt.Errorf("invalid character %q after chunk size", byte('z'))},
			`invalid character 'z' after chunk size`},
		{"numbers and IPs are kept", "The number of connections from %s exceeds MaxConnsPerIP=%d",
			[]any{net.IPv4(10, 0, 0, 7), 3},
			`The number of connections from 10.0.0.7 exceeds MaxConnsPerIP=3`},
		{"strings are redacted whole (RequestCtx.Logger lines)", "%.3f %s - %s",
			[]any{0.5, "#0000000000000001 - 127.0.0.1:8080<->10.0.0.7:51000 - GET http://x/v1beta?key=" + secret, "msg"},
			`0.500 [REDACTED] - [REDACTED]`},
		{"byte slices are redacted whole", "%q", []any{[]byte(secret)}, `"[REDACTED]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fasthttpMessage(tt.format, tt.args...)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Contains(got, secret) {
				t.Errorf("the secret survived: %s", got)
			}
		})
	}
}

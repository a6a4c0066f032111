package gateway

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"
)

// fasthttp's own log messages can carry request bytes. The one the server
// writes most, "error when serving connection %q<->%q: %v", holds the error
// of a request it could not read, and in fasthttp v1.78.0 those errors quote
// the raw request: headerErrorMsg appends "contents: <the buffered request
// line and headers>", and the request-line and header parsers quote the
// whole buffer ("unsupported http request method %q in %q"), the offending
// header value ("invalid header value %q", an Authorization header with a
// stray control byte) or the URI ("invalid request uri %q", which may hold
// a Gemini ?key=). RequestCtx.Logger prefixes every line with the request
// URI too.
//
// Two layers keep credentials out of the log: the servers set
// SecureErrorLogMessage, which drops the buffer dumps at the source but
// still quotes single values; and fasthttpMessage formats every message
// with only values known to be safe: numbers, addresses, and error text
// with every quoted string in it replaced by redactedQuote. Any other
// argument (strings, byte slices, Stringers) is replaced whole.

// redactedQuote stands in for a quoted string of a fasthttp message.
const redactedQuote = `"[REDACTED]"`

// fasthttpMessage is fmt.Sprintf(format, args...) with every argument that
// could hold request bytes redacted.
func fasthttpMessage(format string, args ...any) string {
	safe := make([]any, len(args))
	for i, a := range args {
		safe[i] = safeLogArg(a)
	}
	return fmt.Sprintf(format, safe...)
}

func safeLogArg(a any) any {
	switch v := a.(type) {
	case nil, bool, time.Duration:
		return v
	case net.Addr:
		return v.String()
	case net.IP:
		return v.String()
	case error:
		return redactQuoted(v.Error())
	}
	switch reflect.ValueOf(a).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return a
	}
	return "[REDACTED]"
}

// redactQuoted replaces every double-quoted Go string literal in s (what
// %q prints) with redactedQuote; an unterminated one runs to the end of s.
// Single-quoted literals are one character and are kept.
func redactQuoted(s string) string {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		b.WriteString(redactedQuote)
		end := len(s)
		for j := i + 1; j < len(s); j++ {
			if s[j] == '\\' {
				j++
				continue
			}
			if s[j] == '"' {
				end = j + 1
				break
			}
		}
		s = s[end:]
		i = strings.IndexByte(s, '"')
	}
	b.WriteString(s)
	return b.String()
}

package bench

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// prompt is the user message of every request: short, so that the gateway's work is
// the subject, not the payload.
const prompt = "Write one short sentence about rivers."

// requestBody returns the pre-built JSON body of a chat completion for model.
func requestBody(model string, stream bool) []byte {
	m, _ := json.Marshal(model) // a string always marshals
	b := []byte(`{"model":`)
	b = append(b, m...)
	b = append(b, `,"messages":[{"role":"user","content":"`+prompt+`"}],"max_tokens":64`...)
	if stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}')
}

// newClient returns the HostClient of one target for one step: at most maxConns
// keep-alive connections, no retries (a failure is the target's), every read and write
// bounded by timeout.
func newClient(t *Target, maxConns int, timeout time.Duration, stream bool) (*fasthttp.HostClient, error) {
	tls, addr, _, err := splitURL(t.URL)
	if err != nil {
		return nil, err
	}
	return &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     tls,
		Name:                      "sluice-bench",
		MaxConns:                  maxConns,
		MaxIdleConnDuration:       time.Minute,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		ReadBufferSize:            16 << 10,
		MaxResponseBodySize:       64 << 20,
		StreamResponseBody:        stream,
		Dial: func(addr string) (net.Conn, error) {
			return fasthttp.DialTimeout(addr, timeout)
		},
	}, nil
}

// newRequest builds the request a worker sends again and again.
func newRequest(t *Target, v *variant, stream bool) *fasthttp.Request {
	_, _, full, _ := splitURL(t.URL) // validated by Config.withDefaults
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(full)
	req.Header.SetContentType("application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	for _, h := range v.headers {
		req.Header.Set(h.Name, h.Value)
	}
	for _, h := range t.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	req.SetBodyRaw(requestBody(t.Model, stream))
	return req
}

// statusKind returns the error kind of an HTTP status, or "" for 2xx.
func statusKind(code int) string {
	switch {
	case code >= 200 && code < 300:
		return ""
	case code >= 400 && code < 500:
		return KindHTTP4xx
	case code >= 500 && code < 600:
		return KindHTTP5xx
	}
	return KindHTTPOther
}

// errKind classifies a transport error.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return KindReset
	}
	return KindOther
}

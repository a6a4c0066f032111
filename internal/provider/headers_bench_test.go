package provider

import (
	"bufio"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/valyala/fasthttp"
)

// sdkRequestHead is the head of a chat request as the OpenAI Python SDK sends it.
const sdkRequestHead = "POST /v1/chat/completions HTTP/1.1\r\n" +
	"Host: 127.0.0.1:8080\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n" +
	"Accept: application/json\r\nContent-Type: application/json\r\nUser-Agent: OpenAI/Python 1.54.3\r\n" +
	"X-Stainless-Lang: python\r\nX-Stainless-Package-Version: 1.54.3\r\nX-Stainless-OS: Linux\r\n" +
	"X-Stainless-Arch: x64\r\nX-Stainless-Runtime: CPython\r\nX-Stainless-Runtime-Version: 3.12.7\r\n" +
	"Authorization: Bearer sk-bench-0001\r\nX-Stainless-Async: false\r\nX-Stainless-Retry-Count: 0\r\n" +
	"Content-Length: 90\r\n\r\n"

// openAIReplyHead is the head of a non-streamed OpenAI reply.
const openAIReplyHead = "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n" +
	"Content-Type: application/json\r\nContent-Length: 660\r\nConnection: keep-alive\r\n" +
	"access-control-expose-headers: X-Request-ID\r\nopenai-organization: user-abc\r\n" +
	"openai-processing-ms: 412\r\nopenai-version: 2020-10-01\r\n" +
	"x-ratelimit-limit-requests: 10000\r\nx-ratelimit-limit-tokens: 200000\r\n" +
	"x-ratelimit-remaining-requests: 9999\r\nx-ratelimit-remaining-tokens: 199950\r\n" +
	"x-ratelimit-reset-requests: 6ms\r\nx-ratelimit-reset-tokens: 15ms\r\n" +
	"x-request-id: req_0123456789abcdef0123456789abcdef\r\nstrict-transport-security: max-age=31536000\r\n" +
	"cf-cache-status: DYNAMIC\r\nServer: cloudflare\r\nalt-svc: h3=\":443\"; ma=86400\r\n\r\n"

func BenchmarkPrepare(b *testing.B) {
	up, err := NewUpstream(&config.Provider{Name: "p", Kind: "openai", BaseURL: "http://127.0.0.1:9100/v1",
		APIKeys: []config.APIKey{{Key: "sk-upstream"}}})
	if err != nil {
		b.Fatal(err)
	}
	var client fasthttp.RequestHeader
	if err := client.Read(bufioOf(sdkRequestHead)); err != nil {
		b.Fatal(err)
	}
	var req fasthttp.Request
	method, rest := []byte("POST"), []byte("/chat/completions")
	b.ReportAllocs()
	for b.Loop() {
		req.Reset()
		up.Prepare(&req, method, rest, nil, &client)
	}
}

func BenchmarkCopyResponseHeaders(b *testing.B) {
	var src, dst fasthttp.ResponseHeader
	if err := src.Read(bufioOf(openAIReplyHead)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		dst.Reset()
		CopyResponseHeaders(&dst, &src)
	}
}

func bufioOf(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

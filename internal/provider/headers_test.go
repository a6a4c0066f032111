package provider

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestLowerInto(t *testing.T) {
	var buf [8]byte
	for _, k := range []string{"", "A", "Content-Type", "X-ÄB-Z", strings.Repeat("Ab", 40)} {
		got := string(lowerInto(buf[:0], []byte(k)))
		if want := strings.ToLower(k); k == "X-ÄB-Z" {
			want = "x-" + "Ä" + "b-z" // ASCII only: other bytes are kept
			if got != want {
				t.Errorf("lowerInto(%q) = %q, want %q", k, got, want)
			}
		} else if got != want {
			t.Errorf("lowerInto(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestCopyResponseHeaders(t *testing.T) {
	var src, dst fasthttp.ResponseHeader
	if err := src.Read(bufioOf(openAIReplyHead)); err != nil {
		t.Fatal(err)
	}
	src.Add("Set-Cookie", "a=b")
	src.Add("X-Custom", "1")
	src.Add("X-Custom", "2")
	dst.Set("X-Request-Id", "req_sluice")
	CopyResponseHeaders(&dst, &src)
	for _, h := range []string{"Connection", "Server", "Set-Cookie"} {
		if v := dst.Peek(h); len(v) > 0 {
			t.Errorf("%s reached the client: %q", h, v)
		}
	}
	if got := string(dst.Peek("X-Request-Id")); got != "req_sluice" {
		t.Errorf("x-request-id = %q, want Sluice's own", got)
	}
	if got := string(dst.Peek("X-Upstream-Request-Id")); got != "req_0123456789abcdef0123456789abcdef" {
		t.Errorf("x-upstream-request-id = %q", got)
	}
	if got := string(dst.Peek("Openai-Processing-Ms")); got != "412" {
		t.Errorf("openai-processing-ms = %q, want 412", got)
	}
	if got := string(dst.ContentType()); got != "application/json" {
		t.Errorf("content-type = %q", got)
	}
	var custom []string
	for k, v := range dst.All() {
		if string(k) == "X-Custom" {
			custom = append(custom, string(v))
		}
	}
	if strings.Join(custom, ",") != "1,2" {
		t.Errorf("repeated header = %q, want both values in order", custom)
	}
}

func TestForwardHeaders(t *testing.T) {
	var client fasthttp.RequestHeader
	head := strings.Replace(sdkRequestHead, "Connection: keep-alive", "Connection: keep-alive, X-Hop", 1)
	head = strings.Replace(head, "\r\n\r\n", "\r\nX-Hop: 1\r\nX-Sluice-Target: b\r\nX-Api-Key: k\r\nCookie: c=1\r\nX-Custom: v\r\n\r\n", 1)
	if err := client.Read(bufioOf(head)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		allow, deny []string
		want, never []string
	}{
		{"default", nil, nil,
			[]string{"User-Agent", "X-Stainless-Lang", "X-Custom", "Content-Type", "Accept"},
			[]string{"Authorization", "X-Api-Key", "Cookie", "Connection", "X-Hop", "X-Sluice-Target", "Accept-Encoding"}},
		{"allow list", []string{"x-custom"}, nil,
			[]string{"X-Custom", "Content-Type"},
			[]string{"User-Agent", "X-Stainless-Lang", "Authorization"}},
		{"deny list", nil, []string{"X-STAINLESS-LANG"},
			[]string{"User-Agent", "X-Custom"},
			[]string{"X-Stainless-Lang", "Authorization"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newHeaderPolicy(tc.allow, tc.deny)
			var dst fasthttp.RequestHeader
			p.forward(&dst, &client)
			for _, h := range tc.want {
				if len(dst.Peek(h)) == 0 {
					t.Errorf("%s was not forwarded", h)
				}
			}
			for _, h := range tc.never {
				if v := dst.Peek(h); len(v) > 0 {
					t.Errorf("%s was forwarded: %q", h, v)
				}
			}
		})
	}
}

package gateway

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestClientKey(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{name: "bearer", headers: map[string]string{"Authorization": "Bearer sk-1"}, want: "sk-1"},
		{name: "bearer any case", headers: map[string]string{"authorization": "bEaReR  sk-2 "}, want: "sk-2"},
		{name: "x-api-key", headers: map[string]string{"x-api-key": "sk-3"}, want: "sk-3"},
		{name: "api-key", headers: map[string]string{"api-key": "sk-4"}, want: "sk-4"},
		{name: "goog", headers: map[string]string{"x-goog-api-key": "sk-5"}, want: "sk-5"},
		{name: "bearer wins", headers: map[string]string{"Authorization": "Bearer a", "x-api-key": "b"}, want: "a"},
		{name: "basic auth ignored", headers: map[string]string{"Authorization": "Basic Zm9v"}, want: ""},
		{name: "empty bearer", headers: map[string]string{"Authorization": "Bearer "}, want: ""},
		{name: "none", headers: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.RequestHeader
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			if got := string(clientKey(&h)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Keys are looked up by canonical name (PeekCanonical): a header parsed from
// the wire in any case must still be found, as fasthttp stores parsed names
// canonical.
func TestClientKeyWireCase(t *testing.T) {
	for _, line := range []string{
		"AUTHORIZATION: Bearer sk-w",
		"authorization: Bearer sk-w",
		"x-api-key: sk-w",
		"X-API-KEY: sk-w",
		"api-KEY: sk-w",
		"x-goog-api-key: sk-w",
	} {
		var h fasthttp.RequestHeader
		raw := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + line + "\r\n\r\n"
		if err := h.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := string(clientKey(&h)); got != "sk-w" {
			t.Errorf("%s: got %q, want sk-w", line, got)
		}
	}
}

func BenchmarkClientKey(b *testing.B) {
	var h fasthttp.RequestHeader
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "OpenAI/Go 3.0")
	h.Set("Authorization", "Bearer sk-sluice-0123456789abcdefghijklmnopqrstuvwxyzABCDEF")
	b.ReportAllocs()
	for b.Loop() {
		if len(clientKey(&h)) == 0 {
			b.Fatal("no key")
		}
	}
}

package provider

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestMapRateLimitHeaders(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var h fasthttp.ResponseHeader
	h.Set("anthropic-ratelimit-requests-limit", "50")
	h.Set("anthropic-ratelimit-requests-remaining", "49")
	h.Set("anthropic-ratelimit-requests-reset", "2026-12-07T12:00:30Z")
	h.Set("anthropic-ratelimit-tokens-reset", "not a time")
	MapRateLimitHeaders(&h, FormatAnthropic, FormatOpenAI, now)
	for k, want := range map[string]string{
		"x-ratelimit-limit-requests": "50", "x-ratelimit-remaining-requests": "49",
		"x-ratelimit-reset-requests": "30s", "x-ratelimit-reset-tokens": "",
	} {
		if got := string(h.Peek(k)); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	var o fasthttp.ResponseHeader
	o.Set("x-ratelimit-limit-tokens", "200000")
	o.Set("x-ratelimit-reset-tokens", "6m0s")
	o.Set("x-ratelimit-reset-requests", "1.5")
	MapRateLimitHeaders(&o, FormatOpenAI, FormatAnthropic, now)
	for k, want := range map[string]string{
		"anthropic-ratelimit-tokens-limit":   "200000",
		"anthropic-ratelimit-tokens-reset":   "2026-12-07T12:06:00Z",
		"anthropic-ratelimit-requests-reset": "2026-12-07T12:00:01Z",
	} {
		if got := string(o.Peek(k)); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Same format: nothing added.
	var s fasthttp.ResponseHeader
	s.Set("x-ratelimit-limit-tokens", "1")
	MapRateLimitHeaders(&s, FormatOpenAI, FormatOpenAI, now)
	if len(s.Peek("anthropic-ratelimit-tokens-limit")) != 0 {
		t.Error("same format got mapped headers")
	}
}

package provider

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// Rate-limit headers are named, and their reset written, differently by
// OpenAI (x-ratelimit-limit-requests, reset as a duration such as "6m0s")
// and Anthropic (anthropic-ratelimit-requests-limit, reset as an RFC 3339
// time). A translated reply carries the upstream's under the names the
// caller's SDK reads too; Gemini and Bedrock send none. The gateway's own
// limit headers, set afterwards, win over an upstream's of the same name.

// limitNames are one limit's header names in canonical form (each word
// capitalised, as fasthttp stores parsed names): PeekCanonical and
// SetCanonical use them without normalising them on every call.
type limitNames struct {
	openai, anthropic []byte
	reset             bool
}

var limitHeaders = [...]limitNames{
	{[]byte("X-Ratelimit-Limit-Requests"), []byte("Anthropic-Ratelimit-Requests-Limit"), false},
	{[]byte("X-Ratelimit-Remaining-Requests"), []byte("Anthropic-Ratelimit-Requests-Remaining"), false},
	{[]byte("X-Ratelimit-Reset-Requests"), []byte("Anthropic-Ratelimit-Requests-Reset"), true},
	{[]byte("X-Ratelimit-Limit-Tokens"), []byte("Anthropic-Ratelimit-Tokens-Limit"), false},
	{[]byte("X-Ratelimit-Remaining-Tokens"), []byte("Anthropic-Ratelimit-Tokens-Remaining"), false},
	{[]byte("X-Ratelimit-Reset-Tokens"), []byte("Anthropic-Ratelimit-Tokens-Reset"), true},
}

// MapRateLimitHeaders adds to h, a reply from an upstream of format from
// relayed to a client of format to, the upstream's rate-limit headers
// under the names to's clients read, at now.
func MapRateLimitHeaders(h *fasthttp.ResponseHeader, from, to Format, now time.Time) {
	if from == to {
		return
	}
	for _, n := range limitHeaders {
		switch {
		case from == FormatAnthropic && to == FormatOpenAI:
			v := h.PeekCanonical(n.anthropic)
			if len(v) == 0 {
				continue
			}
			if n.reset {
				t, err := time.Parse(time.RFC3339, string(v))
				if err != nil {
					continue
				}
				h.SetCanonical(n.openai, []byte(max(t.Sub(now), 0).Round(time.Millisecond).String()))
				continue
			}
			h.SetCanonical(n.openai, v)
		case from == FormatOpenAI && to == FormatAnthropic:
			v := h.PeekCanonical(n.openai)
			if len(v) == 0 {
				continue
			}
			if n.reset {
				d, err := time.ParseDuration(string(v))
				if err != nil {
					// Some compatible servers send whole seconds.
					s, serr := strconv.ParseFloat(string(v), 64)
					if serr != nil {
						continue
					}
					d = time.Duration(s * float64(time.Second))
				}
				h.SetCanonical(n.anthropic, now.Add(d).UTC().AppendFormat(nil, time.RFC3339))
				continue
			}
			h.SetCanonical(n.anthropic, v)
		}
	}
}

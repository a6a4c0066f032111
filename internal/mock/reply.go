package mock

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// format is a provider's wire format; it decides the shape of errors.
type format uint8

const (
	formatOpenAI format = iota
	formatAnthropic
	formatGemini
	formatBedrock
)

// route is one endpoint the mock serves. Routes index the metrics.
type route uint8

const (
	routeOther route = iota
	routeChat
	routeCompletions
	routeEmbeddings
	routeResponses
	routeModels
	routeMessages
	routeGemini
	routeCountTokens // Anthropic's /v1/messages/count_tokens
	routeGeminiEmbed // Gemini's :embedContent and :batchEmbedContents
	routeConverse    // Bedrock's converse and converse-stream
	numRoutes
)

var routeNames = [numRoutes]string{
	routeOther:       "other",
	routeChat:        "chat_completions",
	routeCompletions: "completions",
	routeEmbeddings:  "embeddings",
	routeResponses:   "responses",
	routeModels:      "models",
	routeMessages:    "messages",
	routeGemini:      "gemini",
	routeCountTokens: "count_tokens",
	routeGeminiEmbed: "gemini_embeddings",
	routeConverse:    "converse",
}

func (r route) format() format {
	switch r {
	case routeMessages, routeCountTokens:
		return formatAnthropic
	case routeGemini, routeGeminiEmbed:
		return formatGemini
	case routeConverse:
		return formatBedrock
	}
	return formatOpenAI
}

// call is one parsed LLM request: what the reply depends on. Byte slices point into
// the request body and are valid only while the handler runs; streams copy them.
type call struct {
	route  route
	st     steer
	at     time.Time
	entry  *Entry // nil when the journal is off
	seed   uint64 // content seed: Options.Seed mixed with a hash of the body
	serial uint64 // per-request counter, for ids and chaos

	model        []byte // raw JSON value of the model, quotes included
	stream       bool
	includeUsage bool
	sse          bool // Gemini: ?alt=sse framing instead of a JSON array
	maxTokens    int  // -1: no limit asked
	promptTokens int
	echo         []byte    // text to echo; nil without Echo
	tool         *toolCall // the tool call the reply makes, if any
	// Responses only: the raw tools and tool_choice of the request, echoed in the
	// response object; nil when absent.
	tools, toolChoice []byte

	// Filled by plan.
	tokens tokenSource
	n      int // tokens in the reply
	cut    bool
}

// plan decides the reply's length and content: the steered token count (X-Mock-Tokens
// wins over X-Response-Size), else the echoed text, else Options.Tokens; then cut by
// the request's own maximum. It also settles the prompt count (below).
func (c *call) plan(defaultTokens int) {
	c.tokens = tokenSource{seed: c.seed}
	if c.echo != nil {
		c.tokens.echo = c.echo
	}
	switch {
	case c.st.tokens >= 0:
		c.n = c.st.tokens
	case c.st.respSize >= 0 && c.echo == nil:
		c.n = tokensForSize(c.seed, c.st.respSize)
	case c.echo != nil:
		c.n = countWords(c.echo)
	default:
		c.n = defaultTokens
	}
	if c.echo != nil {
		// An echo has only so many words; a longer steered reply continues with vocab.
		if w := countWords(c.echo); c.n > w {
			c.tokens.echo = nil
		}
	}
	if c.tool != nil {
		c.n = 0 // a tool call replaces the text
	}
	if c.maxTokens >= 0 && c.n > c.maxTokens {
		c.n = c.maxTokens
		c.cut = true
	}
	c.tokens.reset()
	// The prompt count covers every prompt token, those steered as read from or written
	// to the cache included: a prompt too short to hold them grows to their sum.
	if k := c.st.cacheRead + c.st.cacheWrite; k > c.promptTokens {
		c.promptTokens = k
	}
}

// appendContent appends the reply's text, JSON-escaped, and rewinds the token source.
func (c *call) appendContent(dst []byte) []byte {
	c.tokens.reset()
	for range c.n {
		dst = appendJSONString(dst, c.tokens.next())
	}
	c.tokens.reset()
	return dst
}

// appendID appends prefix and 24 base62 characters derived from x: three scrambled
// words of x, eight characters each (62⁸ < 2⁶⁴, so every character varies).
func appendID(dst []byte, prefix string, x uint64) []byte {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	dst = append(dst, prefix...)
	for w := range uint64(3) {
		v := mix64(x + (w+1)*0x9e3779b97f4a7c15)
		for range 8 {
			dst = append(dst, alphabet[v%62])
			v /= 62
		}
	}
	return dst
}

// appendUUID appends a version-4-shaped UUID (8-4-4-4-12 lower-case hex digits)
// derived from x, as AWS request ids are.
func appendUUID(dst []byte, x uint64) []byte {
	const hex = "0123456789abcdef"
	hi, lo := mix64(x+0x9e3779b97f4a7c15), mix64(x+0x3c6ef372fe94f82a)
	hi = hi&^0xf000 | 0x4000            // version 4
	lo = lo&^0xc000000000000000 | 1<<63 // variant 10
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			dst = append(dst, '-')
		}
		w := hi
		if i >= 16 {
			w = lo
		}
		dst = append(dst, hex[w>>(60-4*(i%16))&0xf])
	}
	return dst
}

func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }

// errorKind is how a format names an error of some status.
type errorKind struct {
	openAIType, openAICode string // code "" is JSON null
	anthropicType          string
	geminiStatus           string
	bedrockType            string // the x-amzn-ErrorType of Bedrock's reply
}

func kindOf(status int) errorKind {
	switch status {
	case 400:
		return errorKind{"invalid_request_error", "", "invalid_request_error", "INVALID_ARGUMENT", "ValidationException"}
	case 401:
		return errorKind{"invalid_request_error", "invalid_api_key", "authentication_error", "UNAUTHENTICATED", "UnrecognizedClientException"}
	case 402:
		return errorKind{"invalid_request_error", "insufficient_quota", "billing_error", "FAILED_PRECONDITION", "AccessDeniedException"}
	case 403:
		return errorKind{"invalid_request_error", "unsupported_country_region_territory", "permission_error", "PERMISSION_DENIED", "AccessDeniedException"}
	case 404:
		return errorKind{"invalid_request_error", "model_not_found", "not_found_error", "NOT_FOUND", "ResourceNotFoundException"}
	case 408:
		return errorKind{"invalid_request_error", "", "invalid_request_error", "FAILED_PRECONDITION", "ModelTimeoutException"}
	case 413:
		return errorKind{"invalid_request_error", "request_too_large", "request_too_large", "INVALID_ARGUMENT", "ValidationException"}
	case 424:
		return errorKind{"invalid_request_error", "", "invalid_request_error", "FAILED_PRECONDITION", "ModelErrorException"}
	case 429:
		return errorKind{"requests", "rate_limit_exceeded", "rate_limit_error", "RESOURCE_EXHAUSTED", "ThrottlingException"}
	case 500:
		return errorKind{"server_error", "", "api_error", "INTERNAL", "InternalServerException"}
	case 503:
		return errorKind{"server_error", "", "overloaded_error", "UNAVAILABLE", "ServiceUnavailableException"}
	case 504:
		return errorKind{"server_error", "", "timeout_error", "DEADLINE_EXCEEDED", "ModelTimeoutException"}
	case 529:
		return errorKind{"server_error", "", "overloaded_error", "UNAVAILABLE", "ServiceUnavailableException"}
	}
	if status >= 500 {
		return errorKind{"server_error", "", "api_error", "INTERNAL", "InternalServerException"}
	}
	return errorKind{"invalid_request_error", "", "invalid_request_error", "FAILED_PRECONDITION", "ValidationException"}
}

// forcedMessage is the message of an error forced by X-Mock-Status or a chaos rate.
func forcedMessage(status int) string {
	switch status {
	case 401:
		return "Incorrect API key provided (mock: forced by X-Mock-Status)."
	case 429:
		return "Rate limit reached (mock: forced). Please try again in 1s."
	case 529, 503:
		return "Overloaded (mock: forced)."
	}
	return "The mock was asked to fail with status " + strconv.Itoa(status) + "."
}

// writeError replies with status and msg in format f's own error shape. param, when
// set, names the offending field (OpenAI only).
func writeError(ctx *fasthttp.RequestCtx, f format, status int, msg, param string) {
	writeErrorKind(ctx, f, status, kindOf(status), msg, param)
}

// writeErrorKind is writeError with the error's type and code given.
func writeErrorKind(ctx *fasthttp.RequestCtx, f format, status int, k errorKind, msg, param string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b := ctx.Response.SwapBody(nil)[:0]
	switch f {
	case formatBedrock:
		// Bedrock names the error in a header, suffixed with the service's namespace as
		// the real service sends it (the SDKs cut at the colon); the body has the message.
		ctx.Response.Header.Set("x-amzn-ErrorType", k.bedrockType+bedrockErrorSuffix)
		b = append(b, `{"message":`...)
		b = appendQuoted(b, stringBytes(msg))
		b = append(b, '}')
	case formatAnthropic:
		b = append(b, `{"type":"error","error":{"type":"`...)
		b = append(b, k.anthropicType...)
		b = append(b, `","message":`...)
		b = appendQuoted(b, stringBytes(msg))
		b = append(b, `}}`...)
	case formatGemini:
		b = append(b, `{"error":{"code":`...)
		b = appendInt(b, status)
		b = append(b, `,"message":`...)
		b = appendQuoted(b, stringBytes(msg))
		b = append(b, `,"status":"`...)
		b = append(b, k.geminiStatus...)
		b = append(b, `"}}`...)
	default:
		b = append(b, `{"error":{"message":`...)
		b = appendQuoted(b, stringBytes(msg))
		b = append(b, `,"type":"`...)
		b = append(b, k.openAIType...)
		b = append(b, `","param":`...)
		if param == "" {
			b = append(b, "null"...)
		} else {
			b = appendQuoted(b, stringBytes(param))
		}
		b = append(b, `,"code":`...)
		if k.openAICode == "" {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = append(b, k.openAICode...)
			b = append(b, '"')
		}
		b = append(b, `}}`...)
	}
	ctx.Response.SwapBody(b)
	if status == 429 && f != formatBedrock { // AWS sends no retry-after
		setRateLimitHeaders(ctx, f)
	}
}

// setRateLimitHeaders adds what the real APIs send with a 429: retry-after (seconds),
// retry-after-ms, and the provider's rate-limit headers.
func setRateLimitHeaders(ctx *fasthttp.RequestCtx, f format) {
	h := &ctx.Response.Header
	h.Set("retry-after", "1")
	h.Set("retry-after-ms", "1000")
	switch f {
	case formatAnthropic:
		reset := time.Now().Add(time.Second).UTC().Format(time.RFC3339)
		h.Set("anthropic-ratelimit-requests-limit", "60")
		h.Set("anthropic-ratelimit-requests-remaining", "0")
		h.Set("anthropic-ratelimit-requests-reset", reset)
		h.Set("anthropic-ratelimit-tokens-limit", "100000")
		h.Set("anthropic-ratelimit-tokens-remaining", "0")
		h.Set("anthropic-ratelimit-tokens-reset", reset)
	case formatOpenAI:
		h.Set("x-ratelimit-limit-requests", "60")
		h.Set("x-ratelimit-remaining-requests", "0")
		h.Set("x-ratelimit-reset-requests", "1s")
		h.Set("x-ratelimit-limit-tokens", "100000")
		h.Set("x-ratelimit-remaining-tokens", "0")
		h.Set("x-ratelimit-reset-tokens", "1s")
	}
}

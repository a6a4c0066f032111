package provider

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Usage is the token usage of one exchange as the upstream reported it.
type Usage struct {
	Input      int64 // prompt / input tokens (cached ones included)
	Output     int64 // completion / output tokens
	CacheRead  int64 // input tokens served from the provider's cache
	CacheWrite int64 // input tokens written to the cache (Anthropic)
	Valid      bool  // the upstream reported usage
}

// ParseUsage reads usage from a complete (non-streamed) reply body.
func ParseUsage(op Operation, body []byte) Usage {
	var u Usage
	if op == OpChat || op == OpCompletions || op == OpEmbeddings {
		if u, ok := fastOpenAIUsage(body); ok {
			return u
		}
	}
	if !bytes.Contains(body, []byte(`"usage"`)) && op != OpCountTokens {
		return u
	}
	res := gjson.Get(bytesView(body), "usage")
	switch op {
	case OpMessages:
		u.anthropic(res)
	case OpCountTokens:
		if n := gjson.Get(bytesView(body), "input_tokens"); n.Exists() {
			u.Input, u.Valid = n.Int(), true
		}
	case OpResponses:
		u.responses(res)
	default:
		u.openAI(res)
	}
	return u
}

func (u *Usage) openAI(res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	u.Input = res.Get("prompt_tokens").Int()
	u.Output = res.Get("completion_tokens").Int()
	u.CacheRead = res.Get("prompt_tokens_details.cached_tokens").Int()
}

func (u *Usage) responses(res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	u.Input = res.Get("input_tokens").Int()
	u.Output = res.Get("output_tokens").Int()
	u.CacheRead = res.Get("input_tokens_details.cached_tokens").Int()
}

func (u *Usage) anthropic(res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	// Anthropic reports cache reads and writes apart from input_tokens;
	// Input counts every prompt token so that all formats agree.
	if v := res.Get("input_tokens"); v.Exists() {
		u.CacheRead = res.Get("cache_read_input_tokens").Int()
		u.CacheWrite = res.Get("cache_creation_input_tokens").Int()
		u.Input = v.Int() + u.CacheRead + u.CacheWrite
	}
	if v := res.Get("output_tokens"); v.Exists() {
		u.Output = v.Int()
	}
}

// Values read here are views into the reply (gjson.Get on bytesView, which
// unlike GetBytes copies nothing); only integers leave these functions.

// StreamEvent inspects one streamed event for usage and reports whether the
// event is an OpenAI usage-only chunk (empty choices, usage set), which the
// gateway hides from clients that did not ask for it.
func (u *Usage) StreamEvent(op Operation, name, data []byte) (usageOnly bool) {
	switch op {
	case OpMessages:
		return u.anthropicEvent(name, data)
	case OpResponses:
		if bytes.HasPrefix(name, []byte("response.")) || len(name) == 0 {
			if bytes.Contains(data, []byte(`"usage"`)) {
				res := gjson.Get(bytesView(data), "response.usage")
				if res.IsObject() {
					u.responses(res)
				}
			}
		}
		return false
	default:
		if !hasUsage(data) {
			return false
		}
		res := gjson.Get(bytesView(data), "usage")
		if !res.IsObject() {
			return false
		}
		u.openAI(res)
		ch := gjson.Get(bytesView(data), "choices")
		return ch.IsArray() && isEmptyArray(ch.Raw)
	}
}

func (u *Usage) anthropicEvent(name, data []byte) bool {
	switch {
	case bytes.Equal(name, []byte("message_start")):
		u.anthropic(gjson.Get(bytesView(data), "message.usage"))
	case bytes.Equal(name, []byte("message_delta")):
		res := gjson.Get(bytesView(data), "usage")
		if res.IsObject() {
			u.Valid = true
			if v := res.Get("output_tokens"); v.Exists() {
				u.Output = v.Int()
			}
			// Newer API versions repeat the input counts here.
			if v := res.Get("input_tokens"); v.Exists() && v.Int() > 0 {
				cr, cw := res.Get("cache_read_input_tokens").Int(), res.Get("cache_creation_input_tokens").Int()
				if in := v.Int() + cr + cw; in > u.Input {
					u.Input, u.CacheRead, u.CacheWrite = in, cr, cw
				}
			}
		}
	}
	return false
}

func isEmptyArray(raw string) bool {
	for i := 1; i < len(raw)-1; i++ {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// hasUsage reports whether an OpenAI chunk may carry a usage object: it has
// a "usage" key whose value is not null. Once usage is requested OpenAI puts
// "usage":null on every chunk; this skips those without a JSON lookup.
func hasUsage(data []byte) bool {
	key := []byte(`"usage"`)
	i := bytes.Index(data, key)
	if i < 0 {
		return false
	}
	rest := data[i+len(key):]
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) > 0 && rest[0] == ':' {
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if bytes.HasPrefix(rest, []byte("null")) && !bytes.Contains(rest, key) {
			return false
		}
	}
	return true
}

// fastOpenAIUsage reads an OpenAI reply's usage without a JSON walk: when
// the body holds exactly one `"usage"` key (inside strings a quote is
// escaped, so text cannot produce one), that is the reply's usage object,
// and its integer fields are read where they stand. Anything unusual
// (several usage keys, non-integer values, a usage that is not an object)
// makes it decline, and ParseUsage walks the body properly instead.
func fastOpenAIUsage(body []byte) (Usage, bool) {
	var u Usage
	i := indexKey(body, keyUsage)
	if i < 0 || indexKey(body[i+len(keyUsage):], keyUsage) >= 0 {
		return u, false
	}
	obj := skipSpace(body[i+len(keyUsage):])
	if len(obj) == 0 || obj[0] != ':' {
		return u, false
	}
	obj = skipSpace(obj[1:])
	if len(obj) == 0 || obj[0] != '{' {
		return u, false
	}
	end := bytes.IndexByte(obj, '}')
	if end < 0 {
		return u, false
	}
	// obj[:end] ends at the first closing brace: the flat part of the usage
	// object, which holds prompt_tokens and completion_tokens. Nested
	// details (cached tokens) come after them in OpenAI's replies.
	flat := obj[:end]
	in, ok1 := intField(flat, keyPromptTokens)
	out, ok2 := intField(flat, keyCompletionTokens)
	if !ok1 || (!ok2 && indexKey(flat, keyCompletionTokens) >= 0) {
		return u, false
	}
	u.Input, u.Output, u.Valid = in, out, true
	if j := indexKey(obj, keyCachedTokens); j >= 0 {
		if c, ok := intField(obj[j:], keyCachedTokens); ok {
			u.CacheRead = c
		}
	}
	return u, true
}

// Keys searched for, as `"name"`.
var (
	keyUsage            = []byte(`"usage"`)
	keyPromptTokens     = []byte(`"prompt_tokens"`)
	keyCompletionTokens = []byte(`"completion_tokens"`)
	keyCachedTokens     = []byte(`"cached_tokens"`)
)

// indexKey finds key (`"name"`) in b. It searches for the name without its
// leading quote, whose first letter is far rarer in JSON than a quote, and
// then checks the quote: several times faster than bytes.Index on a body
// full of quotes.
func indexKey(b, key []byte) int {
	rest := key[1:]
	off := 0
	for {
		j := bytes.Index(b[off:], rest)
		if j < 0 {
			return -1
		}
		j += off
		if j > 0 && b[j-1] == '"' {
			return j - 1
		}
		off = j + 1
	}
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// intField reads the non-negative integer value of key in a flat JSON
// object fragment.
func intField(b, key []byte) (int64, bool) {
	i := indexKey(b, key)
	if i < 0 {
		return 0, false
	}
	b = skipSpace(b[i+len(key):])
	if len(b) == 0 || b[0] != ':' {
		return 0, false
	}
	b = skipSpace(b[1:])
	var n int64
	digits := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
		if digits > 15 {
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	return n, true
}

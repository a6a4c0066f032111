package openai

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/sse"
)

// Values read here are views into the reply (gjson.Get on wire.StringView,
// which unlike GetBytes copies nothing); only integers leave these
// functions.

// usage reads usage from a complete (non-streamed) reply body.
func usage(op wire.Operation, body []byte) wire.Usage {
	var u wire.Usage
	if op == wire.OpChat || op == wire.OpCompletions || op == wire.OpEmbeddings {
		if u, ok := fastUsage(body); ok {
			return u
		}
	}
	if !bytes.Contains(body, []byte(`"usage"`)) {
		return u
	}
	res := gjson.Get(wire.StringView(body), "usage")
	if op == wire.OpResponses {
		responsesUsage(&u, res)
	} else {
		chatUsage(&u, res)
	}
	return u
}

// chatUsage reads a chat, completions or embeddings usage object.
func chatUsage(u *wire.Usage, res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	u.Input = res.Get("prompt_tokens").Int()
	u.Output = res.Get("completion_tokens").Int()
	u.CacheRead = res.Get("prompt_tokens_details.cached_tokens").Int()
}

// responsesUsage reads a Responses API usage object.
func responsesUsage(u *wire.Usage, res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	u.Input = res.Get("input_tokens").Int()
	u.Output = res.Get("output_tokens").Int()
	u.CacheRead = res.Get("input_tokens_details.cached_tokens").Int()
}

// streamEvent is the StreamEvent hook. A chat or completions stream ends
// with "data: [DONE]"; its usage comes in a chunk of its own (empty
// choices, usage set) when stream_options.include_usage asked for it. A
// Responses stream ends with response.completed, .failed, .incomplete or
// an error event, whose usage is in response.usage; each of its events
// carries a sequence_number.
func streamEvent(op wire.Operation, name, data []byte, u *wire.Usage, seq *int64) (end, usageOnly bool) {
	if op == wire.OpResponses {
		// The number an event Sluice writes next must carry.
		if n, ok := sequenceNumber(data); ok {
			*seq = n + 1
		} else {
			*seq++
		}
		end = bytes.Equal(name, []byte("response.completed")) || bytes.Equal(name, []byte("response.failed")) ||
			bytes.Equal(name, []byte("response.incomplete")) || bytes.Equal(name, []byte("error"))
		if bytes.HasPrefix(name, []byte("response.")) || len(name) == 0 {
			if bytes.Contains(data, []byte(`"usage"`)) {
				res := gjson.Get(wire.StringView(data), "response.usage")
				if res.IsObject() {
					responsesUsage(u, res)
				}
			}
		}
		return end, false
	}
	if string(data) == sse.DoneData {
		return true, false
	}
	// A chat or completions chunk: usage-only when its choices are empty.
	if !hasUsage(data) {
		return false, false
	}
	res := gjson.Get(wire.StringView(data), "usage")
	if !res.IsObject() {
		return false, false
	}
	chatUsage(u, res)
	ch := gjson.Get(wire.StringView(data), "choices")
	return false, ch.IsArray() && isEmptyArray(ch.Raw)
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

// hasUsage reports whether a chunk may carry a usage object: it has a
// "usage" key whose value is not null. Once usage is requested OpenAI puts
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

// fastUsage reads a reply's usage without a JSON walk: when the body holds
// exactly one `"usage"` key (inside strings a quote is escaped, so text
// cannot produce one), that is the reply's usage object, and its integer
// fields are read where they stand. Anything unusual (several usage keys,
// non-integer values, a usage that is not an object) makes it decline, and
// usage walks the body properly instead.
func fastUsage(body []byte) (wire.Usage, bool) {
	var u wire.Usage
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

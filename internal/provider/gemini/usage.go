package gemini

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Values read here are views into the reply (gjson.Get on wire.StringView,
// which unlike GetBytes copies nothing); only integers leave these
// functions.

// usage is the Usage hook: a generateContent reply's usageMetadata, a
// countTokens reply's totalTokens, an embedding reply's usageMetadata
// (Gemini's embedding replies usually carry none: no usage then).
func usage(op wire.Operation, body []byte) wire.Usage {
	var u wire.Usage
	s := wire.StringView(body)
	if op == wire.OpCountTokens {
		if n := gjson.Get(s, "totalTokens"); n.Exists() {
			u.Input, u.Valid = n.Int(), true
			u.CacheRead = gjson.Get(s, "cachedContentTokenCount").Int()
		}
		return u
	}
	if !bytes.Contains(body, []byte(`"usageMetadata"`)) {
		return u
	}
	metadataUsage(&u, gjson.Get(s, "usageMetadata"))
	return u
}

// metadataUsage reads a usageMetadata object into u. Output counts the
// thoughts (thoughtsTokenCount), which Gemini leaves out of
// candidatesTokenCount but bills as output; Input counts the tool-use
// prompt tokens, billed as input.
func metadataUsage(u *wire.Usage, res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	u.Input = res.Get("promptTokenCount").Int() + res.Get("toolUsePromptTokenCount").Int()
	u.Output = res.Get("candidatesTokenCount").Int() + res.Get("thoughtsTokenCount").Int()
	u.CacheRead = res.Get("cachedContentTokenCount").Int()
}

// streamEvent is the StreamEvent hook. A Gemini stream has no terminal
// event: it ends with the connection. The chunk that carries a
// finishReason is its last (it also carries the final usage), so it counts
// as the end; so does an error event, and a chunk saying the prompt was
// blocked. Every chunk may carry usageMetadata, each a running total that
// replaces the one before. No event is usage-only, and none is numbered.
func streamEvent(op wire.Operation, _, data []byte, u *wire.Usage, _ *int64) (end, usageOnly bool) {
	if op == wire.OpEmbedContent || op == wire.OpCountTokens {
		return false, false
	}
	s := wire.StringView(data)
	if bytes.Contains(data, []byte(`"usageMetadata"`)) {
		metadataUsage(u, gjson.Get(s, "usageMetadata"))
	}
	switch {
	case bytes.Contains(data, []byte(`"finishReason"`)):
		end = gjson.Get(s, "candidates.0.finishReason").Str != ""
	case bytes.Contains(data, []byte(`"blockReason"`)):
		end = gjson.Get(s, "promptFeedback.blockReason").Str != ""
	case bytes.Contains(data, []byte(`"error"`)):
		end = gjson.Get(s, "error").IsObject()
	}
	return end, false
}

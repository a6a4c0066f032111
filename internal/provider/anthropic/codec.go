package anthropic

import (
	"crypto/rand"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// MessagesCodec returns the translation of Anthropic's Messages API
// (/v1/messages) to and from the canonical form, in every direction: an
// Anthropic client's request and the reply it gets (Claude Code and the
// Anthropic SDKs reaching OpenAI, Gemini or Bedrock models), and an
// Anthropic upstream's request and reply. TRANSLATION.md lists every
// mapping rule, and every field dropped or refused.
func MessagesCodec() canon.Codec {
	return canon.Codec{
		DecodeRequest: codecDecodeRequest,
		EncodeRequest: codecEncodeRequest,
		DecodeReply:   codecDecodeReply,
		EncodeReply:   codecEncodeReply,
		NewDecoder:    func() canon.StreamDecoder { return &codecStreamDecoder{} },
		NewEncoder:    codecNewEncoder,
		DecodeError:   codecDecodeError,
	}
}

// codecStr returns the string value of res as a string of its own: gjson
// gives a view into the body for a string without escapes (the body buffer
// is reused after decoding) and a fresh string for one with escapes.
func codecStr(res gjson.Result) string {
	if res.Type != gjson.String {
		return ""
	}
	if strings.IndexByte(res.Raw, '\\') < 0 {
		return strings.Clone(res.Str)
	}
	return res.Str
}

// codecStopReason maps Anthropic's stop_reason to the canonical one
// (canon.StopReason's table); model_context_window_exceeded is a length
// stop whose name Stop.Raw keeps.
func codecStopReason(s string) canon.StopReason {
	switch s {
	case "end_turn":
		return canon.StopEnd
	case "max_tokens", "model_context_window_exceeded":
		return canon.StopLength
	case "stop_sequence":
		return canon.StopSequence
	case "tool_use":
		return canon.StopTool
	case "refusal":
		return canon.StopFilter
	case "pause_turn":
		return canon.StopPause
	case "":
		return canon.StopNone
	}
	return canon.StopEnd
}

// codecStopName is the stop_reason an Anthropic client reads for st;
// toolCalled says the reply holds a tool call, which makes a plain end a
// tool_use stop (the formats whose stop reason does not say so).
func codecStopName(st *canon.Stop, toolCalled bool) string {
	if st.Raw == "model_context_window_exceeded" && st.Reason == canon.StopLength {
		return st.Raw
	}
	switch st.Reason {
	case canon.StopLength:
		return "max_tokens"
	case canon.StopSequence:
		return "stop_sequence"
	case canon.StopTool:
		return "tool_use"
	case canon.StopFilter:
		return "refusal"
	case canon.StopPause:
		return "pause_turn"
	}
	if toolCalled {
		return "tool_use"
	}
	return "end_turn"
}

// codecErrorTypes are Anthropic's error types by canonical type, and the
// HTTP status each implies.
var codecErrorTypes = [...]struct {
	name   string
	status int
}{
	canon.ErrAPI:            {"api_error", 500},
	canon.ErrInvalidRequest: {"invalid_request_error", 400},
	canon.ErrAuthentication: {"authentication_error", 401},
	canon.ErrPermission:     {"permission_error", 403},
	canon.ErrNotFound:       {"not_found_error", 404},
	canon.ErrTooLarge:       {"request_too_large", 413},
	canon.ErrRateLimit:      {"rate_limit_error", 429},
	canon.ErrOverloaded:     {"overloaded_error", 529},
	canon.ErrTimeout:        {"timeout_error", 504},
}

// codecErrorName is the Anthropic error type of t.
func codecErrorName(t canon.ErrorType) string {
	if int(t) < len(codecErrorTypes) {
		return codecErrorTypes[t].name
	}
	return "api_error"
}

// codecErrorType maps an Anthropic error type to the canonical one; ok is
// false for a type Anthropic does not document. billing_error (402) is a
// permission error: the account may not use the API.
func codecErrorType(name string) (t canon.ErrorType, ok bool) {
	for i := range codecErrorTypes {
		if codecErrorTypes[i].name == name {
			return canon.ErrorType(i), true
		}
	}
	if name == "billing_error" {
		return canon.ErrPermission, true
	}
	return canon.ErrAPI, false
}

// codecAlnum are the characters of generated ids.
const codecAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// codecAppendID appends prefix and 24 random characters: the id of a
// message or tool call whose upstream gave none, shaped like Anthropic's.
func codecAppendID(dst []byte, prefix string) []byte {
	var b [24]byte
	_, _ = rand.Read(b[:])
	dst = append(dst, prefix...)
	for _, c := range b {
		dst = append(dst, codecAlnum[int(c)%len(codecAlnum)])
	}
	return dst
}

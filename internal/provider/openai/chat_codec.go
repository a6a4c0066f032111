package openai

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// ChatCodec returns the codec of OpenAI chat completions
// (/v1/chat/completions) in every direction: a client's request and the
// replies and stream it gets back, and the body sent to an upstream that
// speaks the format (OpenAI, Azure OpenAI, vLLM, Groq, Ollama, DeepSeek,
// ...) and what that upstream answers. chat_codec.md lists every mapping
// rule and every field it drops or refuses.
func ChatCodec() canon.Codec {
	return canon.Codec{
		DecodeRequest: chatDecodeRequest,
		EncodeRequest: chatEncodeRequest,
		DecodeReply:   chatDecodeReply,
		EncodeReply:   chatEncodeReply,
		NewDecoder:    func() canon.StreamDecoder { return &chatStreamDecoder{} },
		NewEncoder:    func(req *canon.Request) canon.StreamEncoder { return chatNewStreamEncoder(req, nil) },
		DecodeError:   chatDecodeError,
	}
}

// chatStr returns a JSON string value as a string the caller may keep
// (empty for any other type): gjson unescapes a string with escapes into a
// fresh string, and returns one without escapes as a view into the body,
// which is cloned. Every escape is longer than what it stands for, so the
// lengths tell which.
func chatStr(v gjson.Result) string {
	if v.Type != gjson.String {
		return ""
	}
	if len(v.Raw) != len(v.Str)+2 {
		return v.Str
	}
	return strings.Clone(v.Str)
}

// chatParseDataURL splits a data: URL holding base64 data into its media
// type (without parameters) and the data. ok is false for anything else,
// or a URL with no media type.
func chatParseDataURL(s string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(s, "data:")
	if !found {
		return "", "", false
	}
	head, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	head, found = strings.CutSuffix(head, ";base64")
	if !found {
		return "", "", false
	}
	mediaType, _, _ = strings.Cut(head, ";")
	if mediaType == "" {
		return "", "", false
	}
	return mediaType, data, true
}

// chatAppendDataURL appends "data:<mediaType>;base64,<data>" as a JSON
// string (base64 needs no escaping; the media type is escaped anyway).
func chatAppendDataURL(dst []byte, mediaType, data string) []byte {
	dst = append(dst, `"data:`...)
	dst = chatAppendEscaped(dst, mediaType)
	dst = append(dst, ";base64,"...)
	dst = chatAppendEscaped(dst, data)
	return append(dst, '"')
}

// chatAppendEscaped appends s as the inside of a JSON string.
func chatAppendEscaped(dst []byte, s string) []byte {
	n := len(dst)
	dst = wire.AppendJSONString(dst, s)
	copy(dst[n:], dst[n+1:len(dst)-1])
	return dst[:len(dst)-2]
}

// Finish reasons, and the canonical stop reasons they map to (the table in
// canon/reply.go). function_call is the legacy name of tool_calls.
func chatStopOf(reason string) canon.Stop {
	switch reason {
	case "stop":
		return canon.Stop{Reason: canon.StopEnd, Raw: "stop"}
	case "length":
		return canon.Stop{Reason: canon.StopLength, Raw: "length"}
	case "tool_calls":
		return canon.Stop{Reason: canon.StopTool, Raw: "tool_calls"}
	case "content_filter":
		return canon.Stop{Reason: canon.StopFilter, Raw: "content_filter"}
	case "function_call":
		return canon.Stop{Reason: canon.StopTool, Raw: "function_call"}
	}
	return canon.Stop{Reason: canon.StopEnd, Raw: strings.Clone(reason)}
}

// chatStopSequence refines a "stop" finish with vLLM's stop_reason: the
// stop string that matched (a number there is a stop token id, which says
// nothing canonical).
func chatStopSequence(s *canon.Stop, stopReason gjson.Result) {
	if s.Reason == canon.StopEnd && s.Raw == "stop" && stopReason.Type == gjson.String && stopReason.Str != "" {
		s.Reason, s.Sequence = canon.StopSequence, chatStr(stopReason)
	}
}

// chatFinishReason is the finish_reason of s. A reply that calls tools
// finishes with tool_calls whatever its upstream said (OpenAI clients run
// tools on that value), unless it was cut short or filtered.
func chatFinishReason(s canon.Stop, tools bool) string {
	switch s.Reason {
	case canon.StopLength:
		return "length"
	case canon.StopFilter:
		return "content_filter"
	case canon.StopTool:
		return "tool_calls"
	}
	if tools {
		return "tool_calls"
	}
	return "stop"
}

// chatReadUsage reads a chat usage object: prompt_tokens (cached ones
// included) → Input, prompt_tokens_details.cached_tokens (or DeepSeek's
// prompt_cache_hit_tokens) → CacheRead, completion_tokens (reasoning
// included) → Output, completion_tokens_details.reasoning_tokens →
// Reasoning.
func chatReadUsage(u *canon.Usage, v gjson.Result) bool {
	if !v.IsObject() {
		return false
	}
	*u = canon.Usage{}
	u.Valid = true
	var hit int64
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			u.Input = v.Int()
		case "completion_tokens":
			u.Output = v.Int()
		case "prompt_tokens_details":
			u.CacheRead = v.Get("cached_tokens").Int()
		case "completion_tokens_details":
			u.Reasoning = v.Get("reasoning_tokens").Int()
		case "prompt_cache_hit_tokens":
			hit = v.Int()
		}
		return true
	})
	if u.CacheRead == 0 {
		u.CacheRead = hit
	}
	return true
}

// chatAppendUsage appends u as a chat usage object, total_tokens the sum
// of prompt and completion tokens, with every detail OpenAI sends.
func chatAppendUsage(dst []byte, u *canon.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input, 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, u.Output, 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input+u.Output, 10)
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheRead, 10)
	dst = append(dst, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = strconv.AppendInt(dst, u.Reasoning, 10)
	return append(dst, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// chatErrorType is the OpenAI error "type" of a canonical error type (the
// names the format's own error replies use, see errorType).
func chatErrorType(t canon.ErrorType) string {
	switch t {
	case canon.ErrInvalidRequest, canon.ErrNotFound, canon.ErrTooLarge:
		return "invalid_request_error"
	case canon.ErrAuthentication:
		return "authentication_error"
	case canon.ErrPermission:
		return "permission_error"
	case canon.ErrRateLimit:
		return "rate_limit_error"
	}
	return "server_error"
}

// chatErrorTypeOf reads an OpenAI error "type" (or code) into a canonical
// type; ok is false for one it does not know.
func chatErrorTypeOf(s string) (t canon.ErrorType, ok bool) {
	switch s {
	case "invalid_request_error", "invalid_request", "BadRequestError", "context_length_exceeded":
		return canon.ErrInvalidRequest, true
	case "authentication_error", "invalid_api_key", "AuthenticationError":
		return canon.ErrAuthentication, true
	case "permission_error", "PermissionDeniedError":
		return canon.ErrPermission, true
	case "not_found_error", "model_not_found", "NotFoundError":
		return canon.ErrNotFound, true
	case "rate_limit_error", "rate_limit_exceeded", "insufficient_quota", "requests", "tokens", "RateLimitError":
		return canon.ErrRateLimit, true
	case "server_error", "api_error", "InternalServerError":
		return canon.ErrAPI, true
	case "overloaded_error", "service_unavailable", "ServiceUnavailableError":
		return canon.ErrOverloaded, true
	}
	return 0, false
}

// chatAppendError appends e as OpenAI's error body
// {"error":{"message","type","param","code"}}.
func chatAppendError(dst []byte, e *canon.Error) []byte {
	dst = append(dst, `{"error":{"message":`...)
	dst = wire.AppendJSONString(dst, e.Message)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, chatErrorType(e.Type)...)
	dst = append(dst, `","param":`...)
	dst = chatAppendStringOrNull(dst, e.Param)
	dst = append(dst, `,"code":`...)
	dst = chatAppendStringOrNull(dst, e.Code)
	return append(dst, `}}`...)
}

func chatAppendStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return wire.AppendJSONString(dst, s)
}

// chatDecodeError reads an upstream's error reply: OpenAI's
// {"error":{"message","type","param","code"}}, and the shapes compatible
// servers answer with: {"error":"message"} (Ollama), {"object":"error",
// "message",...,"code":400} (vLLM), {"detail":"message"} (FastAPI), a
// JSON array of one of those, or a bare JSON string. Type comes from the
// status; a status that is not an error's (an error inside a stream) takes
// the type the body names, and the status that type implies.
func chatDecodeError(status int, body []byte) canon.Error {
	e := canon.Error{Status: status, Type: canon.ErrorTypeOf(status)}
	v := gjson.Parse(wire.StringView(body))
	if !gjson.Valid(wire.StringView(body)) {
		v = gjson.Result{}
	}
	if v.IsArray() {
		v = v.Get("0")
	}
	chatReadError(&e, v)
	if e.Message == "" {
		e.Message = "upstream answered HTTP " + strconv.Itoa(status) + " with a body that is not an OpenAI error"
	}
	return e
}

// chatReadError fills e from an error body v (see chatDecodeError).
func chatReadError(e *canon.Error, v gjson.Result) {
	var typ string
	switch {
	case v.Type == gjson.String:
		e.Message = chatStr(v)
		return
	case !v.IsObject():
		return
	}
	obj := v
	if ev := v.Get("error"); ev.IsObject() {
		obj = ev
	} else if ev.Type == gjson.String {
		e.Message = chatStr(ev)
		return
	}
	e.Message = chatStr(obj.Get("message"))
	if e.Message == "" {
		e.Message = chatStr(obj.Get("detail"))
	}
	e.Param = chatStr(obj.Get("param"))
	typ = chatStr(obj.Get("type"))
	e.Code = chatStr(obj.Get("code"))
	if e.Code == "" {
		e.Code = typ
	}
	if e.Status >= 400 {
		return
	}
	if t, ok := chatErrorTypeOf(e.Code); ok {
		e.Type = t
	} else if t, ok := chatErrorTypeOf(typ); ok {
		e.Type = t
	} else {
		e.Type = canon.ErrAPI
	}
	switch e.Type {
	case canon.ErrRateLimit:
		e.Status = 429
	case canon.ErrOverloaded:
		e.Status = 503
	default:
		e.Status = 500
	}
}

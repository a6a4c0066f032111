package openai

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// ResponsesCodec returns the codec of the OpenAI Responses API
// (POST /v1/responses), used statelessly: a client's request is decoded
// whole (instructions, input items, tools, ...), and an upstream that
// speaks Responses is sent a self-contained request (store false, the
// conversation in input, reasoning carried as encrypted_content).
// responses_codec_translation.md lists every mapping rule and every field
// it drops or refuses.
//
// Failure modes: DecodeRequest returns canon.ErrInvalidJSON for a body
// that is not JSON and a *canon.FieldError naming the field for what the
// canonical form cannot carry (hosted tools, item types other than
// message, function_call, function_call_output and reasoning, file ids,
// background, conversation, prompt, unknown fields). EncodeRequest refuses
// (*canon.FieldError) stop sequences and n > 1, which the Responses API
// does not have. The stream decoder returns an error for an event that is
// not a JSON object.
func ResponsesCodec() canon.Codec {
	return canon.Codec{
		DecodeRequest: respDecodeRequest,
		EncodeRequest: respEncodeRequest,
		DecodeReply:   respDecodeReply,
		EncodeReply:   respEncodeReply,
		NewDecoder:    func() canon.StreamDecoder { return &respStreamDecoder{} },
		NewEncoder:    func(req *canon.Request) canon.StreamEncoder { return respNewStreamEncoder(req, respNow) },
		DecodeError:   respDecodeError,
	}
}

// respSigPrefix marks a reasoning item's encrypted_content that holds a
// thinking signature of another vendor (Anthropic, Bedrock) rather than
// OpenAI's own encrypted reasoning: the encoders of replies write
// encrypted_content as respSigPrefix + signature for a thinking part that
// has a signature and no redacted data, so that a client which sends its
// reasoning items back (Codex CLI does, with store false) returns the
// signature its upstream needs to continue; the decoders read it back into
// Part.Signature. An unmarked encrypted_content is Part.Redacted.
const respSigPrefix = "sluice.sig:"

// respStr returns the string value of v, copied out of the body it was
// read from (gjson returns a view when the string has no escapes, an
// unescaped copy when it has). Non-strings give "".
func respStr(v gjson.Result) string {
	if v.Type != gjson.String {
		return ""
	}
	if strings.IndexByte(v.Raw, '\\') >= 0 {
		return v.Str
	}
	return strings.Clone(v.Str)
}

// respField returns a FieldError for path[i].name (i < 0: path.name; name
// empty: path[i]).
func respField(path string, i int, name, msg string) *canon.FieldError {
	return canon.Fieldf(respPath(path, i, name), msg)
}

func respPath(path string, i int, name string) string {
	b := make([]byte, 0, len(path)+len(name)+8)
	b = append(b, path...)
	if i >= 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ']')
	}
	if name != "" {
		b = append(b, '.')
		b = append(b, name...)
	}
	return string(b)
}

// respDataURL splits a base64 data: URL into its media type and data; ok
// is false for anything else, and for one without a media type or data.
func respDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	head, data, found := strings.Cut(rest, ",")
	if !found || !strings.HasSuffix(head, ";base64") {
		return "", "", false
	}
	head = strings.TrimSuffix(head, ";base64")
	mediaType, _, _ = strings.Cut(head, ";")
	return mediaType, data, mediaType != "" && data != ""
}

// respJoinDataURL appends the JSON string "data:<mt>;base64,<data>".
func respJoinDataURL(dst []byte, mediaType, data string) []byte {
	dst = append(dst, `"data:`...)
	dst = respAppendJSONInner(dst, mediaType)
	dst = append(dst, ";base64,"...)
	dst = respAppendJSONInner(dst, data)
	return append(dst, '"')
}

// respAppendJSONInner appends s escaped as inside a JSON string, without
// the quotes.
func respAppendJSONInner(dst []byte, s string) []byte {
	n := len(dst)
	dst = wire.AppendJSONString(dst, s)
	copy(dst[n:], dst[n+1:len(dst)-1])
	return dst[:len(dst)-2]
}

// respIDBody returns the part of a reply id after its vendor prefix
// (resp_, msg_, chatcmpl-: whatever precedes the first '_' or '-' within
// its first 12 bytes), from which the ids of output items are made.
func respIDBody(id string) string {
	for i := 0; i < len(id) && i < 12; i++ {
		if id[i] == '_' || id[i] == '-' {
			return id[i+1:]
		}
	}
	return id
}

// respAppendItemID appends the JSON string prefix + body + "_" + index:
// the id of output item index of a response whose id body is body.
func respAppendItemID(dst []byte, prefix, body string, index int) []byte {
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = respAppendJSONInner(dst, body)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, int64(index), 10)
	return append(dst, '"')
}

// respDecodeError reads an OpenAI error body {"error":{message, type,
// param, code}} answered with status.
func respDecodeError(status int, body []byte) canon.Error {
	e := canon.Error{Status: status, Type: canon.ErrorTypeOf(status)}
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		e.Message = "upstream answered " + strconv.Itoa(status) + " with a body that is not JSON"
		return e
	}
	obj := gjson.Get(s, "error")
	if !obj.IsObject() {
		e.Message = "upstream answered " + strconv.Itoa(status) + " without an OpenAI error object"
		if m := gjson.Get(s, "message"); m.Type == gjson.String {
			e.Message = respStr(m)
		}
		return e
	}
	e.Message = respStr(obj.Get("message"))
	e.Param = respStr(obj.Get("param"))
	e.Code = respStr(obj.Get("code"))
	if e.Code == "" {
		e.Code = respStr(obj.Get("type"))
	}
	if e.Message == "" {
		e.Message = "upstream answered " + strconv.Itoa(status)
	}
	return e
}

// respStreamError reads an error a stream reports (an error event's
// fields, or a failed response's error object) into the canonical error,
// whose status its code implies.
func respStreamError(code, message, param string) canon.Error {
	e := canon.Error{Status: 500, Type: canon.ErrAPI, Message: message, Param: param, Code: code}
	switch {
	case code == "rate_limit_exceeded" || code == "insufficient_quota":
		e.Status, e.Type = 429, canon.ErrRateLimit
	case code == "server_is_overloaded" || code == "overloaded":
		e.Status, e.Type = 503, canon.ErrOverloaded
	case code == "context_length_exceeded" || strings.HasPrefix(code, "invalid_"):
		e.Status, e.Type = 400, canon.ErrInvalidRequest
	}
	if e.Message == "" {
		e.Message = "upstream stream failed"
	}
	return e
}

// respErrorCode returns the code an OpenAI client expects for e: the
// upstream's own code where it is one of OpenAI's that clients act on
// (Codex CLI retries rate_limit_exceeded, stops on
// context_length_exceeded and insufficient_quota), else one that the
// type implies.
func respErrorCode(e *canon.Error) string {
	switch e.Code {
	case "rate_limit_exceeded", "insufficient_quota", "context_length_exceeded", "server_is_overloaded":
		return e.Code
	}
	switch e.Type {
	case canon.ErrRateLimit:
		return "rate_limit_exceeded"
	case canon.ErrOverloaded:
		return "server_is_overloaded"
	case canon.ErrInvalidRequest, canon.ErrTooLarge:
		if e.Code != "" {
			return e.Code
		}
		return "invalid_request_error"
	case canon.ErrAuthentication:
		return "invalid_api_key"
	case canon.ErrPermission:
		return "permission_denied"
	case canon.ErrNotFound:
		return "not_found"
	case canon.ErrTimeout:
		return "timeout"
	}
	return "server_error"
}

package bedrock

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Bedrock names an error in the x-amzn-ErrorType header, which DecodeError
// does not see; its body is {"message": "..."} ("Message" from some
// fronts). The type follows from the status, as the runtime API documents
// each exception's status:
//
//	400 ValidationException            ErrInvalidRequest
//	403 AccessDeniedException          ErrPermission (also bad or expired signatures)
//	404 ResourceNotFoundException      ErrNotFound
//	408 ModelTimeoutException          ErrTimeout
//	424 ModelErrorException            ErrAPI (the model failed, not the request)
//	429 ThrottlingException            ErrRateLimit
//	500 InternalServerException        ErrAPI
//	503 ServiceUnavailableException    ErrOverloaded
//	other                              canon.ErrorTypeOf(status)
//
// Code is the body's __type or code where it has one (cut at ':' or '#'),
// else the exception the status implies; Param is the member a
// validation message names ("... at 'inferenceConfig.maxTokens' failed
// ...").
var statusTypes = map[int]struct {
	typ  canon.ErrorType
	code string
}{
	400: {canon.ErrInvalidRequest, "ValidationException"},
	403: {canon.ErrPermission, "AccessDeniedException"},
	404: {canon.ErrNotFound, "ResourceNotFoundException"},
	408: {canon.ErrTimeout, "ModelTimeoutException"},
	424: {canon.ErrAPI, "ModelErrorException"},
	429: {canon.ErrRateLimit, "ThrottlingException"},
	500: {canon.ErrAPI, "InternalServerException"},
	503: {canon.ErrOverloaded, "ServiceUnavailableException"},
}

// DecodeError reads a Bedrock error reply with status.
func DecodeError(status int, body []byte) canon.Error {
	e := canon.Error{Status: status, Type: canon.ErrorTypeOf(status)}
	if st, ok := statusTypes[status]; ok {
		e.Type, e.Code = st.typ, st.code
	}
	root := gjson.Parse(wire.StringView(body))
	if !gjson.ValidBytes(body) || !root.IsObject() {
		e.Message = "bedrock answered status " + strconv.Itoa(status) + " with an error body that is not a JSON object"
		return e
	}
	if c := errorCode(root); c != "" {
		e.Code = c
	}
	e.Message = errorMessage(root)
	if e.Message == "" {
		e.Message = "bedrock answered status " + strconv.Itoa(status) + " without an error message"
	}
	e.Param = validationParam(e.Message)
	return e
}

// errorMessage reads an error or exception payload's message.
func errorMessage(root gjson.Result) string {
	for _, k := range [...]string{"message", "Message", "originalMessage"} {
		if m := root.Get(k); m.Type == gjson.String && m.Str != "" {
			return str(m)
		}
	}
	return ""
}

// errorCode reads an AWS JSON error body's own type, without the
// namespace prefix or URI suffix AWS protocols add.
func errorCode(root gjson.Result) string {
	c := root.Get("__type").Str
	if c == "" {
		c = root.Get("code").Str
	}
	if i := strings.LastIndexByte(c, '#'); i >= 0 {
		c = c[i+1:]
	}
	if i := strings.IndexByte(c, ':'); i >= 0 {
		c = c[:i]
	}
	return strings.Clone(c)
}

// validationParam returns the member a Bedrock validation message names
// ("Value at 'messages.1.member.content' failed to satisfy constraint"),
// or "".
func validationParam(msg string) string {
	_, rest, ok := strings.Cut(msg, " at '")
	if !ok {
		return ""
	}
	p, _, ok := strings.Cut(rest, "'")
	if !ok || len(p) > 200 {
		return ""
	}
	return p
}

// streamError maps an exception event (its :exception-type) or an error
// message (its :error-code) to the canonical error, with the status the
// exception carries outside a stream:
//
//	internalServerException      500 ErrAPI
//	modelStreamErrorException    500 ErrAPI (the model failed mid-stream; 424 outside)
//	validationException          400 ErrInvalidRequest
//	throttlingException          429 ErrRateLimit
//	serviceUnavailableException  503 ErrOverloaded
//	modelTimeoutException        504 ErrTimeout
//	other                        500 ErrAPI
func streamError(name, data []byte) canon.Error {
	e := canon.Error{Status: 500, Type: canon.ErrAPI, Code: string(name)}
	switch string(name) {
	case "validationException":
		e.Status, e.Type = 400, canon.ErrInvalidRequest
	case "throttlingException":
		e.Status, e.Type = 429, canon.ErrRateLimit
	case "serviceUnavailableException":
		e.Status, e.Type = 503, canon.ErrOverloaded
	case "modelTimeoutException":
		e.Status, e.Type = 504, canon.ErrTimeout
	}
	if root := gjson.Parse(wire.StringView(data)); root.IsObject() && gjson.ValidBytes(data) {
		e.Message = errorMessage(root)
	} else if len(data) > 0 {
		e.Message = string(data) // an :error-message
	}
	if e.Message == "" {
		e.Message = "bedrock ended the stream with " + clip(e.Code)
	}
	return e
}

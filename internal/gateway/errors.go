package gateway

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
)

// Error codes Sluice produces (the OpenAI "code" field), per the contract.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeGuardrailViolation  = "guardrail_violation"
	CodeInvalidAPIKey       = "invalid_api_key"
	CodeModelNotAllowed     = "model_not_allowed"
	CodeModelNotFound       = "model_not_found"
	CodeRequestTooLarge     = "request_too_large"
	CodeRateLimitExceeded   = "rate_limit_exceeded"
	CodeInsufficientQuota   = "insufficient_quota"
	CodeUpstreamUnreachable = "upstream_unreachable"
	CodeOverloaded          = "overloaded"
	CodeUpstreamTimeout     = "upstream_timeout"
	CodeInternal            = "internal_error"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
)

// HTTPError is an error Sluice answers itself. Msg is for the client and
// must say what to do; it never carries a secret or a guarded match. Err is
// for the logs only.
type HTTPError struct {
	Status int
	Code   string
	Msg    string
	Param  string // the offending request field, if any
	Err    error
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Msg
}

func (e *HTTPError) Unwrap() error { return e.Err }

func errorf(status int, code, msg string) *HTTPError {
	return &HTTPError{Status: status, Code: code, Msg: msg}
}

// openAIType maps a status to the OpenAI error "type".
func openAIType(e *HTTPError) string {
	switch {
	case e.Code == CodeInsufficientQuota:
		return "insufficient_quota"
	case e.Status == 401:
		return "authentication_error"
	case e.Status == 403:
		return "permission_error"
	case e.Status == 429:
		return "rate_limit_error"
	case e.Status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// anthropicType maps an error to the Anthropic error "type" per the
// contract's table.
func anthropicType(e *HTTPError) string {
	switch e.Code {
	case CodeRequestTooLarge:
		return "request_too_large"
	case CodeOverloaded:
		return "overloaded_error"
	case CodeUpstreamTimeout:
		return "timeout_error"
	}
	switch e.Status {
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 429:
		return "rate_limit_error"
	}
	if e.Status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// appendErrorBody appends the error's JSON body in format f.
func appendErrorBody(dst []byte, f provider.Format, e *HTTPError) []byte {
	if f == provider.FormatAnthropic {
		dst = append(dst, `{"type":"error","error":{"type":"`...)
		dst = append(dst, anthropicType(e)...)
		dst = append(dst, `","message":`...)
		dst = provider.AppendJSONString(dst, e.Msg)
		return append(dst, `}}`...)
	}
	dst = append(dst, `{"error":{"message":`...)
	dst = provider.AppendJSONString(dst, e.Msg)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, openAIType(e)...)
	dst = append(dst, `","param":`...)
	if e.Param != "" {
		dst = provider.AppendJSONString(dst, e.Param)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"code":"`...)
	dst = append(dst, e.Code...)
	return append(dst, `"}}`...)
}

// writeError answers the request with e in format f. Headers already set
// (x-request-id) stay.
func writeError(ctx *fasthttp.RequestCtx, f provider.Format, e *HTTPError) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	if e.Status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	ctx.Response.SetBodyRaw(appendErrorBody(make([]byte, 0, 160), f, e))
}

// appendStreamError appends the event that ends a stream which failed after
// it started, in the stream's own format. seq is the sequence_number of a
// Responses error event (which the API's event schema requires): one past
// the last event of the stream.
func appendStreamError(dst []byte, op provider.Operation, f provider.Format, e *HTTPError, seq int64) []byte {
	switch {
	case f == provider.FormatAnthropic:
		dst = append(dst, "event: error\ndata: "...)
		dst = appendErrorBody(dst, f, e)
	case op == provider.OpResponses:
		dst = append(dst, "event: error\ndata: {\"type\":\"error\",\"code\":\""...)
		dst = append(dst, e.Code...)
		dst = append(dst, `","message":`...)
		dst = provider.AppendJSONString(dst, e.Msg)
		dst = append(dst, `,"param":null,"sequence_number":`...)
		dst = strconv.AppendInt(dst, seq, 10)
		dst = append(dst, '}')
	default:
		dst = append(dst, "data: "...)
		dst = appendErrorBody(dst, f, e)
	}
	return append(dst, "\n\n"...)
}

// upstreamHTTPError maps a failed upstream exchange to the contract's 502 or
// 504.
func upstreamHTTPError(provName string, ue *provider.UpstreamError) *HTTPError {
	switch ue.Kind {
	case provider.KindNoConns:
		return &HTTPError{Status: 503, Code: CodeOverloaded, Err: ue,
			Msg: "Sluice has reached its connection limit to provider " + provName + " (max_conns); retry after a short backoff"}
	case provider.KindTimeout:
		return &HTTPError{Status: 504, Code: CodeUpstreamTimeout, Err: ue,
			Msg: "provider " + provName + " did not answer in time; retry later or raise its timeouts.first_byte"}
	case provider.KindConnect:
		return &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: ue,
			Msg: "cannot connect to provider " + provName + "; check that it is up and that its base_url is right"}
	case provider.KindMalformed:
		return &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: ue,
			Msg: "provider " + provName + " sent a malformed reply; retry later"}
	}
	return &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: ue,
		Msg: "the connection to provider " + provName + " failed before a reply; retry later"}
}

// midStreamError maps a failure to read a stream that had started (its
// status and first events already sent) to the error of its error event:
// the reply is incomplete, so the message never says "before a reply".
func midStreamError(provName string, ue *provider.UpstreamError) *HTTPError {
	switch ue.Kind {
	case provider.KindTimeout:
		return &HTTPError{Status: 504, Code: CodeUpstreamTimeout, Err: ue,
			Msg: "provider " + provName + " went silent mid-stream (timeouts.idle); the stream was cut here and the reply is incomplete"}
	case provider.KindMalformed:
		return &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: ue,
			Msg: "provider " + provName + " sent a malformed stream; the stream was cut here and the reply is incomplete: retry the request"}
	}
	return &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: ue,
		Msg: "the connection to provider " + provName + " broke mid-stream; the reply is incomplete: retry the request"}
}

func itoa(n int) string { return strconv.Itoa(n) }

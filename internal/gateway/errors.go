package gateway

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Error codes Sluice produces (the OpenAI "code" field), per the contract.
// They are declared in package wire, where each format maps them to its
// own error types.
const (
	CodeInvalidRequest      = wire.CodeInvalidRequest
	CodeGuardrailViolation  = wire.CodeGuardrailViolation
	CodeInvalidAPIKey       = wire.CodeInvalidAPIKey
	CodeModelNotAllowed     = wire.CodeModelNotAllowed
	CodeModelNotFound       = wire.CodeModelNotFound
	CodeRequestTooLarge     = wire.CodeRequestTooLarge
	CodeRateLimitExceeded   = wire.CodeRateLimitExceeded
	CodeInsufficientQuota   = wire.CodeInsufficientQuota
	CodeUpstreamUnreachable = wire.CodeUpstreamUnreachable
	CodeOverloaded          = wire.CodeOverloaded
	CodeUpstreamTimeout     = wire.CodeUpstreamTimeout
	CodeInternal            = wire.CodeInternal
	CodeNotFound            = wire.CodeNotFound
	CodeMethodNotAllowed    = wire.CodeMethodNotAllowed
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

// wireError is the error as the formats render it.
func (e *HTTPError) wireError() wire.Error {
	return wire.Error{Status: e.Status, Code: e.Code, Msg: e.Msg, Param: e.Param}
}

// appendErrorBody appends the error's JSON body in format f.
func appendErrorBody(dst []byte, f provider.Format, e *HTTPError) []byte {
	return f.Hooks().AppendError(dst, e.wireError())
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
	return f.Hooks().AppendStreamError(dst, op, e.wireError(), seq)
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

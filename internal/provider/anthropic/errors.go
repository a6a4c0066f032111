package anthropic

import "github.com/sluice-gw/sluice/internal/provider/wire"

// errorType maps an error to the Anthropic error "type" per the contract's
// table.
func errorType(e *wire.Error) string {
	switch e.Code {
	case wire.CodeRequestTooLarge:
		return "request_too_large"
	case wire.CodeOverloaded:
		return "overloaded_error"
	case wire.CodeUpstreamTimeout:
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

// appendError appends {"type":"error","error":{"type","message"}}.
func appendError(dst []byte, e wire.Error) []byte {
	dst = append(dst, `{"type":"error","error":{"type":"`...)
	dst = append(dst, errorType(&e)...)
	dst = append(dst, `","message":`...)
	dst = wire.AppendJSONString(dst, e.Msg)
	return append(dst, `}}`...)
}

// appendStreamError appends an error event carrying the error body.
func appendStreamError(dst []byte, _ wire.Operation, e wire.Error, _ int64) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = appendError(dst, e)
	return append(dst, "\n\n"...)
}

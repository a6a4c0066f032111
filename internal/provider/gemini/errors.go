package gemini

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Gemini's errors are Google's: {"error":{"code":HTTP status,"message",
// "status":gRPC code name,"details":[...]}}. A stream without ?alt=sse
// wraps the object in an array; decodeError takes both.

// decodeError reads an upstream's error reply with status.
func decodeError(status int, body []byte) canon.Error {
	e := canon.Error{Status: status, Type: canon.ErrorTypeOf(status)}
	s := wire.StringView(body)
	obj := gjson.Result{}
	if gjson.Valid(s) {
		root := gjson.Parse(s)
		if root.IsArray() {
			root = root.Get("0")
		}
		obj = root.Get("error")
	}
	if !obj.IsObject() {
		e.Message = "the upstream answered " + strconv.Itoa(status) + " with a body that is not a Gemini error"
		return e
	}
	readError(&e, obj)
	return e
}

// readError reads an error object into e: its message, its status name as
// Code and, where the name is more precise than the HTTP status, the type.
func readError(e *canon.Error, obj gjson.Result) {
	e.Message = own(obj.Get("message"))
	if e.Status == 0 {
		if n, ok := intValue(obj.Get("code")); ok && n >= 400 && n < 600 {
			e.Status = int(n)
		}
	}
	e.Code = own(obj.Get("status"))
	switch e.Code {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		e.Type = canon.ErrInvalidRequest
	case "UNAUTHENTICATED":
		e.Type = canon.ErrAuthentication
	case "PERMISSION_DENIED":
		e.Type = canon.ErrPermission
	case "NOT_FOUND":
		e.Type = canon.ErrNotFound
	case "RESOURCE_EXHAUSTED":
		e.Type = canon.ErrRateLimit
	case "UNAVAILABLE":
		e.Type = canon.ErrOverloaded
	case "DEADLINE_EXCEEDED":
		e.Type = canon.ErrTimeout
	case "INTERNAL", "UNKNOWN", "DATA_LOSS":
		e.Type = canon.ErrAPI
	default:
		if e.Status != 0 {
			e.Type = canon.ErrorTypeOf(e.Status)
		}
	}
	if e.Status == 0 {
		e.Status = statusOfType(e.Type)
	}
}

// statusOfType is the HTTP status an error type implies, for an error
// inside a stream that named none.
func statusOfType(t canon.ErrorType) int {
	switch t {
	case canon.ErrInvalidRequest:
		return 400
	case canon.ErrAuthentication:
		return 401
	case canon.ErrPermission:
		return 403
	case canon.ErrNotFound:
		return 404
	case canon.ErrTooLarge:
		return 413
	case canon.ErrRateLimit:
		return 429
	case canon.ErrOverloaded:
		return 503
	case canon.ErrTimeout:
		return 504
	}
	return 500
}

// statusName is the gRPC status name Google writes for an error Sluice
// answers itself.
func statusName(e *wire.Error) string {
	switch e.Code {
	case wire.CodeInsufficientQuota, wire.CodeRateLimitExceeded:
		return "RESOURCE_EXHAUSTED"
	case wire.CodeOverloaded, wire.CodeUpstreamUnreachable:
		return "UNAVAILABLE"
	case wire.CodeUpstreamTimeout:
		return "DEADLINE_EXCEEDED"
	case wire.CodeMethodNotAllowed:
		return "UNIMPLEMENTED"
	}
	switch s := e.Status; {
	case s == 401:
		return "UNAUTHENTICATED"
	case s == 403:
		return "PERMISSION_DENIED"
	case s == 404:
		return "NOT_FOUND"
	case s == 409:
		return "ABORTED"
	case s == 429:
		return "RESOURCE_EXHAUSTED"
	case s == 499:
		return "CANCELLED"
	case s == 501:
		return "UNIMPLEMENTED"
	case s == 502, s == 503, s == 529:
		return "UNAVAILABLE"
	case s == 504:
		return "DEADLINE_EXCEEDED"
	case s >= 500:
		return "INTERNAL"
	}
	return "INVALID_ARGUMENT"
}

// appendError is the AppendError hook: Google's error object.
func appendError(dst []byte, e wire.Error) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, `,"message":`...)
	dst = wire.AppendJSONString(dst, e.Msg)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, statusName(&e)...)
	return append(dst, `"}}`...)
}

// appendStreamError is the AppendStreamError hook: a data event carrying
// the error object, which Google's SDKs raise as the API error.
func appendStreamError(dst []byte, _ wire.Operation, e wire.Error, _ int64) []byte {
	dst = append(dst, "data: "...)
	dst = appendError(dst, e)
	return append(dst, "\n\n"...)
}

// appendCanonError appends a canonical error as Google's error object:
// the upstream's own status name when it was Google's.
func appendCanonError(dst []byte, e *canon.Error) []byte {
	status := e.Status
	if status == 0 {
		status = statusOfType(e.Type)
	}
	dst = append(dst, `{"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, `,"message":`...)
	dst = wire.AppendJSONString(dst, e.Message)
	dst = append(dst, `,"status":"`...)
	if isStatusName(e.Code) {
		dst = append(dst, e.Code...)
	} else {
		dst = append(dst, typeStatusName(e.Type)...)
	}
	return append(dst, `"}}`...)
}

// typeStatusName is the status name of a canonical error type.
func typeStatusName(t canon.ErrorType) string {
	switch t {
	case canon.ErrInvalidRequest, canon.ErrTooLarge:
		return "INVALID_ARGUMENT"
	case canon.ErrAuthentication:
		return "UNAUTHENTICATED"
	case canon.ErrPermission:
		return "PERMISSION_DENIED"
	case canon.ErrNotFound:
		return "NOT_FOUND"
	case canon.ErrRateLimit:
		return "RESOURCE_EXHAUSTED"
	case canon.ErrOverloaded:
		return "UNAVAILABLE"
	case canon.ErrTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

// isStatusName reports whether s is one of Google's status names.
func isStatusName(s string) bool {
	switch s {
	case "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED":
		return true
	}
	return false
}

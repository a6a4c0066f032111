package openai

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// errorType maps an error to the OpenAI error "type".
func errorType(e *wire.Error) string {
	switch {
	case e.Code == wire.CodeInsufficientQuota:
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

// appendError appends {"error":{"message","type","param","code"}}.
func appendError(dst []byte, e wire.Error) []byte {
	dst = append(dst, `{"error":{"message":`...)
	dst = wire.AppendJSONString(dst, e.Msg)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, errorType(&e)...)
	dst = append(dst, `","param":`...)
	if e.Param != "" {
		dst = wire.AppendJSONString(dst, e.Param)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"code":"`...)
	dst = append(dst, e.Code...)
	return append(dst, `"}}`...)
}

// appendStreamError appends the event that ends a failed stream: the error
// body as a data event, or for the Responses API an error event whose
// schema requires a sequence_number, one past the stream's last (seq).
func appendStreamError(dst []byte, op wire.Operation, e wire.Error, seq int64) []byte {
	if op == wire.OpResponses {
		dst = append(dst, "event: error\ndata: {\"type\":\"error\",\"code\":\""...)
		dst = append(dst, e.Code...)
		dst = append(dst, `","message":`...)
		dst = wire.AppendJSONString(dst, e.Msg)
		dst = append(dst, `,"param":null,"sequence_number":`...)
		dst = strconv.AppendInt(dst, seq, 10)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "data: "...)
		dst = appendError(dst, e)
	}
	return append(dst, "\n\n"...)
}

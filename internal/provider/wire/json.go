package wire

import "unsafe"

// StringView returns b as a string without copying. The string must not
// outlive b or be used after b is modified. The formats read replies and
// events with gjson through it: gjson.Get on a view copies nothing, where
// GetBytes copies what it returns.
func StringView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// AppendJSONString appends s as a JSON string literal (control characters
// as \u00XX). Error bodies, the gateway's own replies and the guardrails'
// rewrites use it.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

package gemini

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Gemini's JSON is proto3 JSON: every field may be spelled in lowerCamelCase
// (what the SDKs send) or as its proto name in snake_case (what Google's
// own curl examples send: "system_instruction", "generation_config"). The
// decoders read objects member by member and compare names through
// fieldName, which folds the snake_case spelling into the camelCase one.

// fieldName returns the camelCase spelling of a member name k: k itself
// when it holds no '_' (no copy), else its folding ("inline_data" →
// "inlineData"), which allocates; a name longer than 64 bytes comes back as
// it is, and matches no field.
func fieldName(k string) string {
	if strings.IndexByte(k, '_') < 0 || len(k) > 64 {
		return k
	}
	var buf [64]byte
	n, up := 0, false
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c == '_' {
			up = n > 0
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		buf[n] = c
		n++
	}
	return string(buf[:n])
}

// own returns r's string value as a string the caller may keep: gjson's
// Str is a view into the body (which Sluice reuses) when the literal holds
// no escape, and a fresh string when it does.
func own(r gjson.Result) string {
	if r.Type != gjson.String {
		return ""
	}
	if len(r.Raw) == len(r.Str)+2 {
		return strings.Clone(r.Str)
	}
	return r.Str
}

// ownRaw returns a copy of r's raw JSON text.
func ownRaw(r gjson.Result) string { return strings.Clone(r.Raw) }

// trimModels strips Gemini's "models/" resource prefix from a model name.
func trimModels(s string) string { return strings.TrimPrefix(s, "models/") }

// loc is the place of a field in a body, as the client spelled it: a
// decoder passes its own down and writes it out only when an error names
// it (most requests have none), so that reading allocates no path.
type loc struct {
	up  *loc
	key string // a member's name; "" for an array element
	idx int    // an element's index
}

// member returns the place of member k of the object at l.
func (l *loc) member(k string) loc { return loc{up: l, key: k} }

// elem returns the place of element i of the array at l.
func (l *loc) elem(i int) loc { return loc{up: l, idx: i} }

// at returns the path of member k of the object at l.
func (l *loc) at(k string) string {
	m := l.member(k)
	return m.String()
}

// String returns the path: members joined with dots, elements as [i]
// ("contents[2].parts[0].inlineData"). It walks up without recursion and
// copies the names' bytes, so that the escape analysis keeps every loc on
// its caller's stack (appendSchema's, recursive, are the exception). Paths
// deeper than 128 lose their start; schemas nest 64 deep at most.
func (l *loc) String() string {
	var stack [128]*loc
	n := 0
	for p := l; p != nil && n < len(stack); p = p.up {
		stack[n] = p
		n++
	}
	var b []byte
	for i := n - 1; i >= 0; i-- {
		p := stack[i]
		if p.key == "" {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(p.idx), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, p.key...)
	}
	return string(b)
}

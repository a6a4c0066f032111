package mock

import (
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Depths of the arguments a tool call builds from its schema. Down to argsDeep levels
// every declared property and one element of every array are filled in; below that
// objects keep only their required properties and arrays their minimum length, so that
// recursive schemas end; at argsMaxDepth an object or array is left empty.
const (
	argsDeep     = 5
	argsMaxDepth = 10
)

// argGen builds a JSON value that satisfies a JSON schema: the arguments of a forced
// tool call. It understands what tool schemas use in practice: type (a list of types
// takes its first one that is not "null"; Gemini's upper-case names too), properties,
// required, enum, const, local $ref ("#/$defs/X"), anyOf, oneOf and allOf (the first
// alternative), string minLength, maxLength and common formats, number bounds and
// multipleOf, array items, prefixItems, minItems and maxItems. It does not satisfy
// pattern, uniqueItems over equal elements, or not.
type argGen struct {
	root gjson.Result // the tool's whole schema, which $ref points into
	r    rng          // draws the strings
}

// appendValue appends a value of schema at nesting depth.
func (g *argGen) appendValue(b []byte, schema gjson.Result, depth int) []byte {
	schema = g.resolve(schema)
	if c := schema.Get("const"); c.Exists() {
		return append(b, c.Raw...)
	}
	if enum := schema.Get("enum"); enum.IsArray() {
		if first := enum.Get("0"); first.Exists() {
			return append(b, first.Raw...)
		}
	}
	typ := schemaType(schema)
	if typ == "" && depth < argsMaxDepth {
		if alt, ok := firstAlternative(schema); ok {
			return g.appendValue(b, alt, depth+1) // +1: a cycle through alternatives ends too
		}
	}
	switch typ {
	case "string":
		return g.appendString(b, schema)
	case "integer":
		return appendNumber(b, schema, true)
	case "number":
		return appendNumber(b, schema, false)
	case "boolean":
		return append(b, "true"...)
	case "null":
		return append(b, "null"...)
	case "array":
		return g.appendArray(b, schema, depth)
	}
	return g.appendObject(b, schema, depth) // an object, or a schema without a type
}

// resolve follows local $refs (JSON pointers into the tool's schema), at most eight in
// a row. A reference it cannot follow stands for any value.
func (g *argGen) resolve(schema gjson.Result) gjson.Result {
	for range 8 {
		ref := schema.Get(`\$ref`)
		if ref.Type != gjson.String {
			return schema
		}
		ptr, ok := strings.CutPrefix(ref.Str, "#")
		if !ok {
			return gjson.Result{}
		}
		v := g.root
		if ptr != "" {
			for seg := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
				seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
				v = v.Get(gjson.Escape(seg))
			}
		}
		schema = v
	}
	return schema
}

// schemaType returns the schema's type in lower case; for a list of types, the first
// that is not "null". It is "" when the schema names none.
func schemaType(schema gjson.Result) string {
	typ := schema.Get("type")
	if typ.IsArray() {
		var first string
		typ.ForEach(func(_, t gjson.Result) bool {
			if first == "" || first == "null" {
				first = strings.ToLower(t.Str)
			}
			return first == "null"
		})
		return first
	}
	if t := strings.ToLower(typ.Str); t != "type_unspecified" {
		return t
	}
	return ""
}

// firstAlternative returns the first alternative of anyOf or oneOf that is not the
// null type, or the first schema of allOf.
func firstAlternative(schema gjson.Result) (gjson.Result, bool) {
	for _, key := range [...]string{"anyOf", "oneOf", "allOf"} {
		alts := schema.Get(key)
		if !alts.IsArray() {
			continue
		}
		var picked gjson.Result
		alts.ForEach(func(_, alt gjson.Result) bool {
			if !picked.Exists() || schemaType(picked) == "null" {
				picked = alt
			}
			return schemaType(picked) == "null"
		})
		if picked.Exists() {
			return picked, true
		}
	}
	return gjson.Result{}, false
}

// stringFormats are example values of the string formats tools ask for.
var stringFormats = [...]struct{ format, example string }{
	{"date-time", "2025-01-02T03:04:05Z"},
	{"date", "2025-01-02"},
	{"time", "03:04:05Z"},
	{"email", "mock@example.com"},
	{"uri", "https://example.com/mock"},
	{"url", "https://example.com/mock"},
	{"uuid", "00000000-0000-4000-8000-000000000000"},
	{"hostname", "example.com"},
	{"ipv4", "192.0.2.1"},
	{"ipv6", "2001:db8::1"},
}

// maxArgString bounds the length minLength can ask of a generated string.
const maxArgString = 64 << 10

// appendString appends a word of the vocabulary (or an example of the schema's
// format), repeated up to minLength and cut at maxLength. Both words and examples are
// ASCII, so bytes count as characters.
func (g *argGen) appendString(b []byte, schema gjson.Result) []byte {
	w := vocab[g.r.next()%uint64(len(vocab))][1:]
	if f := schema.Get("format").Str; f != "" {
		for _, sf := range stringFormats {
			if sf.format == f {
				w = sf.example
			}
		}
	}
	b = append(b, '"')
	start := len(b)
	b = append(b, w...)
	minLen := min(int(schema.Get("minLength").Int()), maxArgString)
	for len(b)-start < minLen {
		b = append(b, w...)
	}
	if maxLen := schema.Get("maxLength"); maxLen.Type == gjson.Number && len(b)-start > int(maxLen.Int()) {
		b = b[:start+max(0, int(maxLen.Int()))]
	}
	return append(b, '"')
}

// appendNumber appends 42 when the schema allows it, else the first of a few values
// around its bounds that it allows.
func appendNumber(b []byte, schema gjson.Result, integer bool) []byte {
	lo, hi := math.Inf(-1), math.Inf(1)
	var loOpen, hiOpen bool
	if v := schema.Get("minimum"); v.Type == gjson.Number {
		lo = v.Num
	}
	if v := schema.Get("maximum"); v.Type == gjson.Number {
		hi = v.Num
	}
	switch v := schema.Get("exclusiveMinimum"); v.Type {
	case gjson.Number: // draft 6 and later
		if v.Num >= lo {
			lo, loOpen = v.Num, true
		}
	case gjson.True: // draft 4: minimum is exclusive
		loOpen = true
	}
	switch v := schema.Get("exclusiveMaximum"); v.Type {
	case gjson.Number:
		if v.Num <= hi {
			hi, hiOpen = v.Num, true
		}
	case gjson.True:
		hiOpen = true
	}
	step := schema.Get("multipleOf").Num
	fits := func(v float64) bool {
		switch {
		case v < lo || loOpen && v == lo, v > hi || hiOpen && v == hi:
			return false
		case integer && v != math.Trunc(v):
			return false
		case step > 0:
			q := v / step
			return math.Abs(q-math.Round(q)) < 1e-9
		}
		return true
	}
	candidates := [...]float64{
		42,
		math.Ceil(lo), math.Ceil(lo) + 1, lo + 0.5,
		math.Floor(hi), math.Floor(hi) - 1, hi - 0.5,
		(lo + hi) / 2,
		math.Ceil(lo/step) * step, (math.Floor(lo/step) + 1) * step,
		math.Floor(hi/step) * step, (math.Ceil(hi/step) - 1) * step,
		step, 0,
	}
	v := 42.0
	for _, c := range candidates {
		if !math.IsInf(c, 0) && !math.IsNaN(c) && fits(c) {
			v = c
			break
		}
	}
	if integer || v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// maxArgItems bounds the length minItems can ask of a generated array.
const maxArgItems = 64

// appendArray appends prefixItems (or a draft-4 list of items) in order, then elements
// of items up to minItems, one at least when items is given and the array is not deep.
func (g *argGen) appendArray(b []byte, schema gjson.Result, depth int) []byte {
	b = append(b, '[')
	if depth >= argsMaxDepth {
		return append(b, ']')
	}
	n := 0
	items := schema.Get("items")
	prefix := schema.Get("prefixItems")
	if items.IsArray() {
		prefix, items = items, gjson.Result{}
	}
	prefix.ForEach(func(_, item gjson.Result) bool {
		if n > 0 {
			b = append(b, ',')
		}
		b = g.appendValue(b, item, depth+1)
		n++
		return true
	})
	want := min(int(schema.Get("minItems").Int()), maxArgItems)
	if items.Exists() && depth < argsDeep {
		want = max(want, 1)
	}
	if maxItems := schema.Get("maxItems"); maxItems.Type == gjson.Number {
		want = min(want, int(maxItems.Int()))
	}
	for ; n < want; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		b = g.appendValue(b, items, depth+1)
	}
	return append(b, ']')
}

// appendObject appends every declared property (only the required ones when deep),
// then any required name the properties do not declare, valued by
// additionalProperties when that is a schema, else null.
func (g *argGen) appendObject(b []byte, schema gjson.Result, depth int) []byte {
	b = append(b, '{')
	if depth >= argsMaxDepth {
		return append(b, '}')
	}
	props := schema.Get("properties")
	if !props.IsObject() {
		props = gjson.Result{}
	}
	required := schema.Get("required")
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	props.ForEach(func(k, v gjson.Result) bool {
		if depth >= argsDeep && !listHas(required, k.Str) {
			return true
		}
		sep()
		b = append(b, k.Raw...)
		b = append(b, ':')
		b = g.appendValue(b, v, depth+1)
		return true
	})
	required.ForEach(func(_, name gjson.Result) bool {
		if name.Type != gjson.String || props.Get(gjson.Escape(name.Str)).Exists() {
			return true
		}
		sep()
		b = appendQuoted(b, stringBytes(name.Str))
		b = append(b, ':')
		if extra := schema.Get("additionalProperties"); extra.IsObject() {
			b = g.appendValue(b, extra, depth+1)
		} else {
			b = append(b, "null"...)
		}
		return true
	})
	return append(b, '}')
}

// listHas reports whether the JSON array list holds the string s.
func listHas(list gjson.Result, s string) bool {
	found := false
	list.ForEach(func(_, v gjson.Result) bool {
		found = v.Type == gjson.String && v.Str == s
		return !found
	})
	return found
}

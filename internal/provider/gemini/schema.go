package gemini

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// maxSchemaDepth bounds the nesting of a schema the decoder converts.
const maxSchemaDepth = 64

// appendSchema appends Gemini's Schema object v (an OpenAPI 3.0 subset:
// FunctionDeclaration.parameters, GenerationConfig.responseSchema) as JSON
// Schema: type names in lower case, nullable as a "null" type, 64-bit
// integers written as strings by proto JSON (minItems, maxLength, ...) as
// numbers, and the keys JSON Schema does not know (propertyOrdering,
// example) dropped. Other keys are copied as they are.
func appendSchema(dst []byte, l *loc, v gjson.Result, depth int) ([]byte, error) {
	if !v.IsObject() {
		return dst, canon.Fieldf(l.String(), "must be a Schema object")
	}
	if depth > maxSchemaDepth {
		return dst, canon.Fieldf(l.String(), "is nested too deeply")
	}
	nullable := false
	var typ string
	v.ForEach(func(k, f gjson.Result) bool {
		switch fieldName(k.Str) {
		case "nullable":
			nullable = f.Type == gjson.True
		case "type":
			typ = strings.ToLower(f.Str)
		}
		return true
	})
	dst = append(dst, '{')
	first := true
	key := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = wire.AppendJSONString(dst, name)
		dst = append(dst, ':')
	}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		fl := l.member(k.Str)
		switch name := fieldName(k.Str); name {
		case "nullable", "propertyOrdering", "example":
		case "type":
			if typ == "type_unspecified" || typ == "" {
				return true
			}
			key("type")
			if nullable {
				dst = append(dst, '[')
				dst = wire.AppendJSONString(dst, typ)
				dst = append(dst, `,"null"]`...)
			} else {
				dst = wire.AppendJSONString(dst, typ)
			}
		case "properties":
			if !f.IsObject() {
				err = canon.Fieldf(fl.String(), "must be an object of schemas")
				return false
			}
			key("properties")
			dst = append(dst, '{')
			n := 0
			f.ForEach(func(pk, pv gjson.Result) bool {
				if n > 0 {
					dst = append(dst, ',')
				}
				n++
				dst = wire.AppendJSONString(dst, pk.Str)
				dst = append(dst, ':')
				pl := fl.member(pk.Str)
				dst, err = appendSchema(dst, &pl, pv, depth+1)
				return err == nil
			})
			dst = append(dst, '}')
		case "items", "not", "additionalProperties":
			if f.Type == gjson.True || f.Type == gjson.False {
				key(name)
				dst = append(dst, f.Raw...)
				return true
			}
			key(name)
			dst, err = appendSchema(dst, &fl, f, depth+1)
		case "anyOf", "oneOf", "allOf":
			if !f.IsArray() {
				err = canon.Fieldf(fl.String(), "must be an array of schemas")
				return false
			}
			key(name)
			dst = append(dst, '[')
			n := 0
			f.ForEach(func(_, e gjson.Result) bool {
				if n > 0 {
					dst = append(dst, ',')
				}
				el := fl.elem(n)
				dst, err = appendSchema(dst, &el, e, depth+1)
				n++
				return err == nil
			})
			dst = append(dst, ']')
		case "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties":
			n, ok := intValue(f)
			if !ok {
				err = canon.Fieldf(fl.String(), "must be an integer")
				return false
			}
			key(name)
			dst = strconv.AppendInt(dst, n, 10)
		default:
			key(name)
			dst = append(dst, f.Raw...)
		}
		return err == nil
	})
	return append(dst, '}'), err
}

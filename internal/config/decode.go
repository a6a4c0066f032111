package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// pos is a 1-based line and column in the configuration file.
type pos struct{ line, col int }

// maxErrors bounds how many problems one load lists; past it, the rest of
// the file is still checked but further problems are only counted.
const maxErrors = 100

// maxMergeDepth bounds how deep "<<" merge keys may nest.
const maxMergeDepth = 16

// decoder turns a YAML AST into a typed value, driven by `yaml:"..."` struct
// tags, collecting every problem instead of stopping at the first. While it
// decodes it records, by path, where each value came from, so that
// validation can report positions too.
// See docs/decisions/0009-config-decoder.md.
type decoder struct {
	file    string
	lookup  func(string) (string, bool)
	errs    Errors
	dropped int // problems beyond maxErrors

	pos     map[string]pos    // path → position of its value (its key's, for null)
	set     map[string]bool   // paths whose scalar gave a non-empty value
	bad     map[string]bool   // paths with a decoding problem
	emptied map[string]string // path → scalar text that expanded to ""
	aliases map[*ast.AliasNode]ast.Node
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{
		file:    file,
		lookup:  lookup,
		pos:     map[string]pos{},
		set:     map[string]bool{},
		bad:     map[string]bool{},
		emptied: map[string]string{},
		aliases: map[*ast.AliasNode]ast.Node{},
	}
}

// errAt records a problem at p. It does not stop validation of path: use
// fail for values that could not be decoded.
func (d *decoder) errAt(p pos, path, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, Error{File: d.file, Line: p.line, Col: p.col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// fail records that the value at path could not be decoded: validation
// skips path and everything under it, since the field holds no real value.
func (d *decoder) fail(p pos, path, format string, args ...any) {
	d.bad[path] = true
	d.errAt(p, path, format, args...)
}

func tokenPos(n ast.Node) pos {
	if n == nil {
		return pos{}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// nodePos is where an operator would look for n: the first key of a block
// mapping (its own token is the first ":"), the token of anything else.
func nodePos(n ast.Node) pos {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0].Key != nil {
		return tokenPos(m.Values[0].Key)
	}
	if mv, ok := n.(*ast.MappingValueNode); ok && mv.Key != nil {
		return tokenPos(mv.Key)
	}
	return tokenPos(n)
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// collectAnchors walks the document in order and resolves every alias to
// the anchor defined before it. An anchor is registered after its own value
// is walked, so an alias inside its own anchor stays unresolved (no cycles).
func (d *decoder) collectAnchors(n ast.Node, anchors map[string]ast.Node) {
	switch t := n.(type) {
	case *ast.AnchorNode:
		d.collectAnchors(t.Value, anchors)
		if t.Name != nil {
			anchors[t.Name.GetToken().Value] = t.Value
		}
	case *ast.AliasNode:
		if t.Value != nil {
			if target, ok := anchors[t.Value.GetToken().Value]; ok {
				d.aliases[t] = target
			}
		}
	case *ast.MappingNode:
		for _, mv := range t.Values {
			d.collectAnchors(mv, anchors)
		}
	case *ast.MappingValueNode:
		d.collectAnchors(t.Key, anchors)
		d.collectAnchors(t.Value, anchors)
	case *ast.MappingKeyNode:
		d.collectAnchors(t.Value, anchors)
	case *ast.SequenceNode:
		for _, v := range t.Values {
			d.collectAnchors(v, anchors)
		}
	case *ast.TagNode:
		d.collectAnchors(t.Value, anchors)
	}
}

// resolve looks through tags, anchors and aliases to the node that holds
// the value. It reports unknown aliases and non-core tags and returns nil
// for them. A nil result with ok true is a YAML null.
func (d *decoder) resolve(n ast.Node, path string) (ast.Node, bool) {
	for range 64 {
		switch t := n.(type) {
		case nil:
			return nil, true
		case *ast.TagNode:
			tag := ""
			if t.Start != nil {
				tag = t.Start.Value
			}
			if !strings.HasPrefix(tag, "!!") {
				d.fail(tokenPos(t), path, "unsupported tag %q", tag)
				return nil, false
			}
			n = t.Value
		case *ast.AnchorNode:
			n = t.Value
		case *ast.AliasNode:
			target, ok := d.aliases[t]
			if !ok {
				name := ""
				if t.Value != nil {
					name = t.Value.GetToken().Value
				}
				d.fail(tokenPos(t), path, "unknown anchor %q (an alias must follow its anchor)", name)
				return nil, false
			}
			n = target
		case *ast.NullNode:
			return nil, true
		default:
			return n, true
		}
	}
	d.fail(tokenPos(n), path, "anchors and aliases nested too deeply")
	return nil, false
}

// scalarText returns the text of a scalar node as written (unquoted), and
// false for a mapping or a list.
func scalarText(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		if t.Value == nil {
			return "", true
		}
		return t.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return t.GetToken().Value, true
	}
	return "", false
}

// describe names the kind of a node for "expected X, got Y" messages. It
// never quotes the value: the value could be a secret in the wrong place.
func describe(n ast.Node) string {
	switch n.(type) {
	case nil:
		return "null"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	}
	return strings.ToLower(n.Type().String())
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// isScalarType reports whether values of t are written as YAML scalars.
func isScalarType(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	case reflect.Pointer:
		return isScalarType(t.Elem())
	}
	return false
}

// expected names what a value of type t looks like in YAML.
func expected(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.Pointer:
		return expected(t.Elem())
	}
	return "a single value"
}

// valueKind describes the scalar values of type t, for messages that may
// not quote the value itself.
func valueKind(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration with a unit, such as "30s"`
	case reflect.TypeFor[ByteSize]():
		return `a size, such as "32MiB" or a number of bytes`
	case reflect.TypeFor[IPRange]():
		return `an IP address or a CIDR range, such as "10.0.0.0/8"`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer in range"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "valid here"
}

// decode stores the value of node n in v. keyPos is where n's key is, used
// as n's position when n is null. It reports whether v was given a value:
// false for null, for a scalar that is empty after ${VAR} expansion (the
// "not configured" case) and for a problem.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string, keyPos pos) bool {
	p := nodePos(n)
	if _, isNull := n.(*ast.NullNode); isNull || n == nil || p == (pos{}) {
		p = keyPos
	}
	d.pos[path] = p
	rn, ok := d.resolve(n, path)
	if !ok || rn == nil {
		return false
	}
	t := v.Type()
	if v.CanAddr() && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		// A struct that also decodes from text (config.APIKey) takes
		// either form: a mapping goes field by field.
		if _, isMap := mappingValues(rn); !isMap || t.Kind() != reflect.Struct {
			return d.decodeScalar(rn, v, path, p)
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		tmp := reflect.New(t.Elem())
		if !d.decode(n, tmp.Elem(), path, keyPos) {
			return false
		}
		v.Set(tmp)
		return true
	case reflect.Struct:
		return d.decodeStruct(rn, v, path, p)
	case reflect.Slice:
		return d.decodeSlice(rn, v, path, p)
	case reflect.Map:
		return d.decodeMap(rn, v, path, p)
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.decodeScalar(rn, v, path, p)
	}
	d.fail(p, path, "internal error: config field of type %s cannot be decoded", t)
	return false
}

// decodeScalar expands ${VAR} references in a scalar and converts it to v's
// type.
func (d *decoder) decodeScalar(n ast.Node, v reflect.Value, path string, p pos) bool {
	raw, ok := scalarText(n)
	if !ok {
		d.fail(p, path, "expected %s, got %s", expected(v.Type()), describe(n))
		return false
	}
	text, err := expand(raw, d.lookup)
	if err != nil {
		d.fail(p, path, "%v", err)
		return false
	}
	if text == "" {
		if raw != "" {
			d.emptied[path] = raw
		}
		return false
	}
	if err := setScalar(v, text); err != nil {
		if text != raw {
			// The value came from the environment, where secrets live:
			// name the reference, never quote what it expanded to.
			d.fail(p, path, "%q expands to a value that is not %s", raw, valueKind(v.Type()))
			return false
		}
		d.fail(p, path, "%s", err)
		return false
	}
	d.set[path] = true
	return true
}

// setScalar converts text to v's type and stores it.
func setScalar(v reflect.Value, text string) error {
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			return u.UnmarshalText([]byte(text))
		}
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		switch strings.ToLower(text) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return fmt.Errorf("expected true or false, got %q", text)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(text), 10, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("integer %q is out of range", text)
		}
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", text)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(strings.TrimSpace(text), 10, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("integer %q is out of range", text)
		}
		if err != nil {
			return fmt.Errorf("expected a non-negative integer, got %q", text)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), v.Type().Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("expected a number, got %q", text)
		}
		v.SetFloat(f)
	}
	return nil
}

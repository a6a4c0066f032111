package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// entry is one key of a mapping, after merge keys are applied.
type entry struct {
	key    string
	keyPos pos
	value  ast.Node
}

// mappingValues returns the key/value pairs of a mapping node, or false if
// n is not a mapping.
func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch t := n.(type) {
	case *ast.MappingNode:
		return t.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{t}, true
	}
	return nil, false
}

// entries lists the keys of mapping n in file order. Duplicate keys are
// reported. Keys pulled in with "<<: *anchor" (or a list of anchors) come
// after the mapping's own keys and only where the mapping has no such key;
// among merged mappings the first one wins, as YAML's merge key says.
func (d *decoder) entries(n ast.Node, path string, depth int) []entry {
	values, _ := mappingValues(n)
	var own, merged []entry
	seen := map[string]pos{}
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		kp := tokenPos(mv.Key)
		if mv.Key.IsMergeKey() {
			merged = append(merged, d.mergeEntries(mv.Value, path, kp, depth)...)
			continue
		}
		keyNode := ast.Node(mv.Key)
		if mk, ok := keyNode.(*ast.MappingKeyNode); ok {
			keyNode = mk.Value
		}
		key, ok := scalarText(keyNode)
		if !ok {
			d.errAt(kp, path, "mapping keys must be plain strings, got %s", describe(keyNode))
			continue
		}
		if first, dup := seen[key]; dup {
			d.errAt(kp, joinKey(path, key), "duplicate key %q (first at %d:%d)", key, first.line, first.col)
			continue
		}
		seen[key] = kp
		own = append(own, entry{key: key, keyPos: kp, value: mv.Value})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = e.keyPos
			own = append(own, e)
		}
	}
	return own
}

// mergeEntries returns the entries a "<<" key pulls in: one mapping or a
// list of mappings, usually aliases.
func (d *decoder) mergeEntries(v ast.Node, path string, kp pos, depth int) []entry {
	if depth >= maxMergeDepth {
		d.errAt(kp, path, "merge keys (<<) nested too deeply")
		return nil
	}
	rv, ok := d.resolve(v, path)
	if !ok {
		return nil
	}
	if _, isMap := mappingValues(rv); isMap {
		return d.entries(rv, path, depth+1)
	}
	seq, isSeq := rv.(*ast.SequenceNode)
	if !isSeq {
		d.errAt(kp, path, "merge key (<<) needs a mapping or a list of mappings, got %s", describe(rv))
		return nil
	}
	var out []entry
	for _, el := range seq.Values {
		rel, ok := d.resolve(el, path)
		if !ok {
			continue
		}
		if _, isMap := mappingValues(rel); !isMap {
			d.errAt(nodePos(el), path, "merge key (<<) needs a mapping or a list of mappings, got a list of %s", describe(rel))
			continue
		}
		out = append(out, d.entries(rel, path, depth+1)...)
	}
	return out
}

// structFields maps YAML names to field indexes: the name from the yaml tag,
// else the lower-cased field name; "-" skips a field; an embedded struct
// without a name (or with ",inline") contributes its own fields.
func structFields(t reflect.Type, into map[string][]int, prefix []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), prefix...), i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && (name == "" || strings.Contains(opts, "inline")) {
			structFields(f.Type, into, idx)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		into[name] = idx
	}
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string, p pos) bool {
	if _, ok := mappingValues(n); !ok {
		d.fail(p, path, "expected a mapping, got %s", describe(n))
		return false
	}
	fields := map[string][]int{}
	structFields(v.Type(), fields, nil)
	for _, e := range d.entries(n, path, 0) {
		idx, ok := fields[e.key]
		if !ok {
			d.errAt(e.keyPos, path, "unknown field %q", e.key)
			continue
		}
		d.decode(e.value, v.FieldByIndex(idx), joinKey(path, e.key), e.keyPos)
	}
	return true
}

// decodeSlice decodes a list. Scalar entries that are empty after ${VAR}
// expansion are dropped, so that `api_keys: ["${KEY}"]` with KEY unset is
// no keys; the positions of the kept entries are re-recorded under their
// new indexes so that later checks point at the right line.
func (d *decoder) decodeSlice(n ast.Node, v reflect.Value, path string, p pos) bool {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(p, path, "expected a list, got %s", describe(n))
		return false
	}
	et := v.Type().Elem()
	scalar := isScalarType(et)
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	for i, el := range seq.Values {
		ep := fmt.Sprintf("%s[%d]", path, i)
		// An entry's own position, or its "-" when it is empty.
		elPos := nodePos(el)
		implicit := false
		if nn, isNull := el.(*ast.NullNode); isNull && nn.Token != nil && nn.Token.Type == token.ImplicitNullType {
			implicit = true
		}
		if (implicit || elPos == (pos{})) && i < len(seq.Entries) && seq.Entries[i] != nil {
			elPos = tokenPos(seq.Entries[i])
		}
		ev := reflect.New(et).Elem()
		if !scalar {
			// Keep a zero entry in place of a broken one so that the
			// indexes of the entries after it stay those of the file;
			// fail marks it, and validation skips it.
			if rel, ok := d.resolve(el, ep); ok && rel == nil {
				d.pos[ep] = elPos
				d.fail(elPos, ep, "expected %s, got an empty list entry", expected(et))
			} else {
				d.decode(el, ev, ep, elPos)
			}
			out = reflect.Append(out, ev)
			continue
		}
		if !d.decode(el, ev, ep, elPos) {
			continue
		}
		if k := out.Len(); k != i {
			d.pos[fmt.Sprintf("%s[%d]", path, k)] = d.pos[ep]
		}
		out = reflect.Append(out, ev)
	}
	v.Set(out)
	return true
}

// decodeMap decodes a mapping with string keys; values that are empty after
// ${VAR} expansion are dropped, like list entries.
func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string, p pos) bool {
	if _, ok := mappingValues(n); !ok {
		d.fail(p, path, "expected a mapping, got %s", describe(n))
		return false
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(p, path, "internal error: config map key type %s is not a string", t.Key())
		return false
	}
	m := reflect.MakeMap(t)
	for _, e := range d.entries(n, path, 0) {
		ev := reflect.New(t.Elem()).Elem()
		if !d.decode(e.value, ev, joinKey(path, e.key), e.keyPos) && isScalarType(t.Elem()) {
			continue
		}
		m.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), ev)
	}
	v.Set(m)
	return true
}

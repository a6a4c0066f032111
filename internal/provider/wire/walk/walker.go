package walk

// Field is one JSON string value whose text is scanned: the span of the
// literal, quotes included.
type Field struct {
	Span
	Esc bool // the literal holds escapes
}

// Walker collects the text fields of a body in document order. The
// formats' text hooks walk a body with it (Members, Elements, Str, ...);
// the guardrails scan its Fields.
type Walker struct {
	B      []byte  // the body walked
	Fields []Field // the text fields found, ordered and disjoint
	Msgs   int     // messages, for max_messages
	Reg    Closed  // of B, shared by the walk's iterators
	kbuf   [64]byte
}

// Reset starts a walk of b, keeping the Fields' array.
func (w *Walker) Reset(b []byte) { *w = Walker{B: b, Fields: w.Fields[:0]} }

// Name returns the text key k decodes to, for a switch on the short
// escape-free names a walk looks for: its raw bytes when it holds no
// escape (no copy), else its decoding into a buffer of w, valid until the
// next call; nil when it is too long to decode to such a name. It agrees
// with KeyIs: KeyIs(b, k, n) is string(w.Name(k)) == n for every such n.
// One decode per key, where a KeyIs per case scanned a longer key for
// escapes once per name it was compared with.
func (w *Walker) Name(k Span) []byte {
	raw := w.B[k.Start+1 : k.End-1]
	return KeyName(raw, HasBackslash(raw), &w.kbuf)
}

// Str adds v when it is a string.
func (w *Walker) Str(v Span) {
	if !IsString(w.B, v) {
		return
	}
	e, esc := StrEnd(w.B, v.Start)
	if e != v.End {
		return
	}
	w.Add(Field{Span: v, Esc: esc})
}

// Add appends f unless it starts before the end of the last field. On
// valid JSON fields never overlap; on malformed input the lenient walk can
// meet a string twice (an iterator and ValueEnd reading a stray '"'
// differently), and the fields stay ordered and disjoint: no text is
// scanned twice, and the text never exceeds the body (the prefilter's
// scan-limit bound relies on it).
func (w *Walker) Add(f Field) {
	if n := len(w.Fields); n > 0 && f.Start < w.Fields[n-1].End {
		return
	}
	w.Fields = append(w.Fields, f)
}

// StrOrStrings adds v when it is a string, or its string elements when it
// is an array (other elements, such as token ids, are not text).
func (w *Walker) StrOrStrings(v Span) {
	if IsString(w.B, v) {
		w.Str(v)
		return
	}
	it, ok := Open(w.B, v, &w.Reg)
	if !ok || it.Obj() {
		return
	}
	for {
		_, e, ok := it.Next()
		if !ok {
			return
		}
		w.Str(e)
	}
}

// Members calls fn for each member of object v.
func (w *Walker) Members(v Span, fn func(k, val Span)) {
	it, ok := Open(w.B, v, &w.Reg)
	if !ok || !it.Obj() {
		return
	}
	for {
		k, val, ok := it.Next()
		if !ok {
			return
		}
		fn(k, val)
	}
}

// Elements calls fn for each element of array v.
func (w *Walker) Elements(v Span, fn func(e Span)) {
	it, ok := Open(w.B, v, &w.Reg)
	if !ok || it.Obj() {
		return
	}
	for {
		_, e, ok := it.Next()
		if !ok {
			return
		}
		fn(e)
	}
}

// AllStrings adds every string value inside v (object keys excluded), at
// any depth, without recursion.
func (w *Walker) AllStrings(v Span) {
	b := w.B
	if v = EndOf(b, v); v.End < 0 {
		v.End = len(b) // cut short: every string to the end
	}
	for i := v.Start; i < v.End; i++ {
		if b[i] != '"' {
			continue
		}
		e, esc := StrEnd(b, i)
		if e < 0 || e > v.End {
			return
		}
		if j := SkipWS(b, e); j < v.End && b[j] == ':' {
			i = e - 1 // a key
			continue
		}
		w.Add(Field{Span: Span{i, e}, Esc: esc})
		i = e - 1
	}
}

// TextParts adds v when it is a string, or the "text" of each part when it
// is an array of content parts or blocks.
func (w *Walker) TextParts(v Span) {
	if IsString(w.B, v) {
		w.Str(v)
		return
	}
	w.Elements(v, func(p Span) {
		w.Members(p, func(k, val Span) {
			if KeyIs(w.B, k, "text") {
				w.Str(val)
			}
		})
	})
}

// Tool collects a tool definition's description: at its top level
// (Responses, Anthropic, chat's legacy functions) or in its "function" or
// "custom" object (chat). Names and parameter schemas are not scanned.
func (w *Walker) Tool(t Span) {
	b := w.B
	w.Members(t, func(k, v Span) {
		switch string(w.Name(k)) {
		case "description":
			w.Str(v)
		case "function", "custom":
			w.Members(v, func(k, v Span) {
				if KeyIs(b, k, "description") {
					w.Str(v)
				}
			})
		}
	})
}

// Block collects a content block or part: its "text", every string value
// inside "input" (an Anthropic tool_use block), "content" (a string or
// blocks' "text": a tool_result) and a document's source when it is text.
// Anthropic's messages are made of such blocks, and the Responses API's
// content parts are read the same way.
func (w *Walker) Block(blk Span) {
	w.Members(blk, func(k, v Span) {
		switch string(w.Name(k)) {
		case "text":
			w.Str(v)
		case "input":
			w.AllStrings(v)
		case "content":
			w.TextParts(v)
		case "source":
			w.documentSource(v)
		}
	})
}

// documentSource collects a document block's source when it is text:
// {"type":"text","data":...} or {"type":"content","content":[blocks]}.
// Base64 and URL sources are not text.
func (w *Walker) documentSource(src Span) {
	b := w.B
	typ, ok := Get(b, src, "type")
	if !ok {
		return
	}
	w.Members(src, func(k, v Span) {
		switch {
		case KeyIs(b, k, "data") && ValueIs(b, typ, "text"):
			w.Str(v)
		case KeyIs(b, k, "content") && ValueIs(b, typ, "content"):
			w.TextParts(v)
		}
	})
}

// ValueIs reports whether value v is the JSON string want.
func ValueIs(b []byte, v Span, want string) bool {
	return IsString(b, v) && KeyIs(b, v, want)
}

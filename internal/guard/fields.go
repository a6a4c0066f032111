package guard

import "github.com/sluice-gw/sluice/internal/provider"

// field is one JSON string value whose text is scanned: the span of the
// literal, quotes included.
type field struct {
	span
	esc bool // the literal holds escapes
}

// walker collects the text fields of a body in document order.
type walker struct {
	b      []byte
	fields []field
	msgs   int      // messages, for max_messages
	reg    closed   // of b
	kbuf   [64]byte // name's buffer
}

// name returns the text key k decodes to, for a switch on the short
// escape-free names the walker looks for: its raw bytes when it holds no
// escape (no copy), else its decoding into w.kbuf, valid until the next
// call; nil when it is too long to decode to such a name. It agrees with
// keyIs: keyIs(b, k, n) is string(w.name(k)) == n for every such n. One
// decode per key, where a keyIs per case scanned a longer key for escapes
// once per name it was compared with.
func (w *walker) name(k span) []byte {
	raw := w.b[k.start+1 : k.end-1]
	return keyName(raw, hasBackslash(raw), &w.kbuf)
}

// str adds v when it is a string.
func (w *walker) str(v span) {
	if !isString(w.b, v) {
		return
	}
	e, esc := strEnd(w.b, v.start)
	if e != v.end {
		return
	}
	w.add(field{span: v, esc: esc})
}

// add appends f unless it starts before the end of the last field. On
// valid JSON fields never overlap; on malformed input the lenient walk can
// meet a string twice (an iterator and valueEnd reading a stray '"'
// differently), and the fields stay ordered and disjoint: no text is
// scanned twice, and the text never exceeds the body (the prefilter's
// scan-limit bound relies on it).
func (w *walker) add(f field) {
	if n := len(w.fields); n > 0 && f.start < w.fields[n-1].end {
		return
	}
	w.fields = append(w.fields, f)
}

// strOrStrings adds v when it is a string, or its string elements when it
// is an array (other elements, such as token ids, are not text).
func (w *walker) strOrStrings(v span) {
	if isString(w.b, v) {
		w.str(v)
		return
	}
	it, ok := open(w.b, v, &w.reg)
	if !ok || it.obj {
		return
	}
	for {
		_, e, ok := it.next()
		if !ok {
			return
		}
		w.str(e)
	}
}

// member calls fn for each member of object v.
func (w *walker) members(v span, fn func(k, val span)) {
	it, ok := open(w.b, v, &w.reg)
	if !ok || !it.obj {
		return
	}
	for {
		k, val, ok := it.next()
		if !ok {
			return
		}
		fn(k, val)
	}
}

// elements calls fn for each element of array v.
func (w *walker) elements(v span, fn func(e span)) {
	it, ok := open(w.b, v, &w.reg)
	if !ok || it.obj {
		return
	}
	for {
		_, e, ok := it.next()
		if !ok {
			return
		}
		fn(e)
	}
}

// allStrings adds every string value inside v (object keys excluded), at
// any depth, without recursion.
func (w *walker) allStrings(v span) {
	b := w.b
	if v = endOf(b, v); v.end < 0 {
		v.end = len(b) // cut short: every string to the end
	}
	for i := v.start; i < v.end; i++ {
		if b[i] != '"' {
			continue
		}
		e, esc := strEnd(b, i)
		if e < 0 || e > v.end {
			return
		}
		if j := skipWS(b, e); j < v.end && b[j] == ':' {
			i = e - 1 // a key
			continue
		}
		w.add(field{span: span{i, e}, esc: esc})
		i = e - 1
	}
}

// textParts adds v when it is a string, or the "text" of each part when it
// is an array of content parts or blocks.
func (w *walker) textParts(v span) {
	if isString(w.b, v) {
		w.str(v)
		return
	}
	w.elements(v, func(p span) {
		w.members(p, func(k, val span) {
			if keyIs(w.b, k, "text") {
				w.str(val)
			}
		})
	})
}

// input collects what the model reads from a request body.
func (w *walker) input(op provider.Operation, root span) {
	b := w.b
	switch op {
	case provider.OpChat:
		w.members(root, func(k, v span) {
			switch string(w.name(k)) {
			case "messages":
				w.elements(v, w.chatInput)
			case "tools", "functions":
				w.elements(v, w.tool)
			}
		})
	case provider.OpCompletions:
		w.members(root, func(k, v span) {
			if keyIs(b, k, "prompt") || keyIs(b, k, "suffix") {
				w.strOrStrings(v)
			}
		})
	case provider.OpEmbeddings:
		w.members(root, func(k, v span) {
			if keyIs(b, k, "input") {
				w.strOrStrings(v)
			}
		})
	case provider.OpResponses:
		w.members(root, func(k, v span) {
			switch string(w.name(k)) {
			case "instructions":
				w.str(v)
			case "input":
				if isString(b, v) {
					w.msgs++
					w.str(v)
					return
				}
				w.elements(v, func(item span) {
					w.msgs++
					w.str(item)
					w.responsesItem(item)
				})
			case "tools":
				w.elements(v, w.tool)
			}
		})
	case provider.OpMessages, provider.OpCountTokens:
		w.members(root, func(k, v span) {
			switch string(w.name(k)) {
			case "system":
				w.textParts(v)
			case "messages":
				w.elements(v, func(m span) {
					w.msgs++
					w.members(m, func(k, v span) {
						if keyIs(b, k, "content") {
							w.anthropicContent(v)
						}
					})
				})
			case "tools":
				w.elements(v, w.tool)
			}
		})
	}
}

// tool collects a tool definition's description: at its top level
// (Responses, Anthropic, chat's legacy functions) or in its "function" or
// "custom" object (chat). Names and parameter schemas are not scanned.
func (w *walker) tool(t span) {
	b := w.b
	w.members(t, func(k, v span) {
		switch string(w.name(k)) {
		case "description":
			w.str(v)
		case "function", "custom":
			w.members(v, func(k, v span) {
				if keyIs(b, k, "description") {
					w.str(v)
				}
			})
		}
	})
}

// chatInput collects a chat message of a request: chatMessage's fields and
// the author's name.
func (w *walker) chatInput(m span) { w.chatFields(m, true) }

// chatMessage collects an OpenAI chat message of a reply: content (string
// or parts), refusal, tool_calls[].function.arguments and
// function_call.arguments.
func (w *walker) chatMessage(m span) { w.chatFields(m, false) }

func (w *walker) chatFields(m span, in bool) {
	b := w.b
	w.msgs++
	w.members(m, func(k, v span) {
		switch string(w.name(k)) {
		case "name":
			if in {
				w.str(v)
			}
		case "content":
			w.textParts(v)
		case "refusal":
			w.str(v)
		case "tool_calls":
			w.elements(v, func(tc span) {
				w.members(tc, func(k, v span) {
					if keyIs(b, k, "function") {
						w.arguments(v)
					}
				})
			})
		case "function_call":
			w.arguments(v)
		}
	})
}

// arguments adds the "arguments" string of a function object.
func (w *walker) arguments(fn span) {
	w.members(fn, func(k, v span) {
		if keyIs(w.b, k, "arguments") {
			w.str(v)
		}
	})
}

// responsesItem collects a Responses API item, input or output: content
// (string or parts' text), output (function_call_output: string or parts)
// and arguments (function_call).
func (w *walker) responsesItem(item span) {
	w.members(item, func(k, v span) {
		switch string(w.name(k)) {
		case "content", "output":
			w.textParts(v)
		case "arguments":
			w.str(v)
		}
	})
}

// anthropicContent collects an Anthropic message's content: a string, or
// blocks: text, tool_use input (every string in it), tool_result content.
func (w *walker) anthropicContent(v span) {
	if isString(w.b, v) {
		w.str(v)
		return
	}
	w.elements(v, w.anthropicBlock)
}

func (w *walker) anthropicBlock(blk span) {
	w.members(blk, func(k, v span) {
		switch string(w.name(k)) {
		case "text":
			w.str(v)
		case "input":
			w.allStrings(v)
		case "content":
			w.textParts(v)
		case "source":
			w.documentSource(v)
		}
	})
}

// documentSource collects a document block's source when it is text:
// {"type":"text","data":...} or {"type":"content","content":[blocks]}.
// Base64 and URL sources are not text.
func (w *walker) documentSource(src span) {
	b := w.b
	typ, ok := get(b, src, "type")
	if !ok {
		return
	}
	w.members(src, func(k, v span) {
		switch {
		case keyIs(b, k, "data") && valueIs(b, typ, "text"):
			w.str(v)
		case keyIs(b, k, "content") && valueIs(b, typ, "content"):
			w.textParts(v)
		}
	})
}

// choiceMembers calls fn with the value of member key of every element of
// the reply's choices.
func (w *walker) choiceMembers(root span, key string, fn func(span)) {
	b := w.b
	w.members(root, func(k, v span) {
		if !keyIs(b, k, "choices") {
			return
		}
		w.elements(v, func(c span) {
			w.members(c, func(k, v span) {
				if keyIs(b, k, key) {
					fn(v)
				}
			})
		})
	})
}

// output collects the model's text from a buffered reply.
func (w *walker) output(op provider.Operation, root span) {
	b := w.b
	switch op {
	case provider.OpChat:
		w.choiceMembers(root, "message", w.chatMessage)
	case provider.OpCompletions:
		w.choiceMembers(root, "text", w.str)
	case provider.OpResponses:
		w.members(root, func(k, v span) {
			if keyIs(b, k, "output") {
				w.elements(v, w.responsesItem)
			}
		})
	case provider.OpMessages:
		w.members(root, func(k, v span) {
			if keyIs(b, k, "content") {
				w.anthropicContent(v)
			}
		})
	}
}

package gemini

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// The text the guardrails scan (package guard's documentation lists it for
// every format). Member names are matched in both of proto JSON's
// spellings (systemInstruction, system_instruction).

// The text channels of a stream (walk.ChanKey): A is the candidate's
// index, B is bText for its text parts or bThought for its thought parts.
const (
	bText    int32 = -1
	bThought int32 = -2
)

// inputText is the InputText hook. generateContent: systemInstruction's
// parts, every content's parts (text, thoughts, every string in a
// functionCall's args and a functionResponse's response) and the function
// declarations' descriptions. countTokens: its contents, or those of its
// generateContentRequest. Embeddings: the text of each content.
func inputText(w *walk.Walker, op wire.Operation, root walk.Span) {
	switch op {
	case wire.OpEmbedContent:
		w.Members(root, func(k, v walk.Span) {
			switch string(w.Name(k)) {
			case "content":
				embedContent(w, v)
			case "requests":
				w.Elements(v, func(q walk.Span) {
					w.Members(q, func(k, v walk.Span) {
						if walk.KeyIs(w.B, k, "content") {
							embedContent(w, v)
						}
					})
				})
			}
		})
	case wire.OpCountTokens:
		w.Members(root, func(k, v walk.Span) {
			switch string(w.Name(k)) {
			case "contents":
				w.Elements(v, func(c walk.Span) { content(w, c) })
			case "generateContentRequest", "generate_content_request":
				generateInput(w, v)
			}
		})
	default:
		generateInput(w, root)
	}
}

// generateInput collects a GenerateContentRequest's text.
func generateInput(w *walk.Walker, root walk.Span) {
	w.Members(root, func(k, v walk.Span) {
		switch string(w.Name(k)) {
		case "systemInstruction", "system_instruction":
			w.Members(v, func(k, v walk.Span) {
				if walk.KeyIs(w.B, k, "parts") {
					w.Elements(v, func(p walk.Span) { part(w, p) })
				}
			})
		case "contents":
			w.Elements(v, func(c walk.Span) { content(w, c) })
		case "tools":
			w.Elements(v, func(t walk.Span) {
				w.Members(t, func(k, v walk.Span) {
					switch string(w.Name(k)) {
					case "functionDeclarations", "function_declarations":
						w.Elements(v, w.Tool)
					}
				})
			})
		}
	})
}

// embedContent collects the text of a content to embed.
func embedContent(w *walk.Walker, c walk.Span) {
	w.Msgs++
	w.Members(c, func(k, v walk.Span) {
		if walk.KeyIs(w.B, k, "parts") {
			w.TextParts(v)
		}
	})
}

// content collects one Content: a message.
func content(w *walk.Walker, c walk.Span) {
	w.Msgs++
	w.Members(c, func(k, v walk.Span) {
		if walk.KeyIs(w.B, k, "parts") {
			w.Elements(v, func(p walk.Span) { part(w, p) })
		}
	})
}

// part collects a Part: its text (thoughts included), every string of a
// functionCall's args and of a functionResponse's response.
func part(w *walk.Walker, p walk.Span) {
	w.Members(p, func(k, v walk.Span) {
		switch string(w.Name(k)) {
		case "text":
			w.Str(v)
		case "functionCall", "function_call":
			w.Members(v, func(k, v walk.Span) {
				if walk.KeyIs(w.B, k, "args") {
					w.AllStrings(v)
				}
			})
		case "functionResponse", "function_response":
			w.Members(v, func(k, v walk.Span) {
				if walk.KeyIs(w.B, k, "response") {
					w.AllStrings(v)
				}
			})
		}
	})
}

// outputText is the OutputText hook: the parts of every candidate.
func outputText(w *walk.Walker, op wire.Operation, root walk.Span) {
	if op == wire.OpEmbedContent || op == wire.OpCountTokens {
		return
	}
	w.Members(root, func(k, v walk.Span) {
		if !walk.KeyIs(w.B, k, "candidates") {
			return
		}
		w.Elements(v, func(c walk.Span) {
			w.Members(c, func(k, v walk.Span) {
				if walk.KeyIs(w.B, k, "content") {
					content(w, v)
				}
			})
		})
	})
}

// streamText is the StreamText hook: it reads one chunk. Text and thought
// parts continue their candidate's channels; a finishReason ends the
// candidate's channels. A chunk with a functionCall (which Gemini sends
// whole) has its texts redacted as a buffered reply's would be (st.Full),
// after the candidate's held text is flushed. A chunk that holds nothing
// but text parts (and the usage, model and id every chunk repeats) is
// pure.
func streamText(st *walk.StreamText, op wire.Operation, _, d []byte) (pure bool, err error) {
	if op == wire.OpEmbedContent || op == wire.OpCountTokens {
		return false, nil
	}
	root, err := walk.RootObject(d)
	if err != nil {
		return false, walk.Unreadable(d, err)
	}
	if !walk.ValidEvent(d) {
		return false, walk.ErrInvalidJSON
	}
	pure = true
	it, _ := walk.Open(d, root, &st.Reg)
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		switch string(it.KeyText(k, &st.KBuf)) {
		case "candidates":
			candidates(st, d, v, &pure)
		case "modelVersion", "responseId":
			if !st.HaveHead {
				st.Head = append(st.Head, ',')
				st.Head = append(st.Head, d[k.Start:k.End]...)
				st.Head = append(st.Head, ':')
				st.Head = append(st.Head, d[v.Start:walk.EndOf(d, v).End]...)
			}
		case "usageMetadata", "createTime":
		default:
			pure = false
		}
	}
	st.HaveHead = true
	if st.Full {
		st.Slots = st.Slots[:0]
		pure = false
	}
	return pure, nil
}

// candidates reads a chunk's candidates.
func candidates(st *walk.StreamText, d []byte, arr walk.Span, pure *bool) {
	it, ok := walk.Open(d, arr, &st.Reg)
	if !ok || it.Obj() {
		return
	}
	for pos := 0; ; pos++ {
		_, c, ok := it.Next()
		if !ok {
			return
		}
		idx, first := pos, len(st.Slots)
		var parts walk.Span
		haveParts, finish := false, false
		ci, ok := walk.Open(d, c, &st.Reg)
		if !ok || !ci.Obj() {
			continue
		}
		for {
			k, v, ok := ci.Next()
			if !ok {
				break
			}
			switch string(ci.KeyText(k, &st.KBuf)) {
			case "index":
				if n, ok := walk.IntValue(d, v); ok {
					idx = n
				}
			case "content":
				parts, haveParts = walk.Get(d, v, "parts")
			case "finishReason":
				finish = !walk.IsNull(d, v)
				*pure = false
			default:
				*pure = false
			}
		}
		if haveParts {
			chunkParts(st, d, parts, int32(idx), pure)
		}
		for j := first; j < len(st.Slots); j++ {
			st.Slots[j].Key.A = int32(idx)
		}
		if finish {
			st.EndAs = append(st.EndAs, int32(idx))
		}
	}
}

// chunkParts reads the parts of a chunk's candidate idx.
func chunkParts(st *walk.StreamText, d []byte, arr walk.Span, idx int32, pure *bool) {
	it, ok := walk.Open(d, arr, &st.Reg)
	if !ok || it.Obj() {
		return
	}
	for {
		_, p, ok := it.Next()
		if !ok {
			return
		}
		var text, call walk.Span
		thought, haveText, haveCall := false, false, false
		pi, ok := walk.Open(d, p, &st.Reg)
		if !ok || !pi.Obj() {
			continue
		}
		for {
			k, v, ok := pi.Next()
			if !ok {
				break
			}
			switch string(pi.KeyText(k, &st.KBuf)) {
			case "text":
				text, haveText = v, true
			case "thought":
				thought = walk.At(d, v.Start, "true")
			case "functionCall":
				call, haveCall = v, true
			default:
				*pure = false // thoughtSignature, inlineData, ...
			}
		}
		if haveCall {
			if !st.Full {
				st.Full = true
				st.W.Reset(d)
				st.EndAs = append(st.EndAs, idx)
				for _, sl := range st.Slots { // text parts before it
					st.W.Add(walk.Field{Span: sl.V, Esc: sl.Esc})
				}
			}
			st.W.Members(call, func(k, v walk.Span) {
				if walk.KeyIs(d, k, "args") {
					st.W.AllStrings(v)
				}
			})
			continue
		}
		if !haveText {
			continue
		}
		if st.Full {
			st.W.Str(text)
			continue
		}
		b := bText
		if thought {
			b = bThought
		}
		st.AddSlot(d, walk.ChanKey{A: idx, B: b}, text)
	}
}

// synthText is the SynthText hook: a chunk carrying text in one part of
// the channel's candidate, with the stream's modelVersion and responseId.
func synthText(dst []byte, st *walk.StreamText, _ wire.Operation, key walk.ChanKey, _ *walk.Template, text []byte) []byte {
	d := st.Data[:0]
	d = append(d, `{"candidates":[{"content":{"parts":[{"text":`...)
	d = wire.AppendJSONString(d, wire.StringView(text))
	if key.B == bThought {
		d = append(d, `,"thought":true`...)
	}
	d = append(d, `}],"role":"model"},"index":`...)
	d = strconv.AppendInt(d, int64(key.A), 10)
	d = append(d, `}]`...)
	d = append(d, st.Head...)
	d = append(d, '}')
	st.Data = d
	return sse.AppendData(dst, d)
}

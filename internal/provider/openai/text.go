package openai

import (
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// The text the guardrails scan, per operation (package guard's
// documentation lists it for every format).

// inputText is the InputText hook: what the model reads in a request.
func inputText(w *walk.Walker, op wire.Operation, root walk.Span) {
	b := w.B
	switch op {
	case wire.OpChat:
		w.Members(root, func(k, v walk.Span) {
			switch string(w.Name(k)) {
			case "messages":
				w.Elements(v, func(m walk.Span) { chatInput(w, m) })
			case "tools", "functions":
				w.Elements(v, w.Tool)
			}
		})
	case wire.OpCompletions:
		w.Members(root, func(k, v walk.Span) {
			if walk.KeyIs(b, k, "prompt") || walk.KeyIs(b, k, "suffix") {
				w.StrOrStrings(v)
			}
		})
	case wire.OpEmbeddings:
		w.Members(root, func(k, v walk.Span) {
			if walk.KeyIs(b, k, "input") {
				w.StrOrStrings(v)
			}
		})
	case wire.OpResponses:
		w.Members(root, func(k, v walk.Span) {
			switch string(w.Name(k)) {
			case "instructions":
				w.Str(v)
			case "input":
				if walk.IsString(b, v) {
					w.Msgs++
					w.Str(v)
					return
				}
				w.Elements(v, func(item walk.Span) {
					w.Msgs++
					w.Str(item)
					responsesItem(w, item)
				})
			case "tools":
				w.Elements(v, w.Tool)
			}
		})
	}
}

// outputText is the OutputText hook: the model's text in a complete reply.
func outputText(w *walk.Walker, op wire.Operation, root walk.Span) {
	b := w.B
	switch op {
	case wire.OpChat:
		choiceMembers(w, root, "message", func(m walk.Span) { chatMessage(w, m) })
	case wire.OpCompletions:
		choiceMembers(w, root, "text", w.Str)
	case wire.OpResponses:
		w.Members(root, func(k, v walk.Span) {
			if walk.KeyIs(b, k, "output") {
				w.Elements(v, func(item walk.Span) { responsesItem(w, item) })
			}
		})
	}
}

// chatInput collects a chat message of a request: chatMessage's fields and
// the author's name.
func chatInput(w *walk.Walker, m walk.Span) { chatFields(w, m, true) }

// chatMessage collects a chat message of a reply: content (string or
// parts), refusal, tool_calls[].function.arguments and
// function_call.arguments.
func chatMessage(w *walk.Walker, m walk.Span) { chatFields(w, m, false) }

func chatFields(w *walk.Walker, m walk.Span, in bool) {
	b := w.B
	w.Msgs++
	w.Members(m, func(k, v walk.Span) {
		switch string(w.Name(k)) {
		case "name":
			if in {
				w.Str(v)
			}
		case "content":
			w.TextParts(v)
		case "refusal":
			w.Str(v)
		case "tool_calls":
			w.Elements(v, func(tc walk.Span) {
				w.Members(tc, func(k, v walk.Span) {
					if walk.KeyIs(b, k, "function") {
						arguments(w, v)
					}
				})
			})
		case "function_call":
			arguments(w, v)
		}
	})
}

// arguments adds the "arguments" string of a function object.
func arguments(w *walk.Walker, fn walk.Span) {
	w.Members(fn, func(k, v walk.Span) {
		if walk.KeyIs(w.B, k, "arguments") {
			w.Str(v)
		}
	})
}

// responsesItem collects a Responses API item, input or output: content
// (string or parts' text), output (function_call_output: string or parts)
// and arguments (function_call).
func responsesItem(w *walk.Walker, item walk.Span) {
	w.Members(item, func(k, v walk.Span) {
		switch string(w.Name(k)) {
		case "content", "output":
			w.TextParts(v)
		case "arguments":
			w.Str(v)
		}
	})
}

// choiceMembers calls fn with the value of member key of every element of
// the reply's choices.
func choiceMembers(w *walk.Walker, root walk.Span, key string, fn func(walk.Span)) {
	b := w.B
	w.Members(root, func(k, v walk.Span) {
		if !walk.KeyIs(b, k, "choices") {
			return
		}
		w.Elements(v, func(c walk.Span) {
			w.Members(c, func(k, v walk.Span) {
				if walk.KeyIs(b, k, key) {
					fn(v)
				}
			})
		})
	})
}

package anthropic

import (
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// The text the guardrails scan (package guard's documentation lists it for
// every format).

// inputText is the InputText hook: what the model reads in a messages or
// count_tokens request: system (a string or blocks' text), the messages'
// content, and the tools' descriptions.
func inputText(w *walk.Walker, op wire.Operation, root walk.Span) {
	if op != wire.OpMessages && op != wire.OpCountTokens {
		return
	}
	b := w.B
	w.Members(root, func(k, v walk.Span) {
		switch string(w.Name(k)) {
		case "system":
			w.TextParts(v)
		case "messages":
			w.Elements(v, func(m walk.Span) {
				w.Msgs++
				w.Members(m, func(k, v walk.Span) {
					if walk.KeyIs(b, k, "content") {
						content(w, v)
					}
				})
			})
		case "tools":
			w.Elements(v, w.Tool)
		}
	})
}

// outputText is the OutputText hook: the content of a message.
func outputText(w *walk.Walker, op wire.Operation, root walk.Span) {
	if op != wire.OpMessages {
		return
	}
	b := w.B
	w.Members(root, func(k, v walk.Span) {
		if walk.KeyIs(b, k, "content") {
			content(w, v)
		}
	})
}

// content collects a message's content: a string, or blocks: text,
// tool_use input (every string in it), tool_result content.
func content(w *walk.Walker, v walk.Span) {
	if walk.IsString(w.B, v) {
		w.Str(v)
		return
	}
	w.Elements(v, w.Block)
}

package guard

import (
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// inputText collects the text a model reads in a request body to op: the
// format that serves op says where it is (wire.Hooks' InputText).
func inputText(w *walk.Walker, op provider.Operation, root walk.Span) {
	provider.OperationFormat(op).Hooks().InputText(w, op, root)
}

// outputText collects the model's text in a complete reply to op
// (wire.Hooks' OutputText).
func outputText(w *walk.Walker, op provider.Operation, root walk.Span) {
	provider.OperationFormat(op).Hooks().OutputText(w, op, root)
}

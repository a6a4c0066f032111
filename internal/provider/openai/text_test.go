package openai

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

func TestWalkerMalformed(t *testing.T) {
	// Lenient walking of broken bodies stops without panicking or looping,
	// and finds what it can.
	bodies := []string{
		`{"messages":[{"content":"a"},{"content":`,
		`{"messages":[{"content":"a"} {"content":"b"}]}`,
		`{"messages":[:,]}`,
		`{"messages":[{"content"}]}`,
		`{"messages":{"content":"x"}}`,
		`{"messages":[{"content":[{"text":1},{"text":"ok"}]}]}`,
		`{"messages":[{"content":"\"}]}`,
		`{"messages":[{]]}`,
	}
	for _, b := range bodies {
		w := walk.Walker{B: []byte(b)}
		inputText(&w, wire.OpChat, walk.Span{Start: 0, End: len(b)})
		for _, f := range w.Fields {
			if !walk.IsString(w.B, f.Span) {
				t.Errorf("%s: field %q is not a string", b, b[f.Start:f.End])
			}
		}
	}
}

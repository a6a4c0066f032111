package provider

import "github.com/sluice-gw/sluice/internal/provider/canon"

// Codec returns the canonical codec of a generating operation's bodies
// (chat, Responses, messages, generateContent, Converse): what translates
// them to and from package canon's form. Nil: the operation has none.
func Codec(op Operation) *canon.Codec { return codecs[op] }

// EmbedCodec returns the canonical codec of an embeddings operation's
// bodies. Nil: the operation has none.
func EmbedCodec(op Operation) *canon.EmbedCodec { return embedCodecs[op] }

// codecs and embedCodecs are indexed by Operation (a uint8), built once
// from each format package's codecs (codecs_table.go) and never changed.
var (
	codecs = func() (t [256]*canon.Codec) {
		for op, c := range codecTable() {
			t[op] = &c
		}
		return t
	}()
	embedCodecs = func() (t [256]*canon.EmbedCodec) {
		for op, c := range embedCodecTable() {
			t[op] = &c
		}
		return t
	}()
)

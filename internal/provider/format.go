package provider

import (
	"github.com/sluice-gw/sluice/internal/provider/anthropic"
	"github.com/sluice-gw/sluice/internal/provider/bedrock"
	"github.com/sluice-gw/sluice/internal/provider/gemini"
	"github.com/sluice-gw/sluice/internal/provider/openai"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Format is a wire format: the shape of request and response bodies. It is
// an index into the registry of formats below, so per-format state lives in
// arrays of NumFormats, indexed by Format.
type Format uint8

// Formats Sluice speaks. A format is one package under internal/provider/
// (package wire says what it provides) and one line here and in formats.
const (
	FormatOpenAI Format = iota + 1
	FormatAnthropic
	FormatGemini
	FormatBedrock
	formatEnd
)

// NumFormats is the length of an array indexed by Format (index 0, no
// format, included).
const NumFormats = int(formatEnd)

// DefaultFormat is the caller's format on a path no format claims (the
// rest of /v1/, the admin API, /metrics).
const DefaultFormat = FormatOpenAI

// formats holds each format's hooks, indexed by Format. Index 0 (no format
// known) holds the default format's, as errors before a route is known
// have always been written in it.
var formats = [NumFormats]wire.Hooks{
	0:               openai.Hooks(),
	FormatOpenAI:    openai.Hooks(),
	FormatAnthropic: anthropic.Hooks(),
	FormatGemini:    gemini.Hooks(),
	FormatBedrock:   bedrock.Hooks(),
}

// Hooks returns the format's hooks. They are shared: do not modify them.
func (f Format) Hooks() *wire.Hooks { return &formats[f] }

// String returns the format's name as used in config and messages.
func (f Format) String() string {
	if f == 0 || int(f) >= NumFormats {
		return "unknown"
	}
	return formats[f].Name
}

// ParseFormat maps a provider kind from config to its format.
func ParseFormat(kind string) (Format, bool) {
	for f := Format(1); f < formatEnd; f++ {
		if formats[f].Name == kind {
			return f, true
		}
	}
	return 0, false
}

// OperationFormat returns the format whose routes serve op (wire.Hooks'
// Routes): the one whose hooks read op's bodies and events. An operation
// no route serves (0) gets format 0, whose hooks are the default format's.
func OperationFormat(op Operation) Format { return opFormats[op] }

// opFormats is OperationFormat's table, by Operation (a uint8).
var opFormats = func() (m [256]Format) {
	for f := Format(1); f < formatEnd; f++ {
		for _, r := range formats[f].Routes {
			m[r.Op] = f
		}
	}
	// Gemini's routes name the model in their path, so they are not in
	// its Routes (the gateway routes them).
	m[OpGenerate], m[OpEmbedContent] = FormatGemini, FormatGemini
	return m
}()

// FormatOf returns the format that claims a client path (wire.Hooks'
// PathPrefix), DefaultFormat when none does: the caller's format for errors
// raised before a route is known, and for the passthrough.
func FormatOf(path []byte) Format {
	for f := Format(1); f < formatEnd; f++ {
		if p := formats[f].PathPrefix; p != "" && len(path) >= len(p) && string(path[:len(p)]) == p {
			return f
		}
	}
	return DefaultFormat
}

// The types the formats share are declared in package wire, which the
// format packages import (they cannot import provider, which imports
// them); provider re-exports the two the rest of Sluice names everywhere,
// as package os does io/fs's FileMode, beside the registry.
type (
	// Operation is what a model route does (wire.Operation).
	Operation = wire.Operation
	// Usage is the token usage of one exchange (wire.Usage).
	Usage = wire.Usage
)

// Operations on model routes (wire's).
const (
	OpChat         = wire.OpChat
	OpCompletions  = wire.OpCompletions
	OpEmbeddings   = wire.OpEmbeddings
	OpResponses    = wire.OpResponses
	OpMessages     = wire.OpMessages
	OpCountTokens  = wire.OpCountTokens
	OpGenerate     = wire.OpGenerate
	OpEmbedContent = wire.OpEmbedContent
	OpConverse     = wire.OpConverse
)

// AppendJSONString appends s as a JSON string literal
// (wire.AppendJSONString).
func AppendJSONString(dst []byte, s string) []byte { return wire.AppendJSONString(dst, s) }

// Package anthropic is the Anthropic wire format: the Messages API
// (/v1/messages, streamed or not) and its count_tokens. Hooks returns what
// package provider's registry holds; the rest of Sluice reaches the format
// only through those hooks.
//
// Replies and events it cannot read yield no usage and end no stream; for
// the guardrails, an event whose text it cannot read is an error
// (StreamText: walk.ErrNotObject, walk.ErrInvalidJSON), which ends the
// stream.
package anthropic

import (
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Hooks returns the Anthropic format's hooks.
func Hooks() wire.Hooks {
	return wire.Hooks{
		Name: "anthropic",
		Routes: []wire.Route{
			{Path: "/v1/messages", Op: wire.OpMessages},
			{Path: "/v1/messages/count_tokens", Op: wire.OpCountTokens},
		},
		PathPrefix:        "/v1/messages",
		Caller:            caller,
		UncheckedPaths:    []string{"/v1/messages/batches"},
		IDHeader:          strRequestID,
		KeyValue:          keyValue,
		Authorize:         authorize,
		DefaultVersion:    config.DefaultAnthropicVersion,
		Usage:             usage,
		StreamEvent:       streamEvent,
		AppendError:       appendError,
		AppendStreamError: appendStreamError,
		InputText:         inputText,
		OutputText:        outputText,
		StreamText:        streamText,
		SynthText:         synthText,
		AppendModel:       appendModel,
		AppendModels:      appendModels,
	}
}

// Header names in fasthttp's canonical form (PeekCanonical, SetCanonical).
var (
	strXAPIKey   = []byte("X-Api-Key")
	strVersion   = []byte("Anthropic-Version")
	strRequestID = []byte("Request-Id")
)

// caller reports an Anthropic client: Anthropic's SDKs send
// anthropic-version and x-api-key, OpenAI's send neither.
func caller(h *fasthttp.RequestHeader) bool {
	return len(h.PeekCanonical(strVersion)) > 0 || len(h.PeekCanonical(strXAPIKey)) > 0
}

// keyValue sends a provider key as it is.
func keyValue(key string) []byte { return []byte(key) }

// authorize sends the key as x-api-key, and anthropic-version unless the
// client sent its own.
func authorize(h *fasthttp.RequestHeader, key, version []byte) {
	if key != nil {
		h.SetCanonical(strXAPIKey, key)
	}
	if len(h.PeekCanonical(strVersion)) == 0 {
		h.SetCanonical(strVersion, version)
	}
}

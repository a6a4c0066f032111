// Package openai is the OpenAI wire format: chat completions, completions,
// embeddings and the Responses API, as OpenAI and every OpenAI-compatible
// upstream speak them. Hooks returns what package provider's registry
// holds; the rest of Sluice reaches the format only through those hooks.
//
// Replies and events it cannot read yield no usage and end no stream; for
// the guardrails, an event whose text it cannot read is an error
// (StreamText: walk.ErrNotObject, walk.ErrInvalidJSON), which ends the
// stream.
package openai

import (
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Hooks returns the OpenAI format's hooks.
func Hooks() wire.Hooks {
	return wire.Hooks{
		Name: "openai",
		Routes: []wire.Route{
			{Path: "/v1/chat/completions", Op: wire.OpChat},
			{Path: "/v1/completions", Op: wire.OpCompletions},
			{Path: "/v1/embeddings", Op: wire.OpEmbeddings},
			{Path: "/v1/responses", Op: wire.OpResponses},
		},
		UncheckedPaths: []string{"/v1/responses/", "/v1/chat/completions/", "/v1/completions/",
			"/v1/batches", "/v1/threads", "/v1/conversations", "/v1/files", "/v1/assistants",
			"/v1/realtime", "/v1/vector_stores", "/v1/uploads"},
		KeyValue:          keyValue,
		Authorize:         authorize,
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

// strAuthorization is in fasthttp's canonical form (SetCanonical).
var strAuthorization = []byte("Authorization")

// keyValue renders a provider key as a bearer token.
func keyValue(key string) []byte { return []byte("Bearer " + key) }

// authorize sends the key as Authorization: Bearer; OpenAI has no version
// header.
func authorize(h *fasthttp.RequestHeader, key, _ []byte) {
	if key != nil {
		h.SetCanonical(strAuthorization, key)
	}
}

// Package gemini is the Gemini wire format (the Gemini API,
// generativelanguage v1beta): generateContent and streamGenerateContent
// (?alt=sse), embedContent and batchEmbedContents, and the model list.
//
// It gives Sluice three things: Hooks, the same-format hooks package
// provider's registry holds (usage, stream ends, errors, guardrail text,
// model lists, auth); GenerateCodec and EmbedCodec, which translate Gemini
// bodies to and from the canonical form of package canon; and the URL
// helpers (ParsePath, UpstreamPath, EmbedAction), since Gemini names the
// model and the operation in the path, /v1beta/models/{model}:{action},
// rather than in the body. TRANSLATION.md lists every mapping rule and every
// field dropped or refused.
//
// Failure modes: request decoders return canon.ErrInvalidJSON for a body
// that is not JSON and a *canon.FieldError naming the field (as the client
// spelled it) for one the canonical form cannot carry; EncodeRequest
// refuses with a *canon.FieldError what Gemini cannot do; the stream
// decoder returns an error for an event it cannot read. The hooks never
// fail: a reply or event they cannot read yields no usage and ends no
// stream; for the guardrails, an event whose text cannot be read is
// StreamText's error (walk.ErrNotObject, walk.ErrInvalidJSON).
package gemini

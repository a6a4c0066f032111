// Package canon is the canonical form requests, replies and stream events
// take while Sluice translates between wire formats: a client's request in
// one format is decoded into a Request, encoded in the upstream's format,
// and the upstream's reply (or each of its stream events) comes back the
// same way. Translation through one hub keeps the work linear in the
// number of formats (each format writes one decoder and one encoder per
// body kind) instead of quadratic in the pairs.
//
// Same-format traffic never comes here: it stays the in-place passthrough
// of package provider (ScanRequest, AppendBody). canon is the slow path by
// design; it still allocates little (strings view nothing: they are copied
// once per request) and never buffers a stream whole.
//
// Each format package (openai, anthropic, gemini, bedrock) fills in a
// Codec per operation it translates. The types here say what every codec
// must carry; what a format cannot carry is dropped by a rule its package
// documents (docs/providers.md lists them) or refused with a *FieldError
// naming the field, which the gateway answers with 400 — never silently
// misread.
//
// Failure modes: decoders return *FieldError for a request the format
// cannot express or that is malformed (ErrInvalidJSON for bodies that are
// not JSON); stream decoders return an error for an event they cannot
// read, which ends the stream with the caller's stream error event.
// Encoders do not fail, except EncodeRequest, which refuses (with a
// *FieldError) what the upstream format cannot carry and the request
// depends on.
package canon

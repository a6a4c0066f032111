// Package wire is the contract between Sluice and one wire format: the
// Hooks a format package (openai, anthropic, ...) fills in, and the types
// they share (Operation, Usage, Error). It imports no Sluice package but
// its own walk (the JSON walker the text hooks use) and sse, so that the
// format packages can import it while package provider imports them and
// keeps them in its registry, indexed by provider.Format.
//
// The hooks do not fail, but for the guardrails' StreamText: a reply or
// event they cannot read yields no usage (Usage.Valid false) and does not
// end a stream (the gateway reports a stream that stopped before its end);
// an event whose text cannot be read is StreamText's error.
package wire

// Package provider speaks to upstream LLM APIs.
//
// Each wire format Sluice speaks is one package below this one (openai/,
// anthropic/), which fills in the hooks of package wire: routes, upstream
// auth, usage from replies and stream events, the end of a stream, error
// bodies and stream error events, model lists, and where the guardrails
// find text in its bodies and events. format.go is the registry:
// Format indexes an array of those hooks (Format.Hooks), so a lookup is an
// index, never a map or an interface per request; arrays of per-format
// state are sized NumFormats (OperationFormat finds the format of an
// operation). provider re-exports the types the formats share that the
// rest of Sluice names everywhere (Operation, Usage).
//
// Besides, provider reads the few request fields the gateway needs without
// decoding the body (ScanRequest, the same for every format), edits the
// body in place where the contract allows it (the model value and
// stream_options.include_usage), and owns the fasthttp client of each
// configured provider (Upstream): credentials, header forwarding rules,
// TLS, proxies, the connect / first-byte / idle deadlines, and the
// connections, one slot each, so that a request in flight can be cancelled
// from another goroutine (Call.Cancel closes the connection that carries
// it).
//
// Failure modes: ScanRequest returns ErrInvalidJSON or a *FieldError naming
// the field (a key Sluice reads sent twice included: Sluice and an
// upstream could read different copies); Upstream.Do returns errors that
// Classify sorts into connect, timeout, reset and malformed so the gateway
// can map them to 502/504, or no_free_conns (max_conns reached) and
// cancelled (the call was cancelled). The formats' hooks never fail.
package provider

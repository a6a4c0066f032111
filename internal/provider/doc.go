// Package provider speaks to upstream LLM APIs.
//
// It knows the wire formats Sluice handles (OpenAI and Anthropic today), reads
// the few request fields the gateway needs without decoding the body
// (ScanRequest), edits the body in place where the contract allows it (the
// model value and stream_options.include_usage), extracts token usage from
// replies and stream events, and owns the fasthttp client of each configured
// provider (Upstream): credentials, header forwarding rules, TLS, proxies,
// the connect / first-byte / idle deadlines, and the connections, one slot
// each, so that a request in flight can be cancelled from another goroutine
// (Call.Cancel closes the connection that carries it).
//
// Failure modes: ScanRequest returns ErrInvalidJSON or a *FieldError naming
// the field (a key Sluice reads sent twice included: Sluice and an
// upstream could read different copies); Upstream.Do returns errors that
// Classify sorts into connect, timeout, reset and malformed so the gateway
// can map them to 502/504, or no_free_conns (max_conns reached) and
// cancelled (the call was cancelled).
package provider

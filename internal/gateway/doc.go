// Package gateway is Sluice's server: the listener, the fixed request
// pipeline, the request state, the error writer and the admin surface.
//
// # The pipeline
//
// Every model request runs the same stages in the same order, assembled once
// at start-up. The order is chosen so that the cheapest rejection comes
// first and no stage needs information a later one produces:
//
//  1. Request id, limits on size and time, recover. fasthttp enforces the
//     body and header limits before the handler runs (413 without reading an
//     oversized body into memory); a panic becomes a 500 in the caller's
//     format instead of a dead process.
//  2. Authenticate. A bad key is rejected before the body is even parsed.
//  3. Request-count and concurrency limits: they need only the key.
//  4. Parse the body: model, stream, max tokens, end user — one scan over the
//     top-level keys, no full decode (provider.ScanRequest). A key Sluice
//     reads here or scans in stage 6, sent twice, is a 400 naming it: it
//     runs before the guardrails on every model route, so they and the
//     upstream never read different copies.
//  5. Model allowlist, token reservation and budget: they need the model and
//     max tokens from stage 4.
//  6. Input guardrails (guard.go): only requests that passed every cheaper
//     check pay for a scan of their text. The model is looked up just
//     before, since its entry names the guardrail sets; a redacting rule
//     rewrites the body and the fields are scanned again from it.
//  7. Route (attempt.go): the request's route.Plan picks the target and
//     decides on retries, waits, the next target and fallbacks; the gateway
//     edits the body in place (model, stream_options.include_usage), sends,
//     and reports each attempt's outcome back to the plan.
//  8. Relay the reply: buffered replies are swapped into the response without
//     a copy (or checked and redacted by output guardrails first); streams
//     are relayed event by event (relay.go), through the guardrails' stream
//     scanner when the policy has output rules, flushing whenever no further
//     complete event is already buffered.
//  9. Settle on every exit path: reconcile token reservations, release
//     slots, record metrics and hand one record to telemetry (telemetry.go),
//     never blocking.
//
// Stages 2, 3, 5, 6 and the telemetry hand-off belong to features that plug
// in here (keys, limits, guardrails, request logging); at tier L0 they are
// off and cost nothing. Passthrough runs stages 1–3, 7–9; the routes Sluice
// answers from its own model table (GET /v1/models, GET /v1/models/{id}:
// models.go) run stages 1–3 and 9, so auth, request limits and logging
// apply to them as to every route.
//
// # Admin surface
//
// The admin API (admin.go) compares the admin token in constant time.
// Failed authentications are counted, logged without token material and
// throttled per source address (adminauth.go, adminthrottle.go); X-Forwarded-For
// is believed only from server.trusted_proxies. GET /metrics may require its
// own bearer token (metrics.token).
//
// # Failure
//
// Errors Sluice produces are *HTTPError values written in the caller's
// format (OpenAI or Anthropic). Upstream errors pass through untouched. Once
// a stream has started, a failure becomes the format's own error event and
// the stream ends. A client that goes away is recorded with status 499 and
// its upstream request is cancelled: during a stream at once (the relay's
// watcher, relay.go), while Sluice still waits for the upstream's reply (a
// buffered reply, or a stream's reply headers) within sweepInterval (one
// sweeper per gateway asks the kernel about the waiting clients'
// connections, abandon.go, and closes the upstream connection that carries
// the request). An abandoned request never counts against its target's
// circuit breaker; health.go says what does.
package gateway

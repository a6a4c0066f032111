// Package mock is Sluice's LLM-native mock backend: an HTTP server that speaks the
// OpenAI (chat completions, completions, embeddings, responses, models), Anthropic
// (messages, count_tokens), Azure OpenAI, Gemini (generateContent, embeddings) and
// Bedrock (Converse, ConverseStream) wire formats closely enough for the official SDKs
// to parse its replies, and that can be steered per request. Bedrock requests must
// carry a well-formed SigV4 Authorization header (its signature is not verified); a
// Bedrock stream is an AWS event stream framed by the AWS SDK's own encoder.
//
// Tests start it in-process on 127.0.0.1:0 and use it as a gateway's upstream;
// `sluice mock` serves it; `sluice bench` measures gateways against it. It is built on
// fasthttp and renders replies with hand-written appends, so that it is never the
// bottleneck of the load it serves.
//
// # Replies
//
// Content is a sequence of tokens. Without Echo a token is one word of a fixed
// vocabulary, chosen by a pseudo-random generator seeded from Options.Seed and a hash
// of the request body, so the same request always gets the same reply. With Echo the
// reply is the text of the last user message, split into tokens at word boundaries
// (each token is a word with the whitespace before it). Completion token counts are the
// number of tokens sent; prompt token counts are estimated as one token per four bytes
// of the request's message text, rounded up, at least one.
//
// # Steering
//
// Every reply can be steered by request headers (X-Mock-TTFT, X-Mock-ITL, X-Mock-Jitter,
// X-Mock-Latency, X-Mock-Tokens, X-Response-Size, X-Mock-Status, X-Mock-Error-Rate,
// X-Mock-Drop-Rate, X-Mock-Malformed-Rate, X-Mock-Disconnect-After, X-Mock-Hang,
// X-Mock-Cached-Tokens, X-Mock-Cache-Write-Tokens), by the same names as query
// parameters, and by the aliases X-Vidai-Latency (= X-Mock-Latency) and
// X-Vidai-Chaos-Drop (= X-Mock-Error-Rate). Precedence is header > alias > query >
// Options. A malformed or unknown control value gets a 400 in the route's own error
// format that names the header or parameter. The two cache controls make the usage
// report prompt tokens read from and written to a prompt cache, each format in its own
// fields; the prompt count still counts every prompt token.
//
// # Streams
//
// A stream that has anything to wait for (a TTFT, an ITL or a total latency) is paced
// without a goroutine of its own: its connection is hijacked from fasthttp, a few pacer
// goroutines (one per CPU) write each token event straight to the socket when it is due,
// and the keep-alive connection is handed back to fasthttp when the reply is complete
// (stream.go, sched.go, conn.go). A stream with nothing to wait for is written in place
// by fasthttp, which is cheaper for it. Both put the same bytes on the wire; the golden
// tests check it.
//
// # Failure modes
//
// A stream whose write fails is taken as a client that went away: the stream stops at
// once and its journal entry is recorded with Cancelled set. A client that stops reading
// fills its socket; its stream then waits, retrying, without holding up other streams.
// Shutdown ends pacing (the remaining events of open streams are sent without delay and
// their connections closed), closes hanging connections and then waits for in-flight
// requests.
package mock

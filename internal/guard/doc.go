// Package guard is Sluice's guardrail engine: rules from config, compiled
// once, checked against the text a model reads (input) and writes (output),
// buffered or streamed.
//
// # Rules and policies
//
// New compiles named sets of rules (regex, keywords, the builtin detectors of
// package detect, max_chars, max_messages) and reports every config problem
// at once as *RuleError values. Engine.Policy joins the sets a request uses
// into a *Policy, built once per combination and cached. Actions: Block
// (the check returns a *Violation naming the rule, never the matched text),
// Redact (the match becomes [REDACTED:<RULE NAME IN CAPITALS>]) and Flag
// (a Verdict only). Every rule that matched yields a Verdict with its count.
//
// # What is scanned
//
// Text is scanned decoded (JSON escapes resolved), each string on its own:
// a match never spans two strings. A redacted string is re-encoded in place;
// the rest of the body keeps its bytes. Keys are compared decoded, so an
// escaped key ("con\u0074ent") is no way around a rule; a key that appears
// twice is scanned both times.
//
// Where the text is, is each wire format's to say (package provider's
// format packages, through wire.Hooks: InputText, OutputText, StreamText
// and SynthText, with the walker of package walk); what they read is:
//
// Input (CheckRequest), by operation:
//   - chat: messages[].content (a string, or parts' "text"), refusal and
//     name, every role;
//     messages[].tool_calls[].function.arguments and function_call.arguments
//     (the JSON text of the arguments, as a string); the description of
//     each tools[] entry (in its "function" or "custom" object) and of each
//     legacy functions[] entry.
//   - completions: prompt and suffix (a string or an array of strings; token
//     arrays are not text).
//   - embeddings: input (likewise).
//   - responses: instructions; input as a string, or items' content (a
//     string or parts' "text"), output (function_call_output) and arguments
//     (function_call); tools[].description.
//   - messages and count_tokens (Anthropic): system (a string or blocks'
//     "text"); messages[].content as a string or blocks: "text", every string
//     value inside tool_use "input", tool_result "content" (a string or
//     blocks' "text"), and document blocks whose source is text;
//     tools[].description.
//
// Tool names and parameter schemas (the descriptions of their properties
// included) are not scanned.
//
// Output (CheckResponse and Stream): chat choices[].message content,
// refusal and tool-call arguments (a reply's message carries no name);
// completions choices[].text; responses output[] items' content text and
// arguments; messages content[] text blocks and the string values of
// tool_use input. Streams: see below.
//
// Before the walk that finds those strings, a prefilter (prefilter.go) may
// answer for the whole body: when every rule of the scope names anchor bytes
// (detect.Finder.Anchors: '@' for e-mail, the last byte of each keyword in
// both ASCII cases; at most four in all) and neither the body's bytes nor
// its escapes can yield one, no rule can match and the body passes as it
// is. Its answer is exact. A digit-anchored detector, a regex or secrets
// rule turns it off for the directions it applies to, and size rules for
// input: those bodies are always walked.
//
// # Overlaps
//
// Each rule finds its own matches (leftmost-first, non-overlapping). A block
// match anywhere blocks, whatever else matched. Flag matches are only
// counted. Redact matches are applied greedily in text order: earliest start
// first, the longest among those starting together, then the rule that comes
// first in the policy; a redact match overlapping one already applied is
// dropped from the text but still counted.
//
// # Limits
//
// An input scan covers at most Options.ScanLimit bytes of decoded text
// (default 1 MiB); more is a *LimitError, never passed on unscanned.
// max_chars counts the characters (runes) of all input text; max_messages
// counts chat messages, Anthropic messages (system not included) and
// Responses input items (a string input is one); completions and embeddings
// have no messages. Replies have no scan limit.
//
// # Streams
//
// A Stream follows each text channel of a reply: an OpenAI chat choice's
// content, its refusal and each of its tool calls' arguments; a completions
// choice's text; an Anthropic content block's text_delta text or
// input_json_delta partial_json (the JSON text itself, where a buffered
// reply's tool_use input is scanned value by value); a Responses
// output_text part and function call arguments.
//
// Holdback: a channel holds back only the tail that could still become
// part of a match, and releases everything before it at once, on the event
// that decides it. For a detector (builtin or keywords) that tail is its
// pending tail (detect.Finder.Pending): nothing after a finished word, the
// last word where it could still grow into an address or a key, a number
// that could still grow into a card, an open PEM block up to its END line.
// Typical replies streamed a token at a time lag by 2 to 4 bytes on
// average (TestStreamRepliesLag), where a fixed holdback of MaxLen kept 256
// bytes back for e-mail and, with secrets, a short reply until its end. A
// regex rule keeps a fixed holdback of its longest match plus 2 bytes (its
// max_len): Go's regexp cannot tell whether a tail could still match. The
// released point never passes the start of a match that is not yet final,
// nor splits a rune.
//
// Cost: each event scans, per detector, the new text with the pending tail
// and the detector's left context (detect.Finder.LeftContext, one byte for
// most), and takes that quiet window's Pending point when Find reports
// nothing there; otherwise (a match near, a candidate open) it scans with
// MaxLen bytes of context, which locality makes exact. Scans are paid for
// with credit, 32 bytes per byte of text received with some saved for
// bursts; a detector out of credit waits for more text, so a pathological
// tail (an unterminated PEM block, a long digit run) costs O(1) per byte and
// is held a little longer. Final matches are kept until released. See
// docs/decisions/0008-stream-holdback-credit.md.
//
// Released text is re-emitted in an event of the same shape as the one
// that brought the newest text (the string rewritten, every other field
// kept). An event whose text is all held and that says nothing else
// is dropped. Events without guarded text (role deltas, usage, pings,
// message_start, ...) pass through unchanged, in order. When a channel ends
// (a chunk with its choice's finish_reason, content_block_stop, a Responses
// *.done event, [DONE], message_delta, message_stop, or Finish) its tail is
// scanned as the end of the text and flushed before the ending event, in an
// event of the format built from the stream's own fields (OpenAI: the
// chunks' id, object, created, model, ...). Responses events that repeat
// whole texts (*.done, response.completed) get them redacted as a buffered
// reply would.
//
// Exactness: released text is whole runes, and a channel finds exactly the
// matches the buffered scan finds: a detector decides a start only once no
// continuation of the text can change it (Pending), from a window that
// starts MaxLen bytes before it (detect's locality) or from a quiet window
// (detect's LeftContext), and a regex rule resumes where its previous
// search stopped, with the byte before as context for ^, \b and \B.
// Matches that start before the release point are final; a redaction that
// would straddle it moves the point back to its start. So the client gets
// the same text as CheckResponse would give, however the reply is split
// into events. A match longer than its rule's holdback (a regex rule's
// max_len set too small) may be missed in a stream.
//
// A redacted match never reaches the client: its label goes out in its
// place. A block match returns a *Violation as soon as it is final, before
// any byte of it is released; the caller ends the stream with the format's
// error event.
//
// # Failures and gaps
//
// A body that is not a JSON object, or a rewrite of one that is not valid
// JSON, is an error (ErrNotObject, ErrInvalidJSON). So is a streamed event
// whose data is not a valid JSON object (truncated, a string that never
// ends): every such event is validated before the lenient walk, so none can
// carry text past the scan; the caller ends the stream. The commonest delta
// events are valid by construction of the fast paths that read them
// (package walk, valid.go). Token logprobs and Anthropic thinking blocks
// are not scanned.
package guard

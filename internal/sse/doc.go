// Package sse reads and writes Server-Sent Events (the WHATWG "text/event-stream"
// format) without allocating per event. The gateway uses it to relay LLM streams
// event by event: OpenAI chat completions (`data: {...}` ... `data: [DONE]`),
// Anthropic messages (`event: X` + `data: {...}`) and OpenAI Responses typed events.
//
// # Reading
//
// A [Reader] pulls bytes from an upstream body with its Read method into one growable
// buffer and hands out each event as an [Event] whose slices point into that buffer:
// [Event.Raw] is the event byte for byte as received (write it to relay the event
// unchanged), [Event.Name], [Event.Data] and [Event.ID] are its parsed fields. They stay
// valid only until the next call to [Reader.Next] or [Reader.Reset]; copy what must
// outlive that. A Reader is not safe for concurrent use; [Reader.Reset] lets a pool reuse
// one together with its buffers.
//
// Parsing follows the WHATWG rules: lines end in "\n", "\r\n" or "\r" (a "\r\n" split
// across two reads is one line ending); a line starting with ':' is a comment; a line
// "name:value" sets a field, with one leading space removed from the value; a line
// without ':' is a field name with an empty value; several data lines are joined with
// "\n"; an "id" value containing U+0000 is ignored; unknown fields (including "retry")
// are ignored for parsing but kept in Raw; a blank line ends the event. A UTF-8 byte
// order mark at the very start of the stream is skipped for parsing but kept in the first
// event's Raw.
//
// Where this package departs from what a browser dispatches, it does so to relay
// faithfully:
//   - Every blank line ends an event and Next returns it, even when it has no data:
//     an event of comments only (a ": ping" keep-alive) or a stray blank line comes back
//     with Name, Data and ID nil, so the relay can forward its Raw as is.
//   - ID is the id field of this event only; the spec's "last event ID" that carries
//     over from one event to the next is the caller's to keep if it needs it.
//   - Input that ends (or fails) in the middle of an event is not discarded: the
//     unfinished event is returned with [Event.Incomplete] set, and an unterminated last
//     line in it is parsed as if it were terminated.
//
// Every input byte therefore ends up in exactly one event's Raw: the concatenation of
// Raw over all events returned before io.EOF (or before a read error) is the input.
// Only [ErrEventTooLarge] drops bytes: those of the oversized event, after which the
// stream cannot be resynchronised and reading stops.
//
// A blank line ended by a lone "\r" that happens to be the last byte read so far is held
// until the next byte arrives (or the input ends), because that byte decides whether the
// line ending is "\r" or "\r\n"; this keeps events identical however the input is split
// into reads. Streams whose lines end in "\n" or "\r\n" (every LLM provider) are not
// delayed by it: with "\n" nothing is held, and with "\r\n" the byte waited for is the
// '\n' the upstream is already sending.
//
// # How it fails
//
// [Reader.Next] returns io.EOF at the clean end of input. An event longer than the
// Reader's limit (1 MiB by default) makes Next return an error matching
// [ErrEventTooLarge], without buffering more than the limit plus one byte. An error from
// the upstream body comes back unchanged (errors.Is works on it) once the events read
// before it, including an unfinished one, have been returned; a body that keeps returning
// no bytes and no error gives io.ErrNoProgress. Every error is sticky: later calls
// return it again until Reset.
//
// # Writing
//
// [AppendEvent], [AppendData] and [AppendComment] append one well-formed event to a
// byte slice, so a relay writes into a reused buffer without allocating.
package sse

package canon

// EventKind is what a canonical stream event says.
type EventKind uint8

// Stream event kinds. A decoder emits them in this grammar, which every
// encoder may rely on:
//
//	stream = EvStart { part | EvUsage } [ EvStop ] { EvUsage } EvEnd
//	part   = EvPartStart { EvDelta | EvUsage } EvPartStop
//
// Parts do not overlap: a decoder whose format interleaves them (OpenAI's
// parallel tool calls may) closes the open part before it starts the
// next, and starts a new part for a later fragment of an earlier call
// only if its format allows no other order (it never drops a fragment).
// Index numbers the parts from 0 in the order they start. EvError may come
// at any point instead of the rest of the stream: it ends it.
const (
	// EvStart opens the reply: ID, Model (either may be empty).
	EvStart EventKind = iota + 1
	// EvPartStart opens part Index of kind Part.Kind: for a tool call with
	// Part.ID and Part.Name (arguments follow as deltas); for text or
	// thinking, any text already known in Part.Text (usually empty), and
	// for thinking its Part.Redacted data or Part.Signature when the
	// upstream gives them at the start.
	EvPartStart
	// EvDelta adds Text to the open part: text, thinking text, refusal
	// text or a fragment of a tool call's arguments as the part's kind
	// says; Signature (thinking) arrives as a delta with Signature set.
	EvDelta
	// EvPartStop closes part Index.
	EvPartStop
	// EvStop says why the model stopped (Stop).
	EvStop
	// EvUsage reports usage known so far (Usage): a later one replaces
	// the fields an earlier one set, each field taken where it is
	// non-zero, so a decoder may report input at the start and output at
	// the end.
	EvUsage
	// EvEnd closes the stream normally.
	EvEnd
	// EvError ends the stream with an error the upstream reported in the
	// stream (Err).
	EvError
)

// Event is one canonical stream event. Which fields mean something depends
// on Kind. Strings are views into a decoder's buffer or the upstream's
// event, valid until the next call to the decoder: an encoder must copy
// what it keeps.
type Event struct {
	Kind      EventKind
	ID, Model string // EvStart
	Index     int    // EvPartStart, EvDelta, EvPartStop
	Part      Part   // EvPartStart: Kind, ID, Name, Text
	Text      string // EvDelta
	Signature string // EvDelta of a thinking part
	Stop      Stop
	Usage     Usage
	Err       Error
}

// Error is an error an upstream reported, in canonical form: the gateway
// writes it as the caller's format's error body (or stream error event)
// with the status Status.
type Error struct {
	// Status is the HTTP status the upstream answered (for an error inside
	// a stream, the status its type implies: 429 for a rate limit, 529 for
	// Anthropic's overloaded_error, 500 otherwise).
	Status int
	// Type is the canonical kind of error, one of the ErrorType values.
	Type ErrorType
	// Message is the upstream's message.
	Message string
	// Param is the offending request field where the upstream named it.
	Param string
	// Code is the upstream's own error code or type, where it sent one.
	Code string
}

// ErrorType is the kind of an upstream error, which decides the type or
// code each format writes for it (and so the typed error each SDK raises).
type ErrorType uint8

// Error types.
const (
	ErrAPI            ErrorType = iota // server error (500 and unknown)
	ErrInvalidRequest                  // 400, 422
	ErrAuthentication                  // 401
	ErrPermission                      // 403
	ErrNotFound                        // 404
	ErrTooLarge                        // 413
	ErrRateLimit                       // 429
	ErrOverloaded                      // 529, 503
	ErrTimeout                         // 504
)

// ErrorTypeOf returns the error type an HTTP status implies.
func ErrorTypeOf(status int) ErrorType {
	switch status {
	case 400, 422:
		return ErrInvalidRequest
	case 401:
		return ErrAuthentication
	case 403:
		return ErrPermission
	case 404:
		return ErrNotFound
	case 413:
		return ErrTooLarge
	case 429:
		return ErrRateLimit
	case 503, 529:
		return ErrOverloaded
	case 504:
		return ErrTimeout
	}
	if status >= 400 && status < 500 {
		return ErrInvalidRequest
	}
	return ErrAPI
}

// StreamDecoder reads one upstream stream's events into canonical events.
// It is stateful (one per stream) and is told each event's name (the SSE
// event field, or Bedrock's :event-type header; empty when none) and data
// (the SSE data, or the event-stream message's payload).
type StreamDecoder interface {
	// Decode appends the canonical events one upstream event says to out.
	// An event that says nothing canonical (pings, keep-alives) appends
	// nothing. err is an event that cannot be read: the stream ends.
	Decode(name, data []byte, out []Event) ([]Event, error)
}

// StreamEncoder writes canonical events as one client's stream. It is
// stateful (one per stream) and copies what it keeps of an event.
type StreamEncoder interface {
	// Encode adds the client events ev becomes to f (none, one or more:
	// an encoder may hold an event back until a later one completes it,
	// as Anthropic's message_delta waits for usage).
	Encode(f *Frames, ev *Event)
}

// StreamFinisher is a StreamDecoder that can close a stream whose end is
// the end of the upstream's bytes rather than an event: Bedrock's, whose
// closing metadata event may be left out once messageStop came. At the
// end of the bytes the gateway calls Finish, which appends the events
// that close a reply its events said was complete (EvEnd among them), and
// nothing for one cut short, which the gateway then reports.
type StreamFinisher interface {
	Finish(out []Event) []Event
}

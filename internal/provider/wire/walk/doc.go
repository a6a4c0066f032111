// Package walk reads the text of JSON bodies and stream events as the
// guardrails scan it, for the wire formats to describe where their text is:
// a small walker over raw bytes that finds values and their exact offsets
// without decoding or allocating (Span, Iter), the Walker that collects the
// string fields a model reads or writes, and StreamText, what a format's
// stream reader reports about one event. Package guard scans what they
// find; the format packages (openai, anthropic, ...) say where to look.
//
// It is lenient: on malformed input it stops early (ok false), never
// panics and never loops forever. Callers that rewrite a body validate it
// first (ValidEvent, ValidString); RootObject reports a body that is not an
// object (ErrNotObject) or is cut short (ErrInvalidJSON).
package walk

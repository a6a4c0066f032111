package provider

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// ErrInvalidJSON means the request body is not valid JSON.
var ErrInvalidJSON = errors.New("request body is not valid JSON")

// FieldError is a request field that is missing or has the wrong type.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Request holds what the gateway needs from a request body, read in one pass
// over its top-level keys without decoding it. String fields point into the
// scanned body and are valid only as long as it is; copy what must outlive
// the request.
type Request struct {
	// Model is the requested model name.
	Model string
	// Stream is the value of "stream".
	Stream bool
	// IncludeUsage is true when the client itself asked for a usage chunk
	// (stream_options.include_usage: true).
	IncludeUsage bool
	// MaxTokens is the largest of max_tokens, max_completion_tokens and
	// max_output_tokens present, 0 when none is.
	MaxTokens int64
	// User is the end user: "user" (OpenAI) or metadata.user_id (Anthropic).
	User string

	modelStart, modelEnd int // span of the model value, quotes included
	soStart, soEnd       int // span of the stream_options value; -1 if absent
	soKind               gjson.Type
	iuStart, iuEnd       int // span of stream_options.include_usage's value; -1 if absent
	objEnd               int // index of the top-level object's closing brace
}

// bytesView returns b as a string without copying (wire.StringView). The
// string must not outlive b or be used after b is modified.
// See docs/decisions/0006-unsafe-string-views.md.
func bytesView(b []byte) string { return wire.StringView(b) }

// readID names a top-level key Sluice reads, here or in the guardrails'
// walk of the text a model reads (package guard); noKey is any other.
type readID uint8

const (
	noKey readID = iota
	keyModel
	keyStream
	keyStreamOptions
	keyMaxTokens
	keyMaxCompletionTokens
	keyMaxOutputTokens
	keyUser
	keyMetadata
	keyMessages
	keyInput
	keyContents
	keySystem
	keyTools
	keyFunctions
	keyPrompt
	keySuffix
	keyInstructions
	numKeys
)

// msgTwice is the FieldError message for a key sent more than once.
const msgTwice = "appears more than once"

// readKey returns the readID of a top-level key.
func readKey(k string) readID {
	switch k {
	case "model":
		return keyModel
	case "stream":
		return keyStream
	case "stream_options":
		return keyStreamOptions
	case "max_tokens":
		return keyMaxTokens
	case "max_completion_tokens":
		return keyMaxCompletionTokens
	case "max_output_tokens":
		return keyMaxOutputTokens
	case "user":
		return keyUser
	case "metadata":
		return keyMetadata
	case "messages":
		return keyMessages
	case "input":
		return keyInput
	case "contents":
		return keyContents
	case "system":
		return keySystem
	case "tools":
		return keyTools
	case "functions":
		return keyFunctions
	case "prompt":
		return keyPrompt
	case "suffix":
		return keySuffix
	case "instructions":
		return keyInstructions
	}
	return noKey
}

// String is the key's name, a constant: a FieldError must not point into
// the body.
func (id readID) String() string {
	switch id {
	case keyModel:
		return "model"
	case keyStream:
		return "stream"
	case keyStreamOptions:
		return "stream_options"
	case keyMaxTokens:
		return "max_tokens"
	case keyMaxCompletionTokens:
		return "max_completion_tokens"
	case keyMaxOutputTokens:
		return "max_output_tokens"
	case keyUser:
		return "user"
	case keyMetadata:
		return "metadata"
	case keyMessages:
		return "messages"
	case keyInput:
		return "input"
	case keyContents:
		return "contents"
	case keySystem:
		return "system"
	case keyTools:
		return "tools"
	case keyFunctions:
		return "functions"
	case keyPrompt:
		return "prompt"
	case keySuffix:
		return "suffix"
	case keyInstructions:
		return "instructions"
	}
	return ""
}

// ScanRequest validates body as JSON and reads the fields the gateway needs.
// It allocates only when a string value or a key contains escapes.
//
// A key Sluice reads (readID: the fields above, and the ones the
// guardrails scan) that appears twice in the top-level object is a
// *FieldError naming it, as are stream_options.include_usage and
// metadata.user_id twice: JSON parsers disagree on which copy wins (gjson
// and many upstreams take the last, others the first), so Sluice could
// authorize, price, log or scan one value while the upstream serves the
// other (issue #15). Keys are compared decoded, so "mod\u0065l" is "model".
func ScanRequest(body []byte) (Request, error) {
	r := Request{modelStart: -1, soStart: -1, iuStart: -1}
	if !gjson.ValidBytes(body) {
		return r, ErrInvalidJSON
	}
	s := bytesView(body)
	root := gjson.Parse(s)
	if !root.IsObject() {
		return r, &FieldError{Field: "body", Msg: "must be a JSON object"}
	}
	var ferr *FieldError
	var seen uint32
	root.ForEach(func(key, value gjson.Result) bool {
		id := readKey(key.Str)
		if id == noKey {
			return true
		}
		if seen&(1<<id) != 0 {
			ferr = &FieldError{Field: id.String(), Msg: msgTwice}
			return false
		}
		seen |= 1 << id
		switch id {
		case keyModel:
			if value.Type != gjson.String {
				ferr = &FieldError{Field: "model", Msg: "must be a string"}
				return false
			}
			r.Model = value.Str
			r.modelStart, r.modelEnd = value.Index, value.Index+len(value.Raw)
		case keyStream:
			switch value.Type {
			case gjson.True:
				r.Stream = true
			case gjson.False, gjson.Null:
			default:
				ferr = &FieldError{Field: "stream", Msg: "must be a boolean"}
				return false
			}
		case keyStreamOptions:
			r.soStart, r.soEnd, r.soKind = value.Index, value.Index+len(value.Raw), value.Type
			if value.IsObject() {
				ferr = r.streamOptions(value)
			}
		case keyMaxTokens, keyMaxCompletionTokens, keyMaxOutputTokens:
			// The largest of those present: the reservation must cover
			// whichever one the upstream honours.
			if value.Type == gjson.Number {
				r.MaxTokens = max(r.MaxTokens, value.Int())
			} else if value.Type != gjson.Null {
				ferr = &FieldError{Field: id.String(), Msg: "must be an integer"}
			}
		case keyUser:
			if value.Type == gjson.String {
				r.User = value.Str
			}
		case keyMetadata:
			if value.IsObject() {
				ferr = r.metadata(value)
			}
		}
		return ferr == nil
	})
	if ferr != nil {
		return r, ferr
	}
	if r.modelStart < 0 {
		return r, &FieldError{Field: "model", Msg: "missing required field"}
	}
	if r.Model == "" {
		return r, &FieldError{Field: "model", Msg: "must not be empty"}
	}
	// The closing brace is the last non-space byte of a valid object.
	r.objEnd = len(body) - 1
	for body[r.objEnd] != '}' {
		r.objEnd--
	}
	return r, nil
}

// streamOptions reads stream_options.include_usage, which must appear once
// (AppendBody edits it).
func (r *Request) streamOptions(so gjson.Result) *FieldError {
	var ferr *FieldError
	so.ForEach(func(key, value gjson.Result) bool {
		if key.Str != "include_usage" {
			return true
		}
		if r.iuStart >= 0 {
			ferr = &FieldError{Field: "stream_options.include_usage", Msg: msgTwice}
			return false
		}
		r.IncludeUsage = value.Type == gjson.True
		r.iuStart = value.Index // ForEach reports indexes into the whole body
		r.iuEnd = r.iuStart + len(value.Raw)
		return true
	})
	return ferr
}

// metadata reads metadata.user_id (Anthropic's end user), which must appear
// once.
func (r *Request) metadata(md gjson.Result) *FieldError {
	var ferr *FieldError
	found := false
	md.ForEach(func(key, value gjson.Result) bool {
		if key.Str != "user_id" {
			return true
		}
		if found {
			ferr = &FieldError{Field: "metadata.user_id", Msg: msgTwice}
			return false
		}
		found = true
		if value.Type == gjson.String {
			r.User = value.Str
		}
		return true
	})
	return ferr
}

// edit is one splice of the body: bytes [start, end) become repl.
type edit struct {
	start, end int
	repl       string
	quote      bool // repl is a raw string to be JSON-quoted
}

// usageInsertion is the stream_options object Sluice adds.
const usageInsertion = `"stream_options":{"include_usage":true}`

// Edits reports whether AppendBody would change the body.
func (r *Request) Edits(model string, injectUsage bool) bool {
	return model != r.Model || (injectUsage && r.canInjectUsage())
}

func (r *Request) canInjectUsage() bool {
	if !r.Stream || r.IncludeUsage {
		return false
	}
	// A stream_options that is neither an object nor null is the client's
	// mistake to hear about from the upstream; leave it untouched.
	return r.soStart < 0 || r.soKind == gjson.Null || r.soKind == gjson.JSON
}

// AppendBody appends body (the body ScanRequest read) to dst with the model
// value replaced by model and, when injectUsage is set and the client did not
// ask for usage itself, stream_options.include_usage set to true. Nothing
// else changes: key order, spacing and unknown fields pass through as sent.
func (r *Request) AppendBody(dst, body []byte, model string, injectUsage bool) []byte {
	var edits [2]edit
	n := 0
	if model != r.Model {
		edits[n] = edit{start: r.modelStart, end: r.modelEnd, repl: model, quote: true}
		n++
	}
	if injectUsage && r.canInjectUsage() {
		edits[n] = r.usageEdit(body)
		n++
	}
	if n == 2 && edits[1].start < edits[0].start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	pos := 0
	for _, e := range edits[:n] {
		dst = append(dst, body[pos:e.start]...)
		if e.quote {
			dst = wire.AppendJSONString(dst, e.repl)
		} else {
			dst = append(dst, e.repl...)
		}
		pos = e.end
	}
	return append(dst, body[pos:]...)
}

func (r *Request) usageEdit(body []byte) edit {
	switch {
	case r.soStart < 0:
		// Before the closing brace: `,"stream_options":{...}`. The object
		// has at least "model", so a comma is always right.
		return edit{start: r.objEnd, end: r.objEnd, repl: "," + usageInsertion}
	case r.soKind == gjson.Null:
		return edit{start: r.soStart, end: r.soEnd, repl: `{"include_usage":true}`}
	case r.iuStart >= 0:
		return edit{start: r.iuStart, end: r.iuEnd, repl: "true"}
	default:
		// An object without include_usage: add it first.
		at := r.soStart + 1
		repl := `"include_usage":true,`
		if isEmptyObject(body[r.soStart:r.soEnd]) {
			repl = `"include_usage":true`
		}
		return edit{start: at, end: at, repl: repl}
	}
}

func isEmptyObject(raw []byte) bool {
	for _, c := range raw[1 : len(raw)-1] {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// String describes a request for debug logs (no prompt content).
func (r *Request) String() string {
	return fmt.Sprintf("model=%q stream=%t include_usage=%t max_tokens=%d", r.Model, r.Stream, r.IncludeUsage, r.MaxTokens)
}

// ScanPath is ScanRequest for a format whose path names the model and
// says whether to stream (Gemini): model and stream come from the path,
// and the body need not name a model (a model it names is not the one
// used).
func ScanPath(body []byte, model string, stream bool) (Request, error) {
	r, err := ScanRequest(body)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "model" {
			return r, err
		}
	}
	r.Model, r.Stream = model, stream
	if model == "" {
		return r, &FieldError{Field: "model", Msg: "must be named in the path: models/{model}:{action}"}
	}
	return r, nil
}

// StringView returns b as a string without copying (wire.StringView).
func StringView(b []byte) string { return wire.StringView(b) }

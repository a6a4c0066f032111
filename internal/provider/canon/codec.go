package canon

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Codec translates the bodies of one operation of one format to and from
// the canonical form. A format package returns one Codec per operation it
// speaks (OpenAI: chat and Responses; Anthropic: messages; Gemini:
// generateContent; Bedrock: Converse); a nil field is a direction the
// format does not serve (Bedrock is never a client's format, so its
// DecodeRequest, EncodeReply and NewEncoder are nil).
type Codec struct {
	// DecodeRequest reads a client's request body into r (Reset first).
	DecodeRequest func(body []byte, r *Request) error
	// EncodeRequest appends r as a request body to the upstream.
	EncodeRequest func(dst []byte, r *Request) ([]byte, error)
	// DecodeReply reads an upstream's complete reply into r (Reset first).
	DecodeReply func(body []byte, r *Reply) error
	// EncodeReply appends r as a complete reply to a client whose request
	// was req.
	EncodeReply func(dst []byte, r *Reply, req *Request) []byte
	// NewDecoder returns a decoder of one upstream stream.
	NewDecoder func() StreamDecoder
	// NewEncoder returns an encoder of one client stream answering req
	// (which says, e.g., whether an OpenAI client asked for usage).
	NewEncoder func(req *Request) StreamEncoder
	// DecodeError reads an upstream's error reply with status into the
	// canonical error (a body it cannot read gives the status's type and
	// a message that says so).
	DecodeError func(status int, body []byte) Error
}

// EmbedRequest is an embeddings request in canonical form (OpenAI
// /v1/embeddings, Gemini embedContent and batchEmbedContents).
type EmbedRequest struct {
	Model  string
	Inputs []string
	// Dimensions asks for vectors of that length (OpenAI dimensions,
	// Gemini outputDimensionality); 0: the model's own.
	Dimensions int64
	// Base64: the OpenAI client asked for encoding_format base64.
	Base64 bool
	User   string
	// TaskType is Gemini's taskType, carried to Gemini only.
	TaskType string
	// Batch: the client sent its inputs as a batch (Gemini's
	// batchEmbedContents), whose reply keeps the batch's shape even for
	// one input.
	Batch bool
}

// EmbedReply is an embeddings reply in canonical form.
type EmbedReply struct {
	Model   string
	Vectors [][]float32
	Usage   Usage
}

// EmbedCodec translates one format's embeddings bodies.
type EmbedCodec struct {
	DecodeRequest func(body []byte, r *EmbedRequest) error
	EncodeRequest func(dst []byte, r *EmbedRequest) ([]byte, error)
	DecodeReply   func(body []byte, r *EmbedReply) error
	EncodeReply   func(dst []byte, r *EmbedReply, req *EmbedRequest) []byte
}

// ErrInvalidJSON is a body that is not valid JSON.
var ErrInvalidJSON = errors.New("body is not valid JSON")

// FieldError is a request field that cannot be read or carried: the
// gateway answers 400 naming Field.
type FieldError struct {
	Field string // the path of the field as the client wrote it, e.g. "messages[2].content[0].type"
	Msg   string // what is wrong and what to do, without the field's value
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Fieldf returns a *FieldError.
func Fieldf(field, msg string) *FieldError { return &FieldError{Field: field, Msg: msg} }

// Reset empties r, keeping the memory of its slices.
func (r *Request) Reset() {
	msgs, sys, tools, stop, md := r.Messages[:0], r.System[:0], r.Tools[:0], r.Stop[:0], r.Metadata[:0]
	*r = Request{Messages: msgs, System: sys, Tools: tools, Stop: stop, Metadata: md}
}

// Reset empties r, keeping the memory of its parts.
func (r *Reply) Reset() {
	parts := r.Parts[:0]
	*r = Reply{Parts: parts}
}

// Text returns the text of a message's parts of kind PartText, joined.
func Text(parts []Part) string {
	if len(parts) == 1 && parts[0].Kind == PartText {
		return parts[0].Text
	}
	var b strings.Builder
	for i := range parts {
		if parts[i].Kind == PartText {
			b.WriteString(parts[i].Text)
		}
	}
	return b.String()
}

// ParseObject reads a body a decoder is given: ErrInvalidJSON when it is
// not JSON, a FieldError when it is not an object, else its top-level
// object, whose strings are views into body (wire.StringView): a decoder
// copies what it keeps.
func ParseObject(body []byte) (gjson.Result, error) {
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return gjson.Result{}, ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return gjson.Result{}, Fieldf("body", "must be a JSON object")
	}
	return root, nil
}

package wire

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// Hooks are what Sluice knows about one wire format, as function values the
// gateway calls, the way net/http/httputil's ReverseProxy takes Rewrite and
// ModifyResponse, rather than as an interface: a format package returns one
// Hooks, and package provider's registry holds them in an array indexed by
// provider.Format, so that a lookup is an index and a hook an indirect
// call, with nothing allocated per request. A field whose doc does not say
// what nil or empty means is required.
type Hooks struct {
	// Name is the format's name: the provider kind in config, and the
	// format in request logs and messages.
	Name string
	// UpstreamOnly marks a format no client speaks to Sluice (Bedrock's):
	// only Name, KeyValue and Authorize are set, and the gateway never
	// writes a reply, an error or a model list in it.
	UpstreamOnly bool

	// Routes are the client API's model routes in this format.
	Routes []Route
	// PathPrefix claims every client path under it for this format (its
	// routes' sub-resources, such as Anthropic's /v1/messages/batches):
	// errors Sluice raises there are written in this format, and the
	// passthrough sends paths under PathPrefix + "/" to a provider of this
	// format. Empty: the format claims no path beyond its routes.
	PathPrefix string
	// Caller reports, from its headers, whether a request to a path the
	// clients of every format call (GET /v1/models) comes from a client of
	// this format. Nil: never; a request no format claims is answered in
	// the default format.
	Caller func(h *fasthttp.RequestHeader) bool
	// UncheckedPaths are the client path prefixes, outside the model
	// routes, whose requests or replies carry model text the guardrails do
	// not read (stored responses, batches, files, ...): with guardrails on,
	// the passthrough refuses them unless the operator allows it (fetching
	// a stored response would return what a redaction hid). Nil: none.
	UncheckedPaths []string
	// IDHeader is the reply header (canonical form) in which this format's
	// clients read a request id: it is set to the upstream's id or, on an
	// error Sluice answers itself, to Sluice's own. Nil: none beyond
	// x-request-id, which carries Sluice's id.
	IDHeader []byte

	// KeyValue renders a provider key from config as Authorize receives
	// it, once per key when the provider is built.
	KeyValue func(key string) []byte
	// Authorize sets the provider's credentials, and the headers the format
	// requires, on a request to the upstream once the client's headers are
	// forwarded: key is a provider key as KeyValue rendered it (nil: the
	// provider has none), version the provider's API version.
	Authorize func(h *fasthttp.RequestHeader, key, version []byte)
	// DefaultVersion is the version Authorize gets for a provider whose
	// config names none. Empty: the format has no version.
	DefaultVersion string

	// Usage reads token usage from a complete (non-streamed) reply to op.
	Usage func(op Operation, body []byte) Usage
	// StreamEvent inspects one event of a streamed reply to op, its SSE
	// event name and data, for what the relay needs: usage, recorded in u;
	// the sequence number the next event Sluice writes must carry, kept in
	// seq where the format numbers its events; whether the event ends the
	// stream (end); and whether it is a usage-only event, which a client
	// that did not ask for usage must not see (usageOnly). It runs once per
	// event: it must not allocate.
	StreamEvent func(op Operation, name, data []byte, u *Usage, seq *int64) (end, usageOnly bool)

	// AppendError appends e as the format's error body.
	AppendError func(dst []byte, e Error) []byte
	// AppendStreamError appends the event that ends a stream of op which
	// failed after it started, in the stream's own format; seq is the
	// sequence number it carries where the format numbers its events.
	AppendStreamError func(dst []byte, op Operation, e Error, seq int64) []byte

	// InputText collects in w the text a model reads in a request body to
	// op, whose top-level object is root: the strings the input guardrails
	// scan. It counts the messages in w.Msgs.
	InputText func(w *walk.Walker, op Operation, root walk.Span)
	// OutputText collects in w the model's text in a complete reply to op
	// (Operation.HasReplyText), whose top-level object is root.
	OutputText func(w *walk.Walker, op Operation, root walk.Span)
	// StreamText reads one event of a streamed reply to op, its SSE event
	// name and data, for the output guardrails: it records in st (Reset
	// before the call) the event's strings of text by channel, the
	// channels it ends, and whole texts it repeats. pure reports an event
	// that says nothing but its text, which may be dropped while all of that
	// text is held back. err (walk.ErrNotObject, walk.ErrInvalidJSON) is an
	// event that hides text from the scan: the stream ends. It runs once
	// per event: it must not allocate once st's arrays have grown.
	StreamText func(st *walk.StreamText, op Operation, name, data []byte) (pure bool, err error)
	// SynthText appends an event of the format that carries text on the
	// channel key of a stream of op, shaped like the upstream's own (from
	// st.Head, or tmpl, the channel's template): the guardrails release
	// held text in it when a channel ends with no event of its own to
	// carry it.
	SynthText func(dst []byte, st *walk.StreamText, op Operation, key walk.ChanKey, tmpl *walk.Template, text []byte) []byte

	// AppendModel appends one model as GET /v1/models/{id} answers it.
	AppendModel func(dst []byte, m Model) []byte
	// AppendModels appends the reply of GET /v1/models listing models.
	AppendModels func(dst []byte, models []Model) []byte
}

// Route is a model route of the client API: a POST path and the operation
// it serves.
type Route struct {
	Path string
	Op   Operation
}

// Model is a model as GET /v1/models describes it.
type Model struct {
	ID      string
	Owner   string // the provider that serves it
	Created time.Time
}

// Error is an error Sluice answers itself, as a format renders it.
type Error struct {
	Status int    // the HTTP status
	Code   string // one of the Code constants
	Msg    string // for the client: what to do
	Param  string // the offending request field; "" when none
}

// Error codes Sluice produces (the OpenAI "code" field), per the contract;
// each format maps them to its own error types.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeGuardrailViolation  = "guardrail_violation"
	CodeInvalidAPIKey       = "invalid_api_key"
	CodeModelNotAllowed     = "model_not_allowed"
	CodeModelNotFound       = "model_not_found"
	CodeRequestTooLarge     = "request_too_large"
	CodeRateLimitExceeded   = "rate_limit_exceeded"
	CodeInsufficientQuota   = "insufficient_quota"
	CodeUpstreamUnreachable = "upstream_unreachable"
	CodeOverloaded          = "overloaded"
	CodeUpstreamTimeout     = "upstream_timeout"
	CodeInternal            = "internal_error"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
)

package gemini

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Hooks returns the Gemini format's hooks.
//
// Routes is empty: Gemini names the model and the action in the path
// (/v1beta/models/{model}:generateContent), which a fixed route cannot
// match; the gateway routes those paths with ParsePath. The operations the
// hooks are called with are wire.OpEmbedContent for embedContent and
// batchEmbedContents, wire.OpCountTokens for countTokens, and any other
// (the gateway's choice for generateContent) for generateContent and
// streamGenerateContent.
func Hooks() wire.Hooks {
	return wire.Hooks{
		Name:       "gemini",
		PathPrefix: "/v1beta",
		Caller:     caller,
		UncheckedPaths: []string{"/v1beta/cachedContents", "/v1beta/files", "/v1beta/batches",
			"/v1beta/tunedModels", "/v1beta/corpora", "/v1beta/fileSearchStores", "/v1beta/interactions"},
		KeyValue:          keyValue,
		Authorize:         authorize,
		Usage:             usage,
		StreamEvent:       streamEvent,
		AppendError:       appendError,
		AppendStreamError: appendStreamError,
		InputText:         inputText,
		OutputText:        outputText,
		StreamText:        streamText,
		SynthText:         synthText,
		AppendModel:       appendModel,
		AppendModels:      appendModels,
	}
}

// strAPIKey is in fasthttp's canonical form (PeekCanonical, SetCanonical).
var strAPIKey = []byte("X-Goog-Api-Key")

// caller reports a Gemini client: Google's SDKs send the key in
// x-goog-api-key.
func caller(h *fasthttp.RequestHeader) bool { return len(h.PeekCanonical(strAPIKey)) > 0 }

// keyValue sends a provider key as it is.
func keyValue(key string) []byte { return []byte(key) }

// authorize sends the key as x-goog-api-key; Gemini's version is in the
// path, so there is no version header.
func authorize(h *fasthttp.RequestHeader, key, _ []byte) {
	if key != nil {
		h.SetCanonical(strAPIKey, key)
	}
}

// The actions of /v1beta/models/{model}:{action} the gateway serves.
const (
	ActionGenerate       = "generateContent"
	ActionStreamGenerate = "streamGenerateContent"
	ActionCountTokens    = "countTokens"
)

// ParsePath reads a client path /v1beta/models/{model}:{action} (or the
// same under /v1, whose bodies are a subset of v1beta's): the model, a
// view into path, and the action, one of the Action constants. ok is false
// for any other path or action (batchGenerateContent, ...), which the
// passthrough serves. A query string, if path has one, is ignored.
func ParsePath(path []byte) (model []byte, action string, ok bool) {
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	var rest []byte
	switch {
	case hasPrefix(path, "/v1beta/models/"):
		rest = path[len("/v1beta/models/"):]
	case hasPrefix(path, "/v1/models/"):
		rest = path[len("/v1/models/"):]
	default:
		return nil, "", false
	}
	colon := bytes.LastIndexByte(rest, ':')
	if colon <= 0 || bytes.IndexByte(rest[:colon], '/') >= 0 {
		return nil, "", false
	}
	switch string(rest[colon+1:]) {
	case ActionGenerate:
		action = ActionGenerate
	case ActionStreamGenerate:
		action = ActionStreamGenerate
	case ActionCountTokens:
		action = ActionCountTokens
	case ActionEmbed:
		action = ActionEmbed
	case ActionBatchEmbed:
		action = ActionBatchEmbed
	default:
		return nil, "", false
	}
	return rest[:colon], action, true
}

// UpstreamPath returns the path and query of a request to a Gemini
// upstream, to be appended to the provider's base_url, which is the API's
// root (https://generativelanguage.googleapis.com; the mock's is
// http://127.0.0.1:9000), without the version: it returns
// /v1beta/models/{model}:{action}, and for a streamed generateContent
// /v1beta/models/{model}:streamGenerateContent?alt=sse (SSE rather than
// Gemini's default JSON array). A model named with its "models/" prefix
// loses it; a tuned model ("tunedModels/x") keeps its own collection.
func UpstreamPath(model, action string, stream bool) string {
	if stream && (action == ActionGenerate || action == ActionStreamGenerate) {
		action = ActionStreamGenerate + "?alt=sse"
	}
	model = trimModels(model)
	if rest, ok := strings.CutPrefix(model, "tunedModels/"); ok {
		return "/v1beta/tunedModels/" + url.PathEscape(rest) + ":" + action
	}
	// Escaped: a pattern model forwards the name a client asked for, which
	// must stay one path segment.
	return "/v1beta/models/" + url.PathEscape(model) + ":" + action
}

// UpstreamURL joins a base_url and UpstreamPath, tolerating a base_url
// written with the version (".../v1beta") or a trailing slash.
func UpstreamURL(base, model, action string, stream bool) string {
	base = strings.TrimSuffix(base, "/")
	base = strings.TrimSuffix(base, "/v1beta")
	return base + UpstreamPath(model, action, stream)
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

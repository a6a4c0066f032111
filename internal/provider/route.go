package provider

import (
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider/bedrock"
	"github.com/sluice-gw/sluice/internal/provider/gemini"
)

// ServeOp returns the operation the provider performs for a client request
// of op: op itself when the provider speaks op's format (the same-format
// passthrough), the operation of its own format that op translates to, or
// 0 when it cannot serve op at all (embeddings from a provider without
// them, Anthropic's count_tokens elsewhere, legacy completions outside
// OpenAI's format).
//
// Azure OpenAI serves the Responses API of no deployment Sluice can count
// on: a Responses request to it is translated to chat.
func (up *Upstream) ServeOp(op Operation) Operation {
	switch {
	case op.Generates():
		switch up.kind {
		case kindOpenAI:
			if op == OpResponses {
				return OpResponses
			}
			return OpChat
		case kindAzure:
			return OpChat
		case kindAnthropic:
			return OpMessages
		case kindGemini:
			return OpGenerate
		case kindBedrock:
			return OpConverse
		}
	case op.Embeds():
		switch up.kind {
		case kindOpenAI, kindAzure:
			return OpEmbeddings
		case kindGemini:
			return OpEmbedContent
		}
	case op == OpCompletions:
		if up.kind == kindOpenAI || up.kind == kindAzure {
			return OpCompletions
		}
	case op == OpCountTokens:
		if up.kind == kindAnthropic {
			return OpCountTokens
		}
	}
	return 0
}

// OpPath appends to dst the path, below the provider's base URL, of a
// translated request of op (one ServeOp returned) to model, and returns
// the query it needs (empty: none). n is the number of inputs of an
// embeddings request (Gemini has a path for one and one for several).
func (up *Upstream) OpPath(dst []byte, op Operation, model string, stream bool, n int) ([]byte, []byte) {
	switch op {
	case OpChat:
		return append(dst, "/chat/completions"...), nil
	case OpResponses:
		return append(dst, "/responses"...), nil
	case OpEmbeddings:
		return append(dst, "/embeddings"...), nil
	case OpCompletions:
		return append(dst, "/completions"...), nil
	case OpMessages:
		return append(dst, "/messages"...), nil
	case OpCountTokens:
		return append(dst, "/messages/count_tokens"...), nil
	case OpGenerate, OpEmbedContent:
		// Gemini's path names the model ("models/x" or a tuned model's
		// "tunedModels/x" as well) and the action.
		action := gemini.ActionGenerate
		if op == OpEmbedContent {
			action = gemini.EmbedAction(n)
		}
		p := gemini.UpstreamPath(model, action, stream)
		if i := strings.IndexByte(p, '?'); i >= 0 {
			return append(dst, p[:i]...), []byte(p[i+1:])
		}
		return append(dst, p...), nil
	case OpConverse:
		return append(dst, bedrock.UpstreamPath(model, stream)...), nil
	}
	return dst, nil
}

// Sign signs a request whose body is final, for the kinds that sign
// requests (Bedrock's SigV4); a no-op for the others.
func (up *Upstream) Sign(req *fasthttp.Request, body []byte) error {
	if up.signer == nil {
		return nil
	}
	return up.signer.Sign(req, body, time.Now())
}

// NewEventStreamReader returns a reader of an AWS event stream's messages
// (Bedrock's ConverseStream), each as its event type and payload, none
// larger than maxMessage bytes (the relay's bound on one event).
func NewEventStreamReader(r io.Reader, maxMessage int) func() (name, payload []byte, err error) {
	return bedrock.NewEventReader(r, maxMessage).Next
}

// EmbedErrorOp is the generating operation of the format of an embeddings
// operation: its errors are written as that operation's are.
func EmbedErrorOp(op Operation) Operation {
	if op == OpEmbedContent {
		return OpGenerate
	}
	return OpChat
}

package wire

// Operation is what a model route does; it decides which fields matter and
// how usage is reported.
type Operation uint8

// Operations on model routes.
const (
	OpChat        Operation = iota + 1 // /v1/chat/completions
	OpCompletions                      // /v1/completions
	OpEmbeddings                       // /v1/embeddings
	OpResponses                        // /v1/responses
	OpMessages                         // /v1/messages (Anthropic)
	OpCountTokens                      // /v1/messages/count_tokens (Anthropic)
)

// String names the operation for logs and the OpenTelemetry operation name.
func (o Operation) String() string {
	switch o {
	case OpChat:
		return "chat"
	case OpCompletions:
		return "text_completion"
	case OpEmbeddings:
		return "embeddings"
	case OpResponses:
		return "responses"
	case OpMessages:
		return "messages"
	case OpCountTokens:
		return "count_tokens"
	}
	return "unknown"
}

// Streams reports whether the operation can stream its reply.
func (o Operation) Streams() bool {
	return o == OpChat || o == OpCompletions || o == OpResponses || o == OpMessages
}

// InjectsUsage reports whether a streamed request of this operation needs
// stream_options.include_usage for the upstream to report usage.
func (o Operation) InjectsUsage() bool { return o == OpChat || o == OpCompletions }

// HasReplyText reports whether a reply to the operation carries model text
// for the output guardrails: embeddings and token counts do not.
func (o Operation) HasReplyText() bool {
	return o == OpChat || o == OpCompletions || o == OpResponses || o == OpMessages
}

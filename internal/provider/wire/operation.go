package wire

// Operation is what a model route does; it decides which fields matter and
// how usage is reported.
type Operation uint8

// Operations on model routes.
const (
	OpChat         Operation = iota + 1 // /v1/chat/completions
	OpCompletions                       // /v1/completions
	OpEmbeddings                        // /v1/embeddings
	OpResponses                         // /v1/responses
	OpMessages                          // /v1/messages (Anthropic)
	OpCountTokens                       // /v1/messages/count_tokens (Anthropic)
	OpGenerate                          // models/{model}:generateContent, :streamGenerateContent (Gemini)
	OpEmbedContent                      // models/{model}:embedContent, :batchEmbedContents (Gemini)
	OpConverse                          // /model/{modelId}/converse, /converse-stream (Bedrock; upstream only)
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
	case OpGenerate:
		return "generate_content"
	case OpEmbedContent:
		return "embed_content"
	case OpConverse:
		return "converse"
	}
	return "unknown"
}

// Streams reports whether the operation can stream its reply.
func (o Operation) Streams() bool {
	return o == OpChat || o == OpCompletions || o == OpResponses || o == OpMessages || o == OpGenerate || o == OpConverse
}

// InjectsUsage reports whether a streamed request of this operation needs
// stream_options.include_usage for the upstream to report usage.
func (o Operation) InjectsUsage() bool { return o == OpChat || o == OpCompletions }

// HasReplyText reports whether a reply to the operation carries model text
// for the output guardrails: embeddings and token counts do not.
func (o Operation) HasReplyText() bool {
	return o == OpChat || o == OpCompletions || o == OpResponses || o == OpMessages || o == OpGenerate || o == OpConverse
}

// Generates reports whether the operation asks a model for a reply to a
// conversation: the operations translation maps onto one another.
func (o Operation) Generates() bool {
	return o == OpChat || o == OpResponses || o == OpMessages || o == OpGenerate || o == OpConverse
}

// Embeds reports whether the operation asks for embeddings.
func (o Operation) Embeds() bool { return o == OpEmbeddings || o == OpEmbedContent }

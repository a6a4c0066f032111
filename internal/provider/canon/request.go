package canon

// Request is a model request in canonical form: the union of what the chat
// operations of every format carry (OpenAI chat completions and Responses,
// Anthropic messages, Gemini generateContent, Bedrock Converse).
//
// Numbers the formats share (temperature, top_p, ...) are kept as the
// client sent them, raw JSON numbers, so that translation never changes a
// value by a float round trip; empty means "not set".
type Request struct {
	// Model is the model name as the upstream must receive it (the gateway
	// sets the target's model before encoding).
	Model string
	// Stream: the client asked for a streamed reply (a body field in
	// OpenAI and Anthropic, the URL in Gemini and Bedrock: the gateway sets
	// it from the route for those).
	Stream bool
	// IncludeUsage: an OpenAI client asked for the usage chunk
	// (stream_options.include_usage). Encoders of OpenAI requests always
	// ask the upstream for it; the caller's encoder sends it only when set.
	IncludeUsage bool

	// System is the system prompt (OpenAI system and developer messages,
	// Anthropic system, Gemini systemInstruction, Bedrock system), as text
	// parts that may carry cache breakpoints.
	System []Part
	// Messages is the conversation, oldest first.
	Messages []Message

	Tools      []Tool
	ToolChoice ToolChoice
	// ParallelTools is the client's parallel_tool_calls (or Anthropic's
	// disable_parallel_tool_use, inverted): TriUnset when it said nothing.
	ParallelTools Tri

	// MaxTokens bounds the reply's tokens (max_tokens,
	// max_completion_tokens, max_output_tokens, maxOutputTokens,
	// inferenceConfig.maxTokens); 0: not set. Anthropic requires one: its
	// encoder sets a documented default per model when 0.
	MaxTokens int64
	// Raw JSON numbers; empty: not set.
	Temperature, TopP, TopK, FrequencyPenalty, PresencePenalty, Seed []byte
	// Stop sequences.
	Stop []string
	// N is the number of choices asked for; 0 or 1 is the only value every
	// format carries (decoders refuse more where the upstream cannot).
	N int64

	// Format is the structured output asked for.
	Format ResponseFormat
	// Reasoning is what the client asked of the model's reasoning.
	Reasoning Reasoning

	// User is the end user (OpenAI user, Anthropic metadata.user_id,
	// Responses user / safety_identifier).
	User string
	// Metadata are string pairs the client attached (OpenAI metadata);
	// carried where the upstream takes them, dropped otherwise.
	Metadata []KV
	// ServiceTier is the client's service_tier (OpenAI, Anthropic),
	// carried to the upstreams that take one (Bedrock's priority, flex
	// and default included) and dropped elsewhere.
	ServiceTier string

	// Store is the Responses API's store flag (TriUnset: absent). A
	// translated request is stateless: the gateway refuses store true and
	// previous_response_id to an upstream that is not Responses.
	Store Tri
	// PreviousResponseID is the Responses API's previous_response_id.
	PreviousResponseID string
}

// Tri is a boolean a client may leave unset.
type Tri uint8

// Tri values.
const (
	TriUnset Tri = iota
	TriFalse
	TriTrue
)

// TriOf returns the Tri of b.
func TriOf(b bool) Tri {
	if b {
		return TriTrue
	}
	return TriFalse
}

// Role is who speaks a message.
type Role uint8

// Roles. Tool results travel as parts of kind PartToolResult in a RoleUser
// message (as Anthropic, Gemini and Bedrock carry them); OpenAI's decoder
// turns its role "tool" messages into such parts, merging consecutive ones
// into one message, and its encoder splits them out again.
const (
	RoleUser Role = iota + 1
	RoleAssistant
)

// Message is one turn of the conversation.
type Message struct {
	Role  Role
	Parts []Part
}

// PartKind is what a part of a message holds.
type PartKind uint8

// Part kinds.
const (
	PartText PartKind = iota + 1
	// PartImage: MediaType and Data (base64) or URL.
	PartImage
	// PartDocument: a file such as a PDF, MediaType and Data (base64) or
	// URL; Name is its file name or title where the format has one.
	PartDocument
	// PartToolCall: the model calls tool Name with arguments Args (a JSON
	// object as text) under id ID.
	PartToolCall
	// PartToolResult: the result of call ID (Name, when the format names
	// it: Gemini's functionResponse does), as Content parts (text, images);
	// IsError marks a failed call.
	PartToolResult
	// PartThinking: the model's reasoning text, with Signature where the
	// vendor signs it (Anthropic, Bedrock, Gemini); Redacted holds a
	// redacted or encrypted block's opaque data (Anthropic
	// redacted_thinking, OpenAI reasoning encrypted_content), beside the
	// summary in Text where OpenAI sends both. Gemini signs the part after
	// its thinking: its decoder carries that signature as a thinking part
	// with no text before the signed part, and its encoder puts it back.
	PartThinking
	// PartRefusal: the model declined (OpenAI refusal); other formats
	// carry it as text.
	PartRefusal
)

// Part is one piece of a message's content. Which fields mean something
// depends on Kind (see the kinds).
type Part struct {
	Kind PartKind
	Text string

	MediaType string // image/png, application/pdf, ...
	Data      string // base64, no data: prefix
	URL       string
	Name      string // tool name; document name
	Detail    string // OpenAI image detail (low, high, auto)

	ID        string // tool call id
	Args      string // tool call arguments, a JSON object as text
	Content   []Part // tool result content
	IsError   bool
	Signature string
	Redacted  string

	// Cache is a prompt-cache breakpoint on this part (Anthropic
	// cache_control, Bedrock cachePoint after it).
	Cache Cache
}

// Cache is a prompt-cache breakpoint.
type Cache struct {
	// Set: the client placed a breakpoint here.
	Set bool
	// TTL is the breakpoint's lifetime as Anthropic writes it ("5m",
	// "1h"); empty: the vendor's default (5 minutes).
	TTL string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Schema is the parameters' JSON Schema as JSON text (Gemini's
	// upper-case type names are mapped to JSON Schema's by its decoder and
	// back by its encoder); empty: no parameters.
	Schema string
	// Strict is OpenAI's strict flag (carried to OpenAI and Anthropic's
	// strict tool use).
	Strict bool
	Cache  Cache
}

// ToolChoiceMode is how the model must use tools.
type ToolChoiceMode uint8

// Tool choice modes.
const (
	ToolAuto     ToolChoiceMode = iota // the model decides (also: unset)
	ToolNone                           // no tool call
	ToolRequired                       // at least one tool call (Anthropic any, Gemini ANY)
	ToolNamed                          // the tool Name
)

// ToolChoice is the client's tool_choice.
type ToolChoice struct {
	Mode ToolChoiceMode
	Name string // ToolNamed
	// Set: the client sent a tool choice (encoders send one only then, so
	// that an upstream's own default stands).
	Set bool
}

// FormatKind is the structured output a request asks for.
type FormatKind uint8

// Response formats.
const (
	FormatText       FormatKind = iota // plain text (also: unset)
	FormatJSONObject                   // any JSON object
	FormatJSONSchema                   // JSON matching Schema
)

// ResponseFormat is the structured output asked for.
type ResponseFormat struct {
	Kind   FormatKind
	Name   string // the schema's name (OpenAI requires one)
	Schema string // JSON Schema as JSON text
	Strict bool
}

// Reasoning is what a request asks of the model's reasoning (OpenAI
// reasoning_effort / reasoning.effort, Anthropic thinking, Gemini
// thinkingConfig, Bedrock additionalModelRequestFields.thinking).
type Reasoning struct {
	// Effort is the effort as clients write it: "minimal", "low",
	// "medium", "high", and the higher "xhigh" and "max" some send
	// ("none" decodes to Disabled); empty: not set. Encoders of budget
	// formats map it to a documented budget, encoders of effort formats
	// one they do not know to the nearest they do.
	Effort string
	// Budget is a token budget for thinking (Anthropic budget_tokens,
	// Gemini thinkingBudget); 0: not set; negative: the model decides
	// (Gemini's -1). Encoders of effort formats map it to a documented
	// effort.
	Budget int64
	// Disabled: the client turned thinking off explicitly.
	Disabled bool
	// Summary is the Responses API's reasoning.summary ("auto", "concise",
	// "detailed"); Gemini's includeThoughts maps to "auto".
	Summary string
}

// KV is a string pair.
type KV struct{ Key, Value string }

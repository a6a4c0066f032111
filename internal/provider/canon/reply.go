package canon

import "github.com/sluice-gw/sluice/internal/provider/wire"

// Reply is a complete (non-streamed) model reply in canonical form.
type Reply struct {
	// ID is the upstream's id of the reply; encoders of formats whose ids
	// have a shape (chatcmpl-, msg_, resp_) write it as it came: clients
	// do not parse ids.
	ID    string
	Model string // the model that answered, as the upstream named it
	// Created is the reply's Unix time in seconds (0: the encoder uses the
	// current time).
	Created int64
	// Parts are the assistant's content in order: text, thinking,
	// refusal and tool calls.
	Parts []Part
	Stop  Stop
	Usage Usage
}

// StopReason is why the model stopped.
type StopReason uint8

// Stop reasons, and how each format names them:
//
//	canon        OpenAI chat       Responses status      Anthropic       Gemini       Bedrock
//	StopEnd      stop              completed             end_turn        STOP         end_turn
//	StopLength   length            incomplete            max_tokens      MAX_TOKENS   max_tokens, model_context_window_exceeded
//	StopSequence stop              completed             stop_sequence   STOP         stop_sequence
//	StopTool     tool_calls        completed             tool_use        STOP         tool_use
//	StopFilter   content_filter    incomplete            refusal         SAFETY, ...  content_filtered, guardrail_intervened
//	StopPause    stop              completed             pause_turn      STOP         end_turn
//
// A decoder maps a reason it does not know to StopEnd and keeps its name in
// Stop.Raw, which an encoder of the same vendor may use.
const (
	StopNone StopReason = iota // not known yet (streams)
	StopEnd
	StopLength
	StopSequence
	StopTool
	StopFilter
	StopPause
)

// Stop is why and where the model stopped.
type Stop struct {
	Reason   StopReason
	Sequence string // the stop sequence that matched (StopSequence)
	Raw      string // the upstream's own name for the reason
}

// Usage is a reply's token usage (wire.Usage: the gateway accounts,
// prices and logs the same value the codecs read and write).
type Usage = wire.Usage

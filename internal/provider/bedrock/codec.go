package bedrock

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// ConverseCodec returns the codec of Converse and ConverseStream. Bedrock
// is never a client's format, so DecodeRequest, EncodeReply and NewEncoder
// are nil.
func ConverseCodec() canon.Codec {
	return canon.Codec{
		EncodeRequest: EncodeRequest,
		DecodeReply:   DecodeReply,
		NewDecoder:    NewDecoder,
		DecodeError:   DecodeError,
	}
}

// stopOf maps a Converse stopReason to the canonical stop (the name kept
// in Raw):
//
//	end_turn                       StopEnd
//	tool_use                       StopTool
//	max_tokens                     StopLength
//	model_context_window_exceeded  StopLength (the context filled up)
//	stop_sequence                  StopSequence
//	guardrail_intervened           StopFilter
//	content_filtered               StopFilter
//	anything else                  StopEnd (malformed_model_output, malformed_tool_use, ...)
func stopOf(reason string) canon.Stop {
	s := canon.Stop{Reason: canon.StopEnd, Raw: reason}
	switch reason {
	case "tool_use":
		s.Reason = canon.StopTool
	case "max_tokens", "model_context_window_exceeded":
		s.Reason = canon.StopLength
	case "stop_sequence":
		s.Reason = canon.StopSequence
	case "guardrail_intervened", "content_filtered":
		s.Reason = canon.StopFilter
	}
	return s
}

// stopReason is the Converse name of a canonical stop, the inverse of
// stopOf (Raw wins when it is a Converse name for the same reason).
func stopReason(s canon.Stop) string {
	if s.Raw != "" && stopOf(s.Raw).Reason == s.Reason {
		return s.Raw
	}
	switch s.Reason {
	case canon.StopTool:
		return "tool_use"
	case canon.StopLength:
		return "max_tokens"
	case canon.StopSequence:
		return "stop_sequence"
	case canon.StopFilter:
		return "content_filtered"
	}
	return "end_turn"
}

// readUsage reads a Converse TokenUsage object. Converse's inputTokens
// counts only the prompt tokens neither read from nor written to the
// cache (cacheReadInputTokens and cacheWriteInputTokens are reported
// apart, as Anthropic does, and totalTokens adds all four); canonical
// Input counts every prompt token, so it is the sum of the three.
// cacheDetails' 1h entry gives CacheWrite1h. Bedrock reports no reasoning
// tokens apart from outputTokens.
func readUsage(u gjson.Result) (canon.Usage, bool) {
	var c canon.Usage
	if !u.IsObject() {
		return c, false
	}
	c.Valid = true
	c.CacheRead = u.Get("cacheReadInputTokens").Int()
	c.CacheWrite = u.Get("cacheWriteInputTokens").Int()
	c.Input = u.Get("inputTokens").Int() + c.CacheRead + c.CacheWrite
	c.Output = u.Get("outputTokens").Int()
	if d := u.Get("cacheDetails"); d.IsArray() {
		d.ForEach(func(_, e gjson.Result) bool {
			if e.Get("ttl").Str == "1h" {
				c.CacheWrite1h += e.Get("inputTokens").Int()
			}
			return true
		})
	}
	return c, true
}

// family is the model vendor a model id names, where the id names one
// (base model ids, inference profile ids like us.anthropic.…, and
// foundation-model ARNs do; provisioned throughput and application
// inference profile ARNs do not: "").
func family(model string) string {
	switch {
	case strings.Contains(model, "anthropic."):
		return "anthropic"
	case strings.Contains(model, "amazon.nova"):
		return "nova"
	case strings.Contains(model, "mistral."):
		return "mistral"
	}
	return ""
}

// str returns s's string value as an owned string: a view into the body
// (no escapes: Str lies within Raw) is cloned, an unescaped copy kept.
func str(s gjson.Result) string {
	if s.Type != gjson.String {
		return ""
	}
	if len(s.Raw) == len(s.Str)+2 {
		return strings.Clone(s.Str)
	}
	return s.Str
}

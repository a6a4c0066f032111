package gemini

import (
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// decodeReply reads a GenerateContentResponse: its first candidate (a
// request asks for one), its usage, modelVersion and responseId.
func decodeReply(body []byte, r *canon.Reply) error {
	r.Reset()
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return canon.Fieldf("body", "must be a JSON object (a GenerateContentResponse)")
	}
	r.ID = own(field(root, "responseId", "response_id"))
	r.Model = own(field(root, "modelVersion", "model_version"))
	if t := field(root, "createTime", "create_time"); t.Type == gjson.String {
		if at, err := time.Parse(time.RFC3339Nano, t.Str); err == nil {
			r.Created = at.Unix()
		}
	}
	r.Usage = readUsage(field(root, "usageMetadata", "usage_metadata"))
	cand := root.Get("candidates.0")
	if !cand.Exists() {
		// No candidate: the prompt was blocked.
		if br := field(field(root, "promptFeedback", "prompt_feedback"), "blockReason", "block_reason"); br.Exists() {
			r.Stop = canon.Stop{Reason: canon.StopFilter, Raw: own(br)}
		}
		return nil
	}
	tool := false
	field(field(cand, "content", "content"), "parts", "parts").ForEach(func(_, p gjson.Result) bool {
		var rp replyPart
		rp.read(p)
		if rp.sig.Exists() && !rp.thought {
			r.Parts = append(r.Parts, canon.Part{Kind: canon.PartThinking, Signature: own(rp.sig)})
		}
		switch {
		case rp.thought:
			r.Parts = append(r.Parts, canon.Part{Kind: canon.PartThinking, Text: own(rp.text), Signature: own(rp.sig)})
		case rp.call.Exists():
			tool = true
			r.Parts = append(r.Parts, canon.Part{Kind: canon.PartToolCall, ID: rp.callID(r.ID, countCalls(r.Parts)),
				Name: own(field(rp.call, "name", "name")), Args: rp.args()})
		case rp.text.Type == gjson.String && (rp.text.Str != "" || !rp.sig.Exists()):
			r.Parts = append(r.Parts, canon.Part{Kind: canon.PartText, Text: own(rp.text)})
		}
		return true
	})
	r.Stop = finishStop(field(cand, "finishReason", "finish_reason").Str, tool)
	return nil
}

// field returns v's member camel, or its proto spelling snake.
func field(v gjson.Result, camel, snake string) gjson.Result {
	if r := v.Get(camel); r.Exists() || camel == snake {
		return r
	}
	return v.Get(snake)
}

// replyPart is what a reply's Part holds that a decoder reads. Other data
// (inlineData of an image model, executableCode, ...) is dropped
// (TRANSLATION.md).
type replyPart struct {
	text, call, sig gjson.Result
	thought         bool
}

func (rp *replyPart) read(p gjson.Result) {
	p.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "text":
			rp.text = v
		case "functionCall", "function_call":
			rp.call = v
		case "thought":
			rp.thought = v.Type == gjson.True
		case "thoughtSignature", "thought_signature":
			rp.sig = v
		}
		return true
	})
}

// callID returns the call's id, or one made from the reply's id and the
// call's position when Gemini sent none (Gemini 2.5 does not): unique
// across the turns of a conversation, which other formats require.
func (rp *replyPart) callID(replyID string, n int) string {
	if id := field(rp.call, "id", "id"); id.Str != "" {
		return own(id)
	}
	if replyID == "" {
		return callID(n)
	}
	return "call_" + replyID + "_" + strconv.Itoa(n)
}

// args returns the call's arguments as JSON text ({} when none).
func (rp *replyPart) args() string {
	if a := field(rp.call, "args", "args"); a.IsObject() {
		return ownRaw(a)
	}
	return "{}"
}

// countCalls counts the tool calls in parts.
func countCalls(parts []canon.Part) int {
	n := 0
	for i := range parts {
		if parts[i].Kind == canon.PartToolCall {
			n++
		}
	}
	return n
}

// finishStop maps a finishReason per canon's table; a reply with a
// function call says STOP, which is StopTool.
func finishStop(reason string, tool bool) canon.Stop {
	st := canon.Stop{Raw: reason}
	switch reason {
	case "":
		st.Raw = ""
		return st
	case "STOP":
		st.Reason = canon.StopEnd
		if tool {
			st.Reason = canon.StopTool
		}
	case "MAX_TOKENS":
		st.Reason = canon.StopLength
	case "SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		st.Reason = canon.StopFilter
	default:
		// OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, ...: kept
		// in Raw for a Gemini client.
		st.Reason = canon.StopEnd
	}
	return st
}

// finishReason is the finishReason a Gemini client gets for st: the
// upstream's own when it was Gemini's, else per canon's table.
func finishReason(st *canon.Stop) string {
	if isFinishReason(st.Raw) && finishStop(st.Raw, st.Reason == canon.StopTool).Reason == st.Reason {
		return st.Raw
	}
	switch st.Reason {
	case canon.StopLength:
		return "MAX_TOKENS"
	case canon.StopFilter:
		return "SAFETY"
	}
	return "STOP"
}

// isFinishReason reports whether s is one of Gemini's finish reasons.
func isFinishReason(s string) bool {
	switch s {
	case "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST",
		"PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL", "IMAGE_SAFETY",
		"IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER", "NO_IMAGE", "IMAGE_RECITATION",
		"UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE",
		"MALFORMED_RESPONSE", "FINISH_REASON_UNSPECIFIED":
		return true
	}
	return false
}

// readUsage reads a usageMetadata object. Gemini counts thoughts apart
// from candidatesTokenCount; canon's Output includes them (Reasoning says
// how many). Input is promptTokenCount, cached tokens included, plus the
// tool-use prompt tokens Gemini also bills as input.
func readUsage(u gjson.Result) canon.Usage {
	var out canon.Usage
	if !u.IsObject() {
		return out
	}
	out.Valid = true
	u.ForEach(func(k, v gjson.Result) bool {
		n, _ := intValue(v)
		switch fieldName(k.Str) {
		case "promptTokenCount", "toolUsePromptTokenCount":
			out.Input += n
		case "candidatesTokenCount":
			out.Output += n
		case "thoughtsTokenCount":
			out.Output += n
			out.Reasoning = n
		case "cachedContentTokenCount":
			out.CacheRead = n
		}
		return true
	})
	return out
}

// appendUsage appends u as a usageMetadata object.
func appendUsage(dst []byte, u *canon.Usage) []byte {
	dst = append(dst, `{"promptTokenCount":`...)
	dst = strconv.AppendInt(dst, u.Input, 10)
	dst = append(dst, `,"candidatesTokenCount":`...)
	dst = strconv.AppendInt(dst, max(u.Output-u.Reasoning, 0), 10)
	dst = append(dst, `,"totalTokenCount":`...)
	dst = strconv.AppendInt(dst, u.Input+u.Output, 10)
	if u.CacheRead > 0 {
		dst = append(dst, `,"cachedContentTokenCount":`...)
		dst = strconv.AppendInt(dst, u.CacheRead, 10)
	}
	if u.Reasoning > 0 {
		dst = append(dst, `,"thoughtsTokenCount":`...)
		dst = strconv.AppendInt(dst, u.Reasoning, 10)
	}
	return append(dst, '}')
}

// encodeReply appends r as a GenerateContentResponse.
func encodeReply(dst []byte, r *canon.Reply, _ *canon.Request) []byte {
	dst = append(dst, `{"candidates":[{"content":{"parts":[`...)
	n := 0
	sig := ""
	for i := range r.Parts {
		p := &r.Parts[i]
		if p.Kind == canon.PartThinking && p.Text == "" {
			if p.Signature != "" {
				if sig != "" {
					dst = appendSigOnly(dst, &n, sig)
				}
				sig = p.Signature
			}
			continue
		}
		switch p.Kind {
		case canon.PartText, canon.PartRefusal, canon.PartToolCall:
		case canon.PartThinking:
			if p.Signature != "" && sig != "" {
				dst = appendSigOnly(dst, &n, sig)
				sig = ""
			}
		default:
			continue // not a part of a reply
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendReplyPart(dst, p, p.Text, p.Args, &sig)
	}
	if sig != "" {
		dst = appendSigOnly(dst, &n, sig)
	}
	dst = append(dst, `],"role":"model"},"finishReason":"`...)
	dst = append(dst, finishReason(&r.Stop)...)
	dst = append(dst, `","index":0}]`...)
	if r.Usage.Valid {
		dst = append(dst, `,"usageMetadata":`...)
		dst = appendUsage(dst, &r.Usage)
	}
	return appendTail(dst, r.Model, r.ID)
}

// appendReplyPart appends one part of a reply with text (or, for a tool
// call, args) and the pending signature *sig, which it clears.
func appendReplyPart(dst []byte, p *canon.Part, text, args string, sig *string) []byte {
	switch p.Kind {
	case canon.PartToolCall:
		dst = append(dst, `{"functionCall":{`...)
		if p.ID != "" {
			dst = append(dst, `"id":`...)
			dst = wire.AppendJSONString(dst, p.ID)
			dst = append(dst, ',')
		}
		dst = append(dst, `"name":`...)
		dst = wire.AppendJSONString(dst, p.Name)
		dst = append(dst, `,"args":`...)
		dst = appendArgs(dst, args)
		dst = append(dst, '}')
	default:
		dst = append(dst, `{"text":`...)
		dst = wire.AppendJSONString(dst, text)
		if p.Kind == canon.PartThinking {
			dst = append(dst, `,"thought":true`...)
			if p.Signature != "" {
				*sig = p.Signature
			}
		}
	}
	if *sig != "" {
		dst = append(dst, `,"thoughtSignature":`...)
		dst = wire.AppendJSONString(dst, *sig)
		*sig = ""
	}
	return append(dst, '}')
}

// appendTail appends ,"modelVersion",,"responseId" (those known) and the
// closing brace.
func appendTail(dst []byte, model, id string) []byte {
	if model != "" {
		dst = append(dst, `,"modelVersion":`...)
		dst = wire.AppendJSONString(dst, model)
	}
	if id != "" {
		dst = append(dst, `,"responseId":`...)
		dst = wire.AppendJSONString(dst, id)
	}
	return append(dst, '}')
}

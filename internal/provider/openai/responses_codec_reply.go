package openai

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// respNow is the clock of the encoders that need one (a reply without a
// creation time, every stream); tests pass their own.
func respNow() int64 { return time.Now().Unix() }

// respDecodeReply reads an upstream's response object into r: message
// items' output_text and refusal parts, function calls, and reasoning
// items; the output of hosted tools (which a translated request never
// enables) is skipped. A failed response is an error.
func respDecodeReply(body []byte, r *canon.Reply) error {
	r.Reset()
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return errors.New("responses reply is not a JSON object")
	}
	var status, reason, output, usage, errObj gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			r.ID = respStr(v)
		case "model":
			r.Model = respStr(v)
		case "created_at":
			r.Created = int64(v.Num)
		case "status":
			status = v
		case "incomplete_details":
			reason = v.Get("reason")
		case "output":
			output = v
		case "usage":
			usage = v
		case "error":
			errObj = v
		}
		return true
	})
	if status.Str == "failed" {
		msg := errObj.Get("message").Str
		if msg == "" {
			msg = "no message"
		}
		return errors.New("responses reply has status failed: " + msg)
	}
	output.ForEach(func(_, item gjson.Result) bool {
		respReplyItem(item, r)
		return true
	})
	r.Stop = respStopOf(status.Str, reason.Str, r.Parts)
	respReadUsage(usage, &r.Usage)
	return nil
}

// respStopOf returns the canonical stop of a response's status and
// incomplete reason: completed is a tool stop when the output calls a
// function.
func respStopOf(status, reason string, parts []canon.Part) canon.Stop {
	if status == "incomplete" {
		switch reason {
		case "max_output_tokens":
			return canon.Stop{Reason: canon.StopLength, Raw: reason}
		case "content_filter":
			return canon.Stop{Reason: canon.StopFilter, Raw: reason}
		}
		return canon.Stop{Reason: canon.StopEnd, Raw: reason}
	}
	for i := range parts {
		if parts[i].Kind == canon.PartToolCall {
			return canon.Stop{Reason: canon.StopTool, Raw: status}
		}
	}
	return canon.Stop{Reason: canon.StopEnd, Raw: status}
}

func respReplyItem(item gjson.Result, r *canon.Reply) {
	switch item.Get("type").Str {
	case "message":
		item.Get("content").ForEach(func(_, c gjson.Result) bool {
			switch c.Get("type").Str {
			case "output_text":
				r.Parts = append(r.Parts, canon.Part{Kind: canon.PartText, Text: respStr(c.Get("text"))})
			case "refusal":
				r.Parts = append(r.Parts, canon.Part{Kind: canon.PartRefusal, Text: respStr(c.Get("refusal"))})
			}
			return true
		})
	case "function_call":
		r.Parts = append(r.Parts, canon.Part{Kind: canon.PartToolCall, ID: respStr(item.Get("call_id")),
			Name: respStr(item.Get("name")), Args: respStr(item.Get("arguments"))})
	case "reasoning":
		it := respItem{id: item.Get("id"), summary: item.Get("summary"), content: item.Get("content"),
			enc: item.Get("encrypted_content")}
		if p, err := respDecodeReasoningItem(&it, 0); err == nil {
			r.Parts = append(r.Parts, p)
		}
	}
}

// respReadUsage reads a usage object (absent or null: u stays unset).
func respReadUsage(v gjson.Result, u *canon.Usage) {
	if !v.IsObject() {
		return
	}
	u.Valid = true
	v.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "input_tokens":
			u.Input = f.Int()
		case "output_tokens":
			u.Output = f.Int()
		case "input_tokens_details":
			u.CacheRead = f.Get("cached_tokens").Int()
		case "output_tokens_details":
			u.Reasoning = f.Get("reasoning_tokens").Int()
		}
		return true
	})
}

// respEncodeReply appends r as a response object answering req.
func respEncodeReply(dst []byte, r *canon.Reply, req *canon.Request) []byte {
	created := r.Created
	if created == 0 {
		created = respNow()
	}
	o := respResp{id: r.ID, model: r.Model, created: created, parts: r.Parts, usage: &r.Usage, req: req}
	o.status, o.reason = respStatusOf(r.Stop.Reason)
	if o.id == "" {
		o.id = respNewID()
	}
	if o.model == "" && req != nil {
		o.model = req.Model
	}
	return respAppendResponse(dst, &o)
}

// respNewID returns a fresh response id, for a reply that came without
// one.
func respNewID() string {
	b := make([]byte, 0, 37)
	b = append(b, "resp_"...)
	for range 2 {
		b = strconv.AppendUint(b, rand.Uint64()|1<<63, 16)
	}
	return string(b)
}

// respStatusOf returns the response status (and incomplete reason) a stop
// reason gives.
func respStatusOf(s canon.StopReason) (status, reason string) {
	switch s {
	case canon.StopLength:
		return "incomplete", "max_output_tokens"
	case canon.StopFilter:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// respResp is a response object to write.
type respResp struct {
	id, model string
	created   int64
	status    string       // in_progress, completed, incomplete, failed
	reason    string       // incomplete_details.reason
	err       *canon.Error // status failed
	parts     []canon.Part // the output
	usage     *canon.Usage // nil or not Valid: null
	req       *canon.Request
}

// respAppendResponse appends the response object o, with the request echo
// fields the SDKs require (parallel_tool_calls, temperature, tool_choice,
// tools, top_p, text, ...) taken from o.req.
func respAppendResponse(dst []byte, o *respResp) []byte {
	dst = append(dst, `{"id":`...)
	dst = wire.AppendJSONString(dst, o.id)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = strconv.AppendInt(dst, o.created, 10)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, o.status...)
	dst = append(dst, `","background":false,"error":`...)
	if o.err != nil {
		dst = append(dst, `{"code":`...)
		dst = wire.AppendJSONString(dst, respErrorCode(o.err))
		dst = append(dst, `,"message":`...)
		dst = wire.AppendJSONString(dst, o.err.Message)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	if o.reason != "" {
		dst = append(dst, `{"reason":"`...)
		dst = append(dst, o.reason...)
		dst = append(dst, `"}`...)
	} else {
		dst = append(dst, "null"...)
	}
	req := o.req
	if req == nil {
		req = &canon.Request{}
	}
	// instructions is echoed as null: the client has them, and they may
	// be long (SDKs accept null).
	dst = append(dst, `,"instructions":null,"max_output_tokens":`...)
	if req.MaxTokens > 0 {
		dst = strconv.AppendInt(dst, req.MaxTokens, 10)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"model":`...)
	dst = wire.AppendJSONString(dst, o.model)
	dst = append(dst, `,"output":`...)
	dst = respAppendOutputItems(dst, o.parts, respIDBody(o.id), o.status)
	dst = append(dst, `,"parallel_tool_calls":`...)
	dst = strconv.AppendBool(dst, req.ParallelTools != canon.TriFalse)
	dst = append(dst, `,"previous_response_id":`...)
	if req.PreviousResponseID != "" {
		dst = wire.AppendJSONString(dst, req.PreviousResponseID)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"reasoning":{"effort":`...)
	dst = respAppendOrNull(dst, respEffort(&req.Reasoning))
	dst = append(dst, `,"summary":`...)
	dst = respAppendOrNull(dst, req.Reasoning.Summary)
	dst = append(dst, `},"service_tier":`...)
	if req.ServiceTier != "" {
		dst = wire.AppendJSONString(dst, req.ServiceTier)
	} else {
		dst = append(dst, `"default"`...)
	}
	dst = append(dst, `,"store":`...)
	dst = strconv.AppendBool(dst, req.Store == canon.TriTrue)
	dst = append(dst, `,"temperature":`...)
	dst = respAppendNumber(dst, req.Temperature)
	dst = append(dst, `,"text":{"format":`...)
	dst = respAppendFormat(dst, &req.Format)
	dst = append(dst, `},"tool_choice":`...)
	dst = respAppendToolChoice(dst, &req.ToolChoice)
	dst = append(dst, `,"tools":`...)
	dst = respAppendTools(dst, req.Tools)
	dst = append(dst, `,"top_p":`...)
	dst = respAppendNumber(dst, req.TopP)
	dst = append(dst, `,"truncation":"disabled","usage":`...)
	if o.usage != nil && o.usage.Valid {
		dst = respAppendUsage(dst, o.usage)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"user":`...)
	dst = respAppendOrNull(dst, req.User)
	dst = append(dst, `,"metadata":`...)
	dst = respAppendMetadata(dst, req.Metadata)
	return append(dst, '}')
}

func respAppendOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return wire.AppendJSONString(dst, s)
}

// respAppendNumber appends a raw number, or OpenAI's default of 1 for
// temperature and top_p.
func respAppendNumber(dst, raw []byte) []byte {
	if len(raw) == 0 {
		return append(dst, "1.0"...)
	}
	return append(dst, raw...)
}

func respAppendUsage(dst []byte, u *canon.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input, 10)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheRead, 10)
	dst = append(dst, `},"output_tokens":`...)
	dst = strconv.AppendInt(dst, u.Output, 10)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = strconv.AppendInt(dst, u.Reasoning, 10)
	dst = append(dst, `},"total_tokens":`...)
	dst = strconv.AppendInt(dst, u.Input+u.Output, 10)
	return append(dst, '}')
}

// respInMessage reports whether a part of kind k goes in a message item
// (text and refusals do; runs of them share one).
func respInMessage(k canon.PartKind) bool { return k == canon.PartText || k == canon.PartRefusal }

// respAppendOutputItems appends the output array: a reasoning item per
// thinking part, a message item per run of text and refusal parts, a
// function_call item per tool call. Other parts (images, documents) have
// no output item and are skipped. Item ids are made from the response
// id's body and the item's index; status is the response's.
func respAppendOutputItems(dst []byte, parts []canon.Part, body, status string) []byte {
	dst = append(dst, '[')
	idx := -1
	for i := 0; i < len(parts); {
		p := &parts[i]
		switch {
		case respInMessage(p.Kind):
			j := i + 1
			for j < len(parts) && respInMessage(parts[j].Kind) {
				j++
			}
			idx++
			dst = respComma(dst, idx)
			dst = respAppendMessageItem(dst, body, idx, parts[i:j], status)
			i = j
			continue
		case p.Kind == canon.PartThinking:
			idx++
			dst = respComma(dst, idx)
			dst = respAppendReasoningItem(dst, p, body, idx, p.Text, true)
		case p.Kind == canon.PartToolCall:
			idx++
			dst = respComma(dst, idx)
			dst = respAppendCallItem(dst, p, body, idx, p.Args, true)
		}
		i++
	}
	return append(dst, ']')
}

func respComma(dst []byte, idx int) []byte {
	if idx > 0 {
		return append(dst, ',')
	}
	return dst
}

// respAppendMessageItem appends a message item holding parts, with status
// in_progress (an item just added, parts nil), incomplete in a failed
// response (cut by the failure), else completed (an item's status says
// whether the item is whole, which it is once written in full, even in a
// response that max_output_tokens made incomplete).
func respAppendMessageItem(dst []byte, body string, idx int, parts []canon.Part, status string) []byte {
	dst = append(dst, `{"id":`...)
	dst = respAppendItemID(dst, "msg_", body, idx)
	dst = append(dst, `,"type":"message","status":"`...)
	switch status {
	case "in_progress":
		dst = append(dst, "in_progress"...)
	case "failed":
		dst = append(dst, "incomplete"...)
	default:
		dst = append(dst, "completed"...)
	}
	dst = append(dst, `","content":[`...)
	for k := range parts {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = respAppendOutputPart(dst, parts[k].Kind, parts[k].Text)
	}
	return append(dst, `],"role":"assistant"}`...)
}

// respAppendOutputPart appends an output_text or refusal content part.
func respAppendOutputPart(dst []byte, kind canon.PartKind, text string) []byte {
	if kind == canon.PartRefusal {
		dst = append(dst, `{"type":"refusal","refusal":`...)
		dst = wire.AppendJSONString(dst, text)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	dst = wire.AppendJSONString(dst, text)
	return append(dst, '}')
}

// respAppendReasoningID appends a reasoning item's id: the part's own
// (an OpenAI upstream's rs_ id), or one made like the other items'.
func respAppendReasoningID(dst []byte, p *canon.Part, body string, idx int) []byte {
	if p.ID != "" {
		return wire.AppendJSONString(dst, p.ID)
	}
	return respAppendItemID(dst, "rs_", body, idx)
}

// respAppendReasoningItem appends a reasoning item with text as its one
// summary (none when empty) and, when done, the part's encrypted content:
// Redacted as it is, or Signature marked with respSigPrefix.
func respAppendReasoningItem(dst []byte, p *canon.Part, body string, idx int, text string, done bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = respAppendReasoningID(dst, p, body, idx)
	dst = append(dst, `,"type":"reasoning","summary":[`...)
	if text != "" {
		dst = append(dst, `{"type":"summary_text","text":`...)
		dst = wire.AppendJSONString(dst, text)
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if done {
		switch {
		case p.Redacted != "":
			dst = append(dst, `,"encrypted_content":`...)
			dst = wire.AppendJSONString(dst, p.Redacted)
		case p.Signature != "":
			dst = append(dst, `,"encrypted_content":"`...)
			dst = append(dst, respSigPrefix...)
			dst = respAppendJSONInner(dst, p.Signature)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"status":"completed"`...)
	} else {
		dst = append(dst, `,"status":"in_progress"`...)
	}
	return append(dst, '}')
}

// respAppendCallItem appends a function_call item with args as its
// arguments.
func respAppendCallItem(dst []byte, p *canon.Part, body string, idx int, args string, done bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = respAppendItemID(dst, "fc_", body, idx)
	dst = append(dst, `,"type":"function_call","status":"`...)
	if done {
		dst = append(dst, "completed"...)
	} else {
		dst = append(dst, "in_progress"...)
	}
	dst = append(dst, `","arguments":`...)
	dst = wire.AppendJSONString(dst, args)
	dst = append(dst, `,"call_id":`...)
	dst = wire.AppendJSONString(dst, p.ID)
	dst = append(dst, `,"name":`...)
	dst = wire.AppendJSONString(dst, p.Name)
	return append(dst, '}')
}

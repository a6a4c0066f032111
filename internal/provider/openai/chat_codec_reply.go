package openai

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

var (
	errChatNotObject = errors.New("openai chat reply is not a JSON object")
	errChatNoChoice  = errors.New("openai chat reply has no choices")
	errChatIsError   = errors.New("openai chat reply is an error")
)

// chatDecodeReply reads an upstream's chat.completion into r: the first
// choice's reasoning (reasoning_content, or vLLM's reasoning) as a
// thinking part, its content, refusal and tool calls, in that order; its
// finish_reason; usage.
func chatDecodeReply(body []byte, r *canon.Reply) error {
	r.Reset()
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return errChatNotObject
	}
	var choice gjson.Result
	isErr := false
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			r.ID = chatStr(v)
		case "model":
			r.Model = chatStr(v)
		case "created":
			r.Created = v.Int()
		case "choices":
			v.ForEach(func(_, c gjson.Result) bool {
				if c.Get("index").Int() == 0 {
					choice = c
					return false
				}
				return true
			})
		case "usage":
			chatReadUsage(&r.Usage, v)
		case "error":
			isErr = v.Type != gjson.Null
		}
		return true
	})
	if !choice.IsObject() {
		if isErr {
			return errChatIsError
		}
		return errChatNoChoice
	}
	msg := choice.Get("message")
	var content, refusal, reasoning, calls gjson.Result
	msg.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "reasoning_content", "reasoning":
			if v.Type == gjson.String && reasoning.Str == "" {
				reasoning = v
			}
		case "tool_calls":
			calls = v
		}
		return true
	})
	if reasoning.Str != "" {
		r.Parts = append(r.Parts, canon.Part{Kind: canon.PartThinking, Text: chatStr(reasoning)})
	}
	switch {
	case content.Type == gjson.String && content.Str != "":
		r.Parts = append(r.Parts, canon.Part{Kind: canon.PartText, Text: chatStr(content)})
	case content.IsArray():
		content.ForEach(func(_, p gjson.Result) bool {
			if t := p.Get("text"); t.Type == gjson.String {
				r.Parts = append(r.Parts, canon.Part{Kind: canon.PartText, Text: chatStr(t)})
			}
			return true
		})
	}
	if refusal.Type == gjson.String && refusal.Str != "" {
		r.Parts = append(r.Parts, canon.Part{Kind: canon.PartRefusal, Text: chatStr(refusal)})
	}
	calls.ForEach(func(_, tc gjson.Result) bool {
		fn := tc.Get("function")
		p := canon.Part{Kind: canon.PartToolCall, ID: chatStr(tc.Get("id")), Name: chatStr(fn.Get("name"))}
		switch args := fn.Get("arguments"); {
		case args.Type == gjson.String:
			p.Args = chatStr(args)
		case args.IsObject():
			p.Args = strings.Clone(args.Raw)
		}
		r.Parts = append(r.Parts, p)
		return true
	})
	if fr := choice.Get("finish_reason"); fr.Type == gjson.String {
		r.Stop = chatStopOf(fr.Str)
		chatStopSequence(&r.Stop, choice.Get("stop_reason"))
	}
	return nil
}

// chatEncodeReply appends r as the chat.completion a client gets: one
// choice whose content is the reply's texts joined (null when there are
// none but tool calls or a refusal, "" for an empty reply), refusal its refusals joined, reasoning_content its thinking text
// (DeepSeek's field, which OpenAI's SDKs keep as an extra field), and
// tool_calls its calls; usage when the upstream reported it. Signatures,
// redacted thinking and parts of other kinds are dropped.
func chatEncodeReply(dst []byte, r *canon.Reply, req *canon.Request) []byte {
	dst = append(dst, `{"id":`...)
	dst = chatAppendID(dst, r.ID)
	dst = append(dst, `,"object":"chat.completion","created":`...)
	dst = chatAppendCreated(dst, r.Created)
	dst = append(dst, `,"model":`...)
	dst = chatAppendModel(dst, r.Model, req)
	dst = append(dst, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	tools, refusal := chatHasKind(r.Parts, canon.PartToolCall), chatHasKind(r.Parts, canon.PartRefusal)
	if !tools && !refusal && !chatHasKind(r.Parts, canon.PartText) {
		dst = append(dst, `""`...)
	} else {
		dst = chatAppendJoined(dst, r.Parts, canon.PartText)
	}
	dst = append(dst, `,"refusal":`...)
	dst = chatAppendJoined(dst, r.Parts, canon.PartRefusal)
	if chatHasKind(r.Parts, canon.PartThinking) {
		dst = append(dst, `,"reasoning_content":`...)
		dst = chatAppendJoined(dst, r.Parts, canon.PartThinking)
	}
	if tools {
		dst = append(dst, `,"tool_calls":[`...)
		for i := range r.Parts {
			if p := &r.Parts[i]; p.Kind == canon.PartToolCall {
				dst = chatSep(dst)
				dst = chatAppendToolCall(dst, p, -1)
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"annotations":[]},"logprobs":null,"finish_reason":"`...)
	dst = append(dst, chatFinishReason(r.Stop, tools)...)
	dst = append(dst, `"}]`...)
	if r.Usage.Valid {
		dst = append(dst, `,"usage":`...)
		dst = chatAppendUsage(dst, &r.Usage)
	}
	return append(dst, '}')
}

// chatAppendID appends a reply's id, or one made up from the clock when
// the upstream gave none.
func chatAppendID(dst []byte, id string) []byte {
	if id != "" {
		return wire.AppendJSONString(dst, id)
	}
	dst = append(dst, `"chatcmpl-`...)
	dst = strconv.AppendInt(dst, time.Now().UnixNano(), 36)
	return append(dst, '"')
}

func chatAppendCreated(dst []byte, created int64) []byte {
	if created == 0 {
		created = time.Now().Unix()
	}
	return strconv.AppendInt(dst, created, 10)
}

// chatAppendModel appends the model that answered, or the one asked for
// when the upstream did not say.
func chatAppendModel(dst []byte, model string, req *canon.Request) []byte {
	if model == "" && req != nil {
		model = req.Model
	}
	return wire.AppendJSONString(dst, model)
}

func chatHasKind(parts []canon.Part, k canon.PartKind) bool {
	for i := range parts {
		if parts[i].Kind == k {
			return true
		}
	}
	return false
}

// chatAppendJoined appends the texts of the parts of kind k joined, as a
// JSON string, or null when there is none.
func chatAppendJoined(dst []byte, parts []canon.Part, k canon.PartKind) []byte {
	if !chatHasKind(parts, k) {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	for i := range parts {
		if parts[i].Kind == k {
			dst = chatAppendEscaped(dst, parts[i].Text)
		}
	}
	return append(dst, '"')
}

package openai

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// respEncodeRequest appends r as a stateless Responses request: the whole
// conversation in input, store false (unless r says true), and
// include ["reasoning.encrypted_content"] when the request reasons, so
// that the reply's reasoning can be sent back on the next turn.
func respEncodeRequest(dst []byte, r *canon.Request) ([]byte, error) {
	if len(r.Stop) > 0 {
		return dst, canon.Fieldf("stop", "the Responses API has no stop sequences; remove them or route to a chat completions upstream")
	}
	if r.N > 1 {
		return dst, canon.Fieldf("n", "the Responses API returns one reply; ask for n 1")
	}
	start := len(dst)
	dst = append(dst, `{"model":`...)
	dst = wire.AppendJSONString(dst, r.Model)
	if len(r.System) == 1 {
		dst = append(dst, `,"instructions":`...)
		dst = wire.AppendJSONString(dst, r.System[0].Text)
	}
	dst = append(dst, `,"input":[`...)
	n := 0 // items written
	if len(r.System) > 1 {
		// Several system parts: one developer message with a text part
		// each, which decodes back to the same parts.
		dst = append(dst, `{"type":"message","role":"developer","content":[`...)
		for i := range r.System {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"type":"input_text","text":`...)
			dst = wire.AppendJSONString(dst, r.System[i].Text)
			dst = append(dst, '}')
		}
		dst = append(dst, "]}"...)
		n++
	}
	reasons := r.Reasoning.Effort != "" || r.Reasoning.Budget > 0 || r.Reasoning.Summary != ""
	for i := range r.Messages {
		var err error
		var thought bool
		dst, n, thought, err = respEncodeMessage(dst, n, i, &r.Messages[i])
		if err != nil {
			return dst[:start], err
		}
		reasons = reasons || thought
	}
	dst = append(dst, ']')
	if len(r.Tools) > 0 {
		dst = append(dst, `,"tools":`...)
		dst = respAppendTools(dst, r.Tools)
	}
	if r.ToolChoice.Set {
		dst = append(dst, `,"tool_choice":`...)
		dst = respAppendToolChoice(dst, &r.ToolChoice)
	}
	if r.ParallelTools != canon.TriUnset {
		dst = append(dst, `,"parallel_tool_calls":`...)
		dst = strconv.AppendBool(dst, r.ParallelTools == canon.TriTrue)
	}
	if r.MaxTokens > 0 {
		dst = append(dst, `,"max_output_tokens":`...)
		dst = strconv.AppendInt(dst, r.MaxTokens, 10)
	}
	if len(r.Temperature) > 0 {
		dst = append(dst, `,"temperature":`...)
		dst = append(dst, r.Temperature...)
	}
	if len(r.TopP) > 0 {
		dst = append(dst, `,"top_p":`...)
		dst = append(dst, r.TopP...)
	}
	if effort := respEffort(&r.Reasoning); effort != "" || r.Reasoning.Summary != "" {
		dst = append(dst, `,"reasoning":{`...)
		if effort != "" {
			dst = append(dst, `"effort":`...)
			dst = wire.AppendJSONString(dst, effort)
		}
		if r.Reasoning.Summary != "" {
			if effort != "" {
				dst = append(dst, ',')
			}
			dst = append(dst, `"summary":`...)
			dst = wire.AppendJSONString(dst, r.Reasoning.Summary)
		}
		dst = append(dst, '}')
	}
	if r.Format.Kind != canon.FormatText {
		dst = append(dst, `,"text":{"format":`...)
		dst = respAppendFormat(dst, &r.Format)
		dst = append(dst, '}')
	}
	if r.User != "" {
		dst = append(dst, `,"user":`...)
		dst = wire.AppendJSONString(dst, r.User)
	}
	if len(r.Metadata) > 0 {
		dst = append(dst, `,"metadata":`...)
		dst = respAppendMetadata(dst, r.Metadata)
	}
	if r.ServiceTier != "" {
		dst = append(dst, `,"service_tier":`...)
		dst = wire.AppendJSONString(dst, r.ServiceTier)
	}
	if r.PreviousResponseID != "" {
		dst = append(dst, `,"previous_response_id":`...)
		dst = wire.AppendJSONString(dst, r.PreviousResponseID)
	}
	if r.Store == canon.TriTrue {
		dst = append(dst, `,"store":true`...)
	} else {
		dst = append(dst, `,"store":false`...)
		if reasons {
			dst = append(dst, `,"include":["reasoning.encrypted_content"]`...)
		}
	}
	if r.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	return append(dst, '}'), nil
}

// respEffort returns the effort to ask OpenAI for: the client's, or one
// its thinking budget maps to (up to 4096 tokens low, up to 16384 medium,
// more high). A request that turned thinking off asks for none: not every
// OpenAI reasoning model can turn reasoning off ("none" is refused by the
// models before gpt-5.1), so the model's default stands.
func respEffort(rs *canon.Reasoning) string {
	switch {
	case rs.Effort != "":
		return rs.Effort
	case rs.Disabled || rs.Budget <= 0:
		return ""
	case rs.Budget <= 4096:
		return "low"
	case rs.Budget <= 16384:
		return "medium"
	}
	return "high"
}

// respEncodeMessage appends message i's items: runs of text, image,
// document and refusal parts as one message item; each tool call,
// tool result and thinking part as an item of its own, in order. n counts
// the items written (for the commas); thought says whether a reasoning
// item was written.
func respEncodeMessage(dst []byte, n, i int, m *canon.Message) (_ []byte, _ int, thought bool, err error) {
	open := false // a message item is open
	closeMsg := func() {
		if open {
			dst = append(dst, "]}"...)
			open = false
		}
	}
	item := func() {
		closeMsg()
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	for j := range m.Parts {
		p := &m.Parts[j]
		switch p.Kind {
		case canon.PartText, canon.PartImage, canon.PartDocument, canon.PartRefusal:
			if m.Role == canon.RoleAssistant && (p.Kind == canon.PartImage || p.Kind == canon.PartDocument) {
				return dst, n, thought, canon.Fieldf(respPath("messages", i, respPath("parts", j, "")),
					"an assistant message sent to the Responses API can hold only text and refusals")
			}
			if !open {
				item()
				if m.Role == canon.RoleAssistant {
					dst = append(dst, `{"type":"message","role":"assistant","content":[`...)
				} else {
					dst = append(dst, `{"type":"message","role":"user","content":[`...)
				}
				open = true
			} else {
				dst = append(dst, ',')
			}
			dst = respAppendContent(dst, p, m.Role == canon.RoleAssistant)
		case canon.PartToolCall:
			item()
			dst = append(dst, `{"type":"function_call","call_id":`...)
			dst = wire.AppendJSONString(dst, p.ID)
			dst = append(dst, `,"name":`...)
			dst = wire.AppendJSONString(dst, p.Name)
			dst = append(dst, `,"arguments":`...)
			dst = respAppendArgs(dst, p.Args)
			dst = append(dst, '}')
		case canon.PartToolResult:
			item()
			dst = append(dst, `{"type":"function_call_output","call_id":`...)
			dst = wire.AppendJSONString(dst, p.ID)
			dst = append(dst, `,"output":`...)
			dst = respAppendOutput(dst, p.Content)
			dst = append(dst, '}')
		case canon.PartThinking:
			// Only OpenAI's own encrypted reasoning can be sent back; text
			// or a signature of another vendor's thinking cannot, and is
			// dropped.
			if p.Redacted == "" {
				continue
			}
			item()
			thought = true
			dst = append(dst, `{"type":"reasoning","summary":[`...)
			if p.Text != "" {
				dst = append(dst, `{"type":"summary_text","text":`...)
				dst = wire.AppendJSONString(dst, p.Text)
				dst = append(dst, '}')
			}
			dst = append(dst, `],"encrypted_content":`...)
			dst = wire.AppendJSONString(dst, p.Redacted)
			dst = append(dst, '}')
		}
	}
	closeMsg()
	return dst, n, thought, nil
}

// respAppendArgs appends a tool call's arguments as a JSON string ("{}"
// when empty: OpenAI parses them).
func respAppendArgs(dst []byte, args string) []byte {
	if args == "" {
		args = "{}"
	}
	return wire.AppendJSONString(dst, args)
}

// respAppendContent appends a content part of a message item.
func respAppendContent(dst []byte, p *canon.Part, assistant bool) []byte {
	switch p.Kind {
	case canon.PartRefusal:
		if assistant {
			dst = append(dst, `{"type":"refusal","refusal":`...)
			dst = wire.AppendJSONString(dst, p.Text)
			return append(dst, '}')
		}
		fallthrough
	case canon.PartText:
		if assistant {
			dst = append(dst, `{"type":"output_text","text":`...)
		} else {
			dst = append(dst, `{"type":"input_text","text":`...)
		}
		dst = wire.AppendJSONString(dst, p.Text)
		return append(dst, '}')
	case canon.PartImage:
		dst = append(dst, `{"type":"input_image","image_url":`...)
		if p.Data != "" {
			dst = respJoinDataURL(dst, p.MediaType, p.Data)
		} else {
			dst = wire.AppendJSONString(dst, p.URL)
		}
		dst = append(dst, `,"detail":`...)
		if p.Detail != "" {
			dst = wire.AppendJSONString(dst, p.Detail)
		} else {
			dst = append(dst, `"auto"`...)
		}
		return append(dst, '}')
	case canon.PartDocument:
		dst = append(dst, `{"type":"input_file",`...)
		if p.Data != "" {
			dst = append(dst, `"filename":`...)
			dst = wire.AppendJSONString(dst, respFilename(p))
			dst = append(dst, `,"file_data":`...)
			dst = respJoinDataURL(dst, p.MediaType, p.Data)
		} else {
			if p.Name != "" {
				dst = append(dst, `"filename":`...)
				dst = wire.AppendJSONString(dst, p.Name)
				dst = append(dst, ',')
			}
			dst = append(dst, `"file_url":`...)
			dst = wire.AppendJSONString(dst, p.URL)
		}
		return append(dst, '}')
	}
	return dst
}

// respFilename returns a document's file name, which OpenAI requires
// with file_data: its own, or "document" with the extension its media
// type implies.
func respFilename(p *canon.Part) string {
	if p.Name != "" {
		return p.Name
	}
	switch p.MediaType {
	case "application/pdf":
		return "document.pdf"
	case "text/plain":
		return "document.txt"
	case "text/markdown":
		return "document.md"
	case "text/csv":
		return "document.csv"
	case "text/html":
		return "document.html"
	}
	return "document"
}

// respAppendOutput appends a function call's output: a string when it is
// all text (the common case), else a list of input parts. A tool result's
// IsError is dropped: the API has no such flag (the output's text says
// what failed).
func respAppendOutput(dst []byte, content []canon.Part) []byte {
	allText := true
	for i := range content {
		if content[i].Kind != canon.PartText {
			allText = false
			break
		}
	}
	if allText {
		if len(content) == 1 {
			return wire.AppendJSONString(dst, content[0].Text)
		}
		return wire.AppendJSONString(dst, canon.Text(content))
	}
	dst = append(dst, '[')
	k := 0
	for i := range content {
		p := &content[i]
		switch p.Kind {
		case canon.PartText, canon.PartImage, canon.PartDocument:
		default:
			continue
		}
		if k > 0 {
			dst = append(dst, ',')
		}
		k++
		dst = respAppendContent(dst, p, false)
	}
	return append(dst, ']')
}

// respAppendTools appends function tools: {type, name, description,
// parameters, strict}. strict is always written: the Responses API's
// default is true, which demands schemas that other vendors' clients do
// not write.
func respAppendTools(dst []byte, tools []canon.Tool) []byte {
	dst = append(dst, '[')
	for i := range tools {
		t := &tools[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"type":"function","name":`...)
		dst = wire.AppendJSONString(dst, t.Name)
		if t.Description != "" {
			dst = append(dst, `,"description":`...)
			dst = wire.AppendJSONString(dst, t.Description)
		}
		dst = append(dst, `,"parameters":`...)
		if t.Schema != "" {
			dst = append(dst, t.Schema...)
		} else {
			dst = append(dst, `{"type":"object","properties":{}}`...)
		}
		dst = append(dst, `,"strict":`...)
		dst = strconv.AppendBool(dst, t.Strict)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func respAppendToolChoice(dst []byte, tc *canon.ToolChoice) []byte {
	switch tc.Mode {
	case canon.ToolNone:
		return append(dst, `"none"`...)
	case canon.ToolRequired:
		return append(dst, `"required"`...)
	case canon.ToolNamed:
		dst = append(dst, `{"type":"function","name":`...)
		dst = wire.AppendJSONString(dst, tc.Name)
		return append(dst, '}')
	}
	return append(dst, `"auto"`...)
}

// respAppendFormat appends text.format.
func respAppendFormat(dst []byte, f *canon.ResponseFormat) []byte {
	switch f.Kind {
	case canon.FormatJSONObject:
		return append(dst, `{"type":"json_object"}`...)
	case canon.FormatJSONSchema:
		name := f.Name
		if name == "" {
			name = "response" // OpenAI requires a name
		}
		dst = append(dst, `{"type":"json_schema","name":`...)
		dst = wire.AppendJSONString(dst, name)
		dst = append(dst, `,"schema":`...)
		if f.Schema != "" {
			dst = append(dst, f.Schema...)
		} else {
			dst = append(dst, "{}"...)
		}
		dst = append(dst, `,"strict":`...)
		dst = strconv.AppendBool(dst, f.Strict)
		return append(dst, '}')
	}
	return append(dst, `{"type":"text"}`...)
}

func respAppendMetadata(dst []byte, md []canon.KV) []byte {
	dst = append(dst, '{')
	for i := range md {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = wire.AppendJSONString(dst, md[i].Key)
		dst = append(dst, ':')
		dst = wire.AppendJSONString(dst, md[i].Value)
	}
	return append(dst, '}')
}

package openai

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// chatEncodeRequest appends r as a chat completions request to an
// OpenAI-compatible upstream. It refuses what the format cannot carry and
// the request depends on (n > 1, a stored conversation, documents by URL,
// images in an assistant turn); chat_codec.md lists what it drops.
func chatEncodeRequest(dst []byte, r *canon.Request) ([]byte, error) {
	start := len(dst)
	dst, err := chatEncodeBody(dst, r)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

func chatEncodeBody(dst []byte, r *canon.Request) ([]byte, error) {
	switch {
	case r.N > 1:
		return dst, canon.Fieldf("n", "OpenAI chat upstreams are asked for one choice here; send n separate requests")
	case r.PreviousResponseID != "":
		return dst, canon.Fieldf("previous_response_id", "a stored conversation cannot be continued on a chat completions upstream; send the whole conversation")
	}
	dst = append(dst, `{"model":`...)
	dst = wire.AppendJSONString(dst, r.Model)
	dst = append(dst, `,"messages":[`...)
	var err error
	if dst, err = chatEncodeSystem(dst, r.System); err != nil {
		return dst, err
	}
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Role == canon.RoleAssistant {
			dst, err = chatEncodeAssistant(dst, m, i)
		} else {
			dst, err = chatEncodeUser(dst, m, i)
		}
		if err != nil {
			return dst, err
		}
	}
	dst = append(dst, ']')
	if dst, err = chatEncodeTools(dst, r); err != nil {
		return dst, err
	}
	if r.MaxTokens > 0 {
		dst = append(dst, `,"max_completion_tokens":`...)
		dst = strconv.AppendInt(dst, r.MaxTokens, 10)
	}
	dst = chatAppendNumber(dst, `,"temperature":`, r.Temperature)
	dst = chatAppendNumber(dst, `,"top_p":`, r.TopP)
	dst = chatAppendNumber(dst, `,"frequency_penalty":`, r.FrequencyPenalty)
	dst = chatAppendNumber(dst, `,"presence_penalty":`, r.PresencePenalty)
	dst = chatAppendNumber(dst, `,"seed":`, r.Seed)
	if len(r.Stop) > 0 {
		dst = append(dst, `,"stop":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = wire.AppendJSONString(dst, s)
		}
		dst = append(dst, ']')
	}
	if dst, err = chatEncodeFormat(dst, &r.Format); err != nil {
		return dst, err
	}
	if e := chatEffort(&r.Reasoning); e != "" {
		dst = append(dst, `,"reasoning_effort":`...)
		dst = wire.AppendJSONString(dst, e)
	}
	if r.User != "" {
		dst = append(dst, `,"user":`...)
		dst = wire.AppendJSONString(dst, r.User)
	}
	if r.Store == canon.TriTrue {
		dst = append(dst, `,"store":true`...)
		if len(r.Metadata) > 0 {
			dst = append(dst, `,"metadata":{`...)
			for i, kv := range r.Metadata {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = wire.AppendJSONString(dst, kv.Key)
				dst = append(dst, ':')
				dst = wire.AppendJSONString(dst, kv.Value)
			}
			dst = append(dst, '}')
		}
	}
	if r.ServiceTier != "" {
		dst = append(dst, `,"service_tier":`...)
		if r.ServiceTier == "standard_only" { // Anthropic's name
			dst = append(dst, `"default"`...)
		} else {
			dst = wire.AppendJSONString(dst, r.ServiceTier)
		}
	}
	if r.Stream {
		dst = append(dst, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(dst, '}'), nil
}

// chatAppendNumber appends key and a raw JSON number when set.
func chatAppendNumber(dst []byte, key string, n []byte) []byte {
	if len(n) == 0 {
		return dst
	}
	dst = append(dst, key...)
	return append(dst, n...)
}

// chatSep appends the comma before an element of an array that already
// holds one.
func chatSep(dst []byte) []byte {
	if c := dst[len(dst)-1]; c != '[' && c != '{' {
		dst = append(dst, ',')
	}
	return dst
}

// chatEncodeSystem writes the system parts as one system message, its
// texts joined by a blank line: many compatible servers' chat templates
// take one system message, first. Cache breakpoints are dropped (OpenAI
// caches prompts itself).
func chatEncodeSystem(dst []byte, sys []canon.Part) ([]byte, error) {
	if len(sys) == 0 {
		return dst, nil
	}
	dst = append(dst, `{"role":"system","content":"`...)
	for i := range sys {
		if sys[i].Kind != canon.PartText {
			return dst, canon.Fieldf("system["+strconv.Itoa(i)+"]", "only text can be sent as a system prompt to an OpenAI chat upstream")
		}
		if i > 0 {
			dst = append(dst, `\n\n`...)
		}
		dst = chatAppendEscaped(dst, sys[i].Text)
	}
	return append(dst, `"}`...), nil
}

func chatPartPath(i, j int) string {
	return chatMsgPath(i, ".content["+strconv.Itoa(j)+"]")
}

// chatEncodeUser writes a user message: first a role tool message for each
// tool result it holds (OpenAI wants them right after the assistant's
// calls), then the rest of its parts, with the images and documents of
// those results, as one user message.
func chatEncodeUser(dst []byte, m *canon.Message, i int) ([]byte, error) {
	rest, media := 0, false
	var err error
	for j := range m.Parts {
		p := &m.Parts[j]
		if p.Kind != canon.PartToolResult {
			rest++
			continue
		}
		var hasMedia bool
		if dst, hasMedia, err = chatEncodeToolResult(dst, p, i, j); err != nil {
			return dst, err
		}
		media = media || hasMedia
	}
	if rest == 0 && !media {
		if len(m.Parts) == 0 { // an empty turn stays a turn
			dst = chatSep(dst)
			dst = append(dst, `{"role":"user","content":""}`...)
		}
		return dst, nil
	}
	dst = chatSep(dst)
	dst = append(dst, `{"role":"user","content":`...)
	if p := &m.Parts[0]; rest == 1 && len(m.Parts) == 1 && p.Kind == canon.PartText {
		dst = wire.AppendJSONString(dst, p.Text)
		return append(dst, '}'), nil
	}
	dst = append(dst, '[')
	for j := range m.Parts {
		p := &m.Parts[j]
		if p.Kind != canon.PartToolResult || !chatHasMedia(p.Content) {
			continue
		}
		dst = chatSep(dst)
		dst = append(dst, `{"type":"text","text":"Attachments of the result of tool call `...)
		dst = chatAppendEscaped(dst, p.ID)
		dst = append(dst, `:"}`...)
		for k := range p.Content {
			if c := &p.Content[k]; c.Kind == canon.PartImage || c.Kind == canon.PartDocument {
				if dst, err = chatEncodeUserPart(dst, c, chatPartPath(i, j)+".content["+strconv.Itoa(k)+"]"); err != nil {
					return dst, err
				}
			}
		}
	}
	for j := range m.Parts {
		if p := &m.Parts[j]; p.Kind != canon.PartToolResult {
			if dst, err = chatEncodeUserPart(dst, p, chatPartPath(i, j)); err != nil {
				return dst, err
			}
		}
	}
	return append(dst, "]}"...), nil
}

func chatHasMedia(parts []canon.Part) bool {
	for i := range parts {
		if parts[i].Kind == canon.PartImage || parts[i].Kind == canon.PartDocument {
			return true
		}
	}
	return false
}

// chatEncodeToolResult writes a tool result as a role tool message: its
// content a string when it is one text, else an array of text parts in
// which each image or document stands as a text placeholder (the file
// itself follows in the user message after the tool messages). IsError is
// dropped: OpenAI has no such flag.
func chatEncodeToolResult(dst []byte, p *canon.Part, i, j int) ([]byte, bool, error) {
	dst = chatSep(dst)
	dst = append(dst, `{"role":"tool","tool_call_id":`...)
	dst = wire.AppendJSONString(dst, p.ID)
	dst = append(dst, `,"content":`...)
	switch {
	case len(p.Content) == 0:
		return append(dst, `""}`...), false, nil
	case len(p.Content) == 1 && p.Content[0].Kind == canon.PartText:
		dst = wire.AppendJSONString(dst, p.Content[0].Text)
		return append(dst, '}'), false, nil
	}
	media := false
	dst = append(dst, '[')
	for k := range p.Content {
		c := &p.Content[k]
		dst = chatSep(dst)
		switch c.Kind {
		case canon.PartText:
			dst = append(dst, `{"type":"text","text":`...)
			dst = wire.AppendJSONString(dst, c.Text)
			dst = append(dst, '}')
		case canon.PartImage:
			media = true
			dst = append(dst, `{"type":"text","text":"[image: in the next user message]"}`...)
		case canon.PartDocument:
			media = true
			dst = append(dst, `{"type":"text","text":"[document: in the next user message]"}`...)
		default:
			return dst, false, canon.Fieldf(chatPartPath(i, j)+".content["+strconv.Itoa(k)+"]", "a tool result sent to an OpenAI chat upstream may hold only text, images and documents")
		}
	}
	return append(dst, "]}"...), media, nil
}

// chatEncodeUserPart writes a part of a user message's content array.
func chatEncodeUserPart(dst []byte, p *canon.Part, path string) ([]byte, error) {
	dst = chatSep(dst)
	switch p.Kind {
	case canon.PartText:
		dst = append(dst, `{"type":"text","text":`...)
		dst = wire.AppendJSONString(dst, p.Text)
		return append(dst, '}'), nil
	case canon.PartImage:
		dst = append(dst, `{"type":"image_url","image_url":{"url":`...)
		switch {
		case p.Data != "":
			dst = chatAppendDataURL(dst, p.MediaType, p.Data)
		case p.URL != "":
			dst = wire.AppendJSONString(dst, p.URL)
		default:
			return dst, canon.Fieldf(path, "an image needs data or a URL")
		}
		if p.Detail != "" {
			dst = append(dst, `,"detail":`...)
			dst = wire.AppendJSONString(dst, p.Detail)
		}
		return append(dst, "}}"...), nil
	case canon.PartDocument:
		if p.Data == "" {
			return dst, canon.Fieldf(path, "an OpenAI chat upstream takes documents inline only; send the document's data instead of a URL")
		}
		if strings.HasPrefix(p.MediaType, "text/") {
			// OpenAI reads only PDFs as files: a text document is sent as
			// its text.
			text, err := base64.StdEncoding.DecodeString(p.Data)
			if err != nil {
				return dst, canon.Fieldf(path, "a text document's data must be base64")
			}
			dst = append(dst, `{"type":"text","text":`...)
			dst = wire.AppendJSONString(dst, wire.StringView(text))
			return append(dst, '}'), nil
		}
		dst = append(dst, `{"type":"file","file":{`...)
		if p.Name != "" {
			dst = append(dst, `"filename":`...)
			dst = wire.AppendJSONString(dst, p.Name)
			dst = append(dst, ',')
		}
		dst = append(dst, `"file_data":`...)
		dst = chatAppendDataURL(dst, p.MediaType, p.Data)
		return append(dst, "}}"...), nil
	}
	return dst, canon.Fieldf(path, "a user message sent to an OpenAI chat upstream may hold only text, images, documents and tool results")
}

// chatEncodeAssistant writes an assistant message: its texts as content
// (a string when there is one, an array of text parts when there are
// more), its refusals as refusal, its tool calls. Thinking is dropped:
// OpenAI takes no reasoning back in chat, and DeepSeek refuses
// reasoning_content in a request.
func chatEncodeAssistant(dst []byte, m *canon.Message, i int) ([]byte, error) {
	texts, refusals, calls := 0, 0, 0
	for j := range m.Parts {
		switch m.Parts[j].Kind {
		case canon.PartText:
			texts++
		case canon.PartRefusal:
			refusals++
		case canon.PartToolCall:
			calls++
		case canon.PartThinking:
		default:
			return dst, canon.Fieldf(chatPartPath(i, j), "an assistant message sent to an OpenAI chat upstream may hold only text, refusals, thinking (dropped) and tool calls")
		}
	}
	dst = chatSep(dst)
	dst = append(dst, `{"role":"assistant"`...)
	switch {
	case texts == 1:
		dst = append(dst, `,"content":`...)
		for j := range m.Parts {
			if m.Parts[j].Kind == canon.PartText {
				dst = wire.AppendJSONString(dst, m.Parts[j].Text)
			}
		}
	case texts > 1:
		dst = append(dst, `,"content":[`...)
		for j := range m.Parts {
			if m.Parts[j].Kind == canon.PartText {
				dst = chatSep(dst)
				dst = append(dst, `{"type":"text","text":`...)
				dst = wire.AppendJSONString(dst, m.Parts[j].Text)
				dst = append(dst, '}')
			}
		}
		dst = append(dst, ']')
	case calls == 0 && refusals == 0:
		dst = append(dst, `,"content":""`...)
	}
	if refusals > 0 {
		dst = append(dst, `,"refusal":"`...)
		for j := range m.Parts {
			if m.Parts[j].Kind == canon.PartRefusal {
				dst = chatAppendEscaped(dst, m.Parts[j].Text)
			}
		}
		dst = append(dst, '"')
	}
	if calls > 0 {
		dst = append(dst, `,"tool_calls":[`...)
		for j := range m.Parts {
			if p := &m.Parts[j]; p.Kind == canon.PartToolCall {
				dst = chatSep(dst)
				dst = chatAppendToolCall(dst, p, -1)
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// chatAppendToolCall appends a tool call object ({"index":idx,...} in a
// stream when idx >= 0); empty arguments are sent as "{}".
func chatAppendToolCall(dst []byte, p *canon.Part, idx int) []byte {
	dst = append(dst, '{')
	if idx >= 0 {
		dst = append(dst, `"index":`...)
		dst = strconv.AppendInt(dst, int64(idx), 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"id":`...)
	dst = wire.AppendJSONString(dst, p.ID)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = wire.AppendJSONString(dst, p.Name)
	dst = append(dst, `,"arguments":`...)
	switch {
	case idx >= 0:
		dst = append(dst, `""`...)
	case p.Args == "":
		dst = append(dst, `"{}"`...)
	default:
		dst = wire.AppendJSONString(dst, p.Args)
	}
	return append(dst, "}}"...)
}

// chatEncodeTools writes tools, tool_choice and parallel_tool_calls; the
// last two only with tools (OpenAI refuses them alone). Cache breakpoints
// are dropped.
func chatEncodeTools(dst []byte, r *canon.Request) ([]byte, error) {
	if len(r.Tools) == 0 {
		return dst, nil
	}
	dst = append(dst, `,"tools":[`...)
	for i := range r.Tools {
		t := &r.Tools[i]
		dst = chatSep(dst)
		dst = append(dst, `{"type":"function","function":{"name":`...)
		dst = wire.AppendJSONString(dst, t.Name)
		if t.Description != "" {
			dst = append(dst, `,"description":`...)
			dst = wire.AppendJSONString(dst, t.Description)
		}
		if t.Schema != "" {
			if !gjson.Valid(t.Schema) {
				return dst, canon.Fieldf("tools["+strconv.Itoa(i)+"].parameters", "must be a JSON Schema object")
			}
			dst = append(dst, `,"parameters":`...)
			dst = append(dst, t.Schema...)
		}
		if t.Strict {
			dst = append(dst, `,"strict":true`...)
		}
		dst = append(dst, "}}"...)
	}
	dst = append(dst, ']')
	if tc := &r.ToolChoice; tc.Set {
		switch tc.Mode {
		case canon.ToolAuto:
			dst = append(dst, `,"tool_choice":"auto"`...)
		case canon.ToolNone:
			dst = append(dst, `,"tool_choice":"none"`...)
		case canon.ToolRequired:
			dst = append(dst, `,"tool_choice":"required"`...)
		case canon.ToolNamed:
			dst = append(dst, `,"tool_choice":{"type":"function","function":{"name":`...)
			dst = wire.AppendJSONString(dst, tc.Name)
			dst = append(dst, "}}"...)
		}
	}
	switch r.ParallelTools {
	case canon.TriTrue:
		dst = append(dst, `,"parallel_tool_calls":true`...)
	case canon.TriFalse:
		dst = append(dst, `,"parallel_tool_calls":false`...)
	}
	return dst, nil
}

// chatEncodeFormat writes response_format (nothing for plain text, the
// default); a JSON schema without a name is named "response", as OpenAI
// requires one.
func chatEncodeFormat(dst []byte, f *canon.ResponseFormat) ([]byte, error) {
	switch f.Kind {
	case canon.FormatJSONObject:
		dst = append(dst, `,"response_format":{"type":"json_object"}`...)
	case canon.FormatJSONSchema:
		dst = append(dst, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
		if f.Name != "" {
			dst = wire.AppendJSONString(dst, f.Name)
		} else {
			dst = append(dst, `"response"`...)
		}
		if f.Schema != "" {
			if !gjson.Valid(f.Schema) {
				return dst, canon.Fieldf("response_format.schema", "must be a JSON Schema object")
			}
			dst = append(dst, `,"schema":`...)
			dst = append(dst, f.Schema...)
		}
		if f.Strict {
			dst = append(dst, `,"strict":true`...)
		}
		dst = append(dst, "}}"...)
	}
	return dst, nil
}

// chatEffort is the reasoning_effort to send: the effort asked for, or a
// thinking budget mapped to one (up to 4096 tokens low, up to 16384
// medium, more high). Thinking turned off sends none: "none" is refused by
// every OpenAI model but the newest, and a model that reasons by default
// cannot be stopped otherwise.
func chatEffort(r *canon.Reasoning) string {
	switch {
	case r.Effort != "":
		return r.Effort
	case r.Budget <= 0 || r.Disabled:
		return ""
	case r.Budget <= 4096:
		return "low"
	case r.Budget <= 16384:
		return "medium"
	}
	return "high"
}

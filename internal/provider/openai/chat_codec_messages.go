package openai

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// Content part types a role's message may hold.
type chatAllow uint8

const (
	chatAllowText chatAllow = 1 << iota
	chatAllowImage
	chatAllowFile
	chatAllowRefusal

	chatAllowSystem    = chatAllowText
	chatAllowUser      = chatAllowText | chatAllowImage | chatAllowFile
	chatAllowAssistant = chatAllowText | chatAllowRefusal
)

func chatMsgPath(i int, rest string) string {
	return "messages[" + strconv.Itoa(i) + "]" + rest
}

// chatMessages reads the messages: system and developer ones, wherever
// they stand, become the System parts in order; role tool messages become
// tool results in a user message, consecutive ones merged into one.
func chatMessages(r *canon.Request, msgs gjson.Result) error {
	var err error
	i, prevTool := 0, false
	msgs.ForEach(func(_, m gjson.Result) bool {
		err = chatDecodeMessage(r, i, m, &prevTool)
		i++
		return err == nil
	})
	return err
}

// chatNewMessage appends a message of role to r, reusing the memory of
// the parts of a message a Reset left in r's capacity.
func chatNewMessage(r *canon.Request, role canon.Role) *canon.Message {
	n := len(r.Messages)
	if n < cap(r.Messages) {
		r.Messages = r.Messages[:n+1]
		m := &r.Messages[n]
		m.Role, m.Parts = role, m.Parts[:0]
		return m
	}
	r.Messages = append(r.Messages, canon.Message{Role: role})
	return &r.Messages[n]
}

// chatDecodeMessage reads message i. Fields other than those read here (name,
// annotations, and what SDKs echo back from a reply) are dropped.
func chatDecodeMessage(r *canon.Request, i int, m gjson.Result, prevTool *bool) error {
	if !m.IsObject() {
		return canon.Fieldf(chatMsgPath(i, ""), "must be an object")
	}
	var role, content, toolCalls, toolCallID, refusal, reasoning, cache gjson.Result
	var err error
	m.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "role":
			role = v
		case "content":
			content = v
		case "tool_calls":
			toolCalls = v
		case "tool_call_id":
			toolCallID = v
		case "refusal":
			refusal = v
		case "reasoning_content", "reasoning": // DeepSeek's and vLLM's names
			if v.Type == gjson.String && reasoning.Str == "" {
				reasoning = v
			}
		case "cache_control":
			cache = v
		case "audio", "function_call":
			if v.Type != gjson.Null {
				err = canon.Fieldf(chatMsgPath(i, "."+k.Str), "cannot be translated to this model's upstream; remove it")
			}
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	c, err := chatCache(chatMsgPath(i, ".cache_control"), cache)
	if err != nil {
		return err
	}
	wasTool := *prevTool
	*prevTool = false
	switch role.Str {
	case "system", "developer":
		if content.Type == gjson.Null {
			return canon.Fieldf(chatMsgPath(i, ".content"), "required")
		}
		n := len(r.System)
		if r.System, err = chatContent(r.System, content, i, chatAllowSystem); err != nil {
			return err
		}
		chatCacheLast(r.System[n:], c)
		return nil
	case "user":
		if content.Type == gjson.Null {
			return canon.Fieldf(chatMsgPath(i, ".content"), "required")
		}
		msg := chatNewMessage(r, canon.RoleUser)
		if msg.Parts, err = chatContent(msg.Parts, content, i, chatAllowUser); err != nil {
			return err
		}
		chatCacheLast(msg.Parts, c)
		return nil
	case "assistant":
		return chatAssistant(r, i, content, refusal, reasoning, toolCalls, c)
	case "tool":
		if toolCallID.Type != gjson.String || toolCallID.Str == "" {
			return canon.Fieldf(chatMsgPath(i, ".tool_call_id"), "required: the id of the tool call this answers")
		}
		res := canon.Part{Kind: canon.PartToolResult, ID: chatStr(toolCallID), Cache: c}
		res.Name = chatToolName(r, res.ID)
		if res.Content, err = chatContent(nil, content, i, chatAllowUser); err != nil {
			return err
		}
		var msg *canon.Message
		if wasTool {
			msg = &r.Messages[len(r.Messages)-1]
		} else {
			msg = chatNewMessage(r, canon.RoleUser)
		}
		msg.Parts = append(msg.Parts, res)
		*prevTool = true
		return nil
	case "function":
		return canon.Fieldf(chatMsgPath(i, ".role"), "the deprecated function role is not translated; answer tool calls with role tool")
	}
	return canon.Fieldf(chatMsgPath(i, ".role"), `must be "system", "developer", "user", "assistant" or "tool"`)
}

// chatCacheLast puts a message's cache_control on its last part.
func chatCacheLast(parts []canon.Part, c canon.Cache) {
	if c.Set && len(parts) > 0 {
		parts[len(parts)-1].Cache = c
	}
}

// chatToolName finds the name of the tool call id answers (Gemini's
// encoder needs it): the latest call with that id.
func chatToolName(r *canon.Request, id string) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		m := &r.Messages[i]
		if m.Role != canon.RoleAssistant {
			continue
		}
		for j := range m.Parts {
			if p := &m.Parts[j]; p.Kind == canon.PartToolCall && p.ID == id {
				return p.Name
			}
		}
	}
	return ""
}

// chatAssistant reads an assistant message: its reasoning_content (as a
// thinking part), content, refusal and tool calls, in that order.
func chatAssistant(r *canon.Request, i int, content, refusal, reasoning, toolCalls gjson.Result, c canon.Cache) error {
	msg := chatNewMessage(r, canon.RoleAssistant)
	if reasoning.Str != "" {
		msg.Parts = append(msg.Parts, canon.Part{Kind: canon.PartThinking, Text: chatStr(reasoning)})
	}
	var err error
	switch {
	case content.Type == gjson.String && content.Str == "":
		// An empty content says nothing (SDKs send it beside tool calls).
	case content.Type != gjson.Null:
		if msg.Parts, err = chatContent(msg.Parts, content, i, chatAllowAssistant); err != nil {
			return err
		}
	}
	if refusal.Type != gjson.Null {
		if refusal.Type != gjson.String {
			return canon.Fieldf(chatMsgPath(i, ".refusal"), "must be a string")
		}
		msg.Parts = append(msg.Parts, canon.Part{Kind: canon.PartRefusal, Text: chatStr(refusal)})
	}
	if toolCalls.Type != gjson.Null {
		if !toolCalls.IsArray() {
			return canon.Fieldf(chatMsgPath(i, ".tool_calls"), "must be an array")
		}
		j := 0
		toolCalls.ForEach(func(_, tc gjson.Result) bool {
			var p canon.Part
			p, err = chatToolCall(i, j, tc)
			msg.Parts = append(msg.Parts, p)
			j++
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	if len(msg.Parts) == 0 {
		msg.Parts = append(msg.Parts, canon.Part{Kind: canon.PartText})
	}
	chatCacheLast(msg.Parts, c)
	return nil
}

// chatToolCall reads tool_calls[j] of message i.
func chatToolCall(i, j int, tc gjson.Result) (canon.Part, error) {
	path := chatMsgPath(i, ".tool_calls["+strconv.Itoa(j)+"]")
	if !tc.IsObject() {
		return canon.Part{}, canon.Fieldf(path, "must be an object")
	}
	if t := tc.Get("type"); t.Type != gjson.Null && t.Str != "function" {
		return canon.Part{}, canon.Fieldf(path+".type", "only function tool calls can be translated to this model's upstream")
	}
	p := canon.Part{Kind: canon.PartToolCall, ID: chatStr(tc.Get("id"))}
	fn := tc.Get("function")
	name := fn.Get("name")
	if name.Type != gjson.String || name.Str == "" {
		return p, canon.Fieldf(path+".function.name", "required: the name of the tool called")
	}
	p.Name = chatStr(name)
	switch args := fn.Get("arguments"); {
	case args.Type == gjson.String:
		p.Args = chatStr(args)
	case args.IsObject(): // some clients send the object itself
		p.Args = string(append([]byte(nil), args.Raw...))
	case args.Type == gjson.Null:
		p.Args = "{}"
	default:
		return p, canon.Fieldf(path+".function.arguments", "must be a JSON object as a string")
	}
	return p, nil
}

// chatContent appends the parts of message i's content, a string or an
// array of parts of the types allow lets through.
func chatContent(parts []canon.Part, content gjson.Result, i int, allow chatAllow) ([]canon.Part, error) {
	switch {
	case content.Type == gjson.String:
		return append(parts, canon.Part{Kind: canon.PartText, Text: chatStr(content)}), nil
	case content.Type == gjson.Null:
		return parts, nil
	case !content.IsArray():
		return parts, canon.Fieldf(chatMsgPath(i, ".content"), "must be a string or an array of content parts")
	}
	var err error
	j := 0
	content.ForEach(func(_, v gjson.Result) bool {
		var p canon.Part
		p, err = chatPart(v, i, j, allow)
		parts = append(parts, p)
		j++
		return err == nil
	})
	return parts, err
}

// chatPart reads content part j of message i.
func chatPart(v gjson.Result, i, j int, allow chatAllow) (canon.Part, error) {
	path := chatMsgPath(i, ".content["+strconv.Itoa(j)+"]")
	if !v.IsObject() {
		return canon.Part{}, canon.Fieldf(path, "must be an object")
	}
	var p canon.Part
	var err error
	typ := v.Get("type")
	ok := false
	switch typ.Str {
	case "text":
		ok = allow&chatAllowText != 0
		p.Kind = canon.PartText
		p.Text, err = chatString(path+".text", v.Get("text"))
	case "refusal":
		ok = allow&chatAllowRefusal != 0
		p.Kind = canon.PartRefusal
		p.Text, err = chatString(path+".refusal", v.Get("refusal"))
	case "image_url":
		ok = allow&chatAllowImage != 0
		p, err = chatImage(path, v.Get("image_url"))
	case "file":
		ok = allow&chatAllowFile != 0
		p, err = chatFile(path, v.Get("file"))
	case "input_audio":
		return p, canon.Fieldf(path+".type", "audio input cannot be translated to this model's upstream")
	default:
		return p, canon.Fieldf(path+".type", `unknown content part type: use "text", "image_url" or "file"`)
	}
	if !ok {
		return p, canon.Fieldf(path+".type", "this part type is not allowed in a message of this role")
	}
	if err != nil {
		return p, err
	}
	p.Cache, err = chatCache(path+".cache_control", v.Get("cache_control"))
	return p, err
}

// chatImage reads an image_url: an http(s) URL, or a base64 data: URL
// whose media type and data become the part's.
func chatImage(path string, iu gjson.Result) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartImage}
	url := iu
	if iu.IsObject() {
		url = iu.Get("url")
		if d := iu.Get("detail"); d.Type == gjson.String {
			p.Detail = chatStr(d)
		}
	}
	if url.Type != gjson.String || url.Str == "" {
		return p, canon.Fieldf(path+".image_url.url", "required: an http(s) or base64 data: URL")
	}
	s := chatStr(url) // one copy; the parts of a data: URL are views of it
	if len(s) > 5 && s[:5] == "data:" {
		mt, data, ok := chatParseDataURL(s)
		if !ok {
			return p, canon.Fieldf(path+".image_url.url", "a data: URL must be data:<media type>;base64,<data>")
		}
		p.MediaType, p.Data = mt, data
		return p, nil
	}
	p.URL = s
	return p, nil
}

// chatFile reads a file part: file_data (a base64 data: URL, or bare base64
// taken as a PDF, the one type OpenAI reads in chat) and filename; a
// file_id names an upload only OpenAI holds and is refused.
func chatFile(path string, f gjson.Result) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartDocument}
	if !f.IsObject() {
		return p, canon.Fieldf(path+".file", "required: an object with file_data")
	}
	if id := f.Get("file_id"); id.Type != gjson.Null {
		return p, canon.Fieldf(path+".file.file_id", "uploaded files cannot be translated to this model's upstream; send the file inline as file_data")
	}
	data := f.Get("file_data")
	if data.Type != gjson.String || data.Str == "" {
		return p, canon.Fieldf(path+".file.file_data", "required: the file as a base64 data: URL")
	}
	if s := chatStr(data); len(s) > 5 && s[:5] == "data:" {
		mt, d, ok := chatParseDataURL(s)
		if !ok {
			return p, canon.Fieldf(path+".file.file_data", "a data: URL must be data:<media type>;base64,<data>")
		}
		p.MediaType, p.Data = mt, d
	} else {
		p.MediaType, p.Data = "application/pdf", s
	}
	if n := f.Get("filename"); n.Type == gjson.String {
		p.Name = chatStr(n)
	}
	return p, nil
}

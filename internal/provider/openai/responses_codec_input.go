package openai

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// respDecodeInput reads a request's input: a string (one user message)
// or a list of items. Items that map to the same role in a row become one
// canonical message (an assistant message, its reasoning and its function
// calls; the function outputs that answer them and the user's next
// words), as the vendors that alternate roles need; system and developer
// messages join r.System in order.
func respDecodeInput(in gjson.Result, r *canon.Request) error {
	if in.Type == gjson.String {
		m := respAddMessage(r, canon.RoleUser)
		m.Parts = append(m.Parts, canon.Part{Kind: canon.PartText, Text: respStr(in)})
		return nil
	}
	i := -1
	var err error
	in.ForEach(func(_, item gjson.Result) bool {
		i++
		err = respDecodeItem(item, i, r)
		return err == nil
	})
	return err
}

// respAddMessage returns the last message of r when it has role, else a
// new one (reusing the memory of a message an earlier request left).
func respAddMessage(r *canon.Request, role canon.Role) *canon.Message {
	if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == role {
		return &r.Messages[n-1]
	}
	if n := len(r.Messages); n < cap(r.Messages) {
		r.Messages = r.Messages[:n+1]
		m := &r.Messages[n]
		m.Role, m.Parts = role, m.Parts[:0]
		return m
	}
	r.Messages = append(r.Messages, canon.Message{Role: role})
	return &r.Messages[len(r.Messages)-1]
}

// respItem holds the members of an input item that the decoder reads.
type respItem struct {
	typ, role, content, callID, name, args, output, summary, enc, id gjson.Result
}

func respDecodeItem(item gjson.Result, i int, r *canon.Request) error {
	if !item.IsObject() {
		return respField("input", i, "", "must be an object")
	}
	var it respItem
	item.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			it.typ = v
		case "role":
			it.role = v
		case "content":
			it.content = v
		case "call_id":
			it.callID = v
		case "name":
			it.name = v
		case "arguments":
			it.args = v
		case "output":
			it.output = v
		case "summary":
			it.summary = v
		case "encrypted_content":
			it.enc = v
		case "id":
			it.id = v
		}
		return true
	})
	typ := it.typ.Str
	if !it.typ.Exists() && it.role.Exists() {
		typ = "message" // an EasyInputMessage: {role, content}
	}
	switch typ {
	case "message":
		return respDecodeMessage(&it, i, r)
	case "function_call":
		if it.callID.Type != gjson.String || it.callID.Str == "" {
			return respField("input", i, "call_id", "is required")
		}
		if it.name.Type != gjson.String || it.name.Str == "" {
			return respField("input", i, "name", "is required")
		}
		if it.args.Type != gjson.String {
			return respField("input", i, "arguments", "must be a string holding a JSON object")
		}
		m := respAddMessage(r, canon.RoleAssistant)
		m.Parts = append(m.Parts, canon.Part{Kind: canon.PartToolCall, ID: respStr(it.callID),
			Name: respStr(it.name), Args: respStr(it.args)})
	case "function_call_output":
		if it.callID.Type != gjson.String || it.callID.Str == "" {
			return respField("input", i, "call_id", "is required")
		}
		p := canon.Part{Kind: canon.PartToolResult, ID: respStr(it.callID)}
		switch {
		case it.output.Type == gjson.String:
			p.Content = []canon.Part{{Kind: canon.PartText, Text: respStr(it.output)}}
		case it.output.IsArray():
			var err error
			if p.Content, err = respDecodeParts(it.output, respPath("input", i, "output"), respRoleTool, nil); err != nil {
				return err
			}
		default:
			return respField("input", i, "output", "must be a string or an array of content parts")
		}
		m := respAddMessage(r, canon.RoleUser)
		m.Parts = append(m.Parts, p)
	case "reasoning":
		p, err := respDecodeReasoningItem(&it, i)
		if err != nil {
			return err
		}
		m := respAddMessage(r, canon.RoleAssistant)
		m.Parts = append(m.Parts, p)
	case "":
		return respField("input", i, "type", "is required")
	case "item_reference":
		return respField("input", i, "type", "an item_reference needs OpenAI's stored items, which a translated request cannot use; send the item itself")
	default:
		return respField("input", i, "type", "only message, function_call, function_call_output and reasoning items "+
			"can be translated to another vendor; items of hosted tools (web search, computer use, shell, custom tools, MCP, ...) need an OpenAI upstream")
	}
	return nil
}

// The roles content parts may belong to: what a part may hold depends on
// it.
const (
	respRoleUser = iota
	respRoleAssistant
	respRoleSystem
	respRoleTool // a function_call_output's output
)

func respDecodeMessage(it *respItem, i int, r *canon.Request) error {
	var role int
	switch it.role.Str {
	case "user":
		role = respRoleUser
	case "assistant":
		role = respRoleAssistant
	case "system", "developer":
		role = respRoleSystem
	default:
		return respField("input", i, "role", `must be "user", "assistant", "system" or "developer"`)
	}
	var dst *[]canon.Part
	if role == respRoleSystem {
		dst = &r.System
	} else {
		cr := canon.RoleUser
		if role == respRoleAssistant {
			cr = canon.RoleAssistant
		}
		dst = &respAddMessage(r, cr).Parts
	}
	switch {
	case it.content.Type == gjson.String:
		kind := canon.PartText
		*dst = append(*dst, canon.Part{Kind: kind, Text: respStr(it.content)})
	case it.content.IsArray():
		var err error
		*dst, err = respDecodeParts(it.content, respPath("input", i, "content"), role, *dst)
		return err
	default:
		return respField("input", i, "content", "must be a string or an array of content parts")
	}
	return nil
}

// respDecodeParts appends the content parts of list (at path) to dst.
func respDecodeParts(list gjson.Result, path string, role int, dst []canon.Part) ([]canon.Part, error) {
	j := -1
	var err error
	list.ForEach(func(_, c gjson.Result) bool {
		j++
		var p canon.Part
		p, err = respDecodePart(c, path, j, role)
		if err == nil {
			dst = append(dst, p)
		}
		return err == nil
	})
	return dst, err
}

func respDecodePart(c gjson.Result, path string, j, role int) (canon.Part, error) {
	if !c.IsObject() {
		return canon.Part{}, respField(path, j, "", "must be an object")
	}
	typ := c.Get("type").Str
	switch typ {
	case "input_text", "output_text":
		t := c.Get("text")
		if t.Type != gjson.String {
			return canon.Part{}, respField(path, j, "text", "must be a string")
		}
		// output_text's annotations (citations OpenAI's hosted tools
		// add) are dropped: no other vendor takes them as input.
		return canon.Part{Kind: canon.PartText, Text: respStr(t)}, nil
	case "refusal":
		kind := canon.PartRefusal
		if role != respRoleAssistant {
			kind = canon.PartText
		}
		return canon.Part{Kind: kind, Text: respStr(c.Get("refusal"))}, nil
	case "input_image":
		if role == respRoleAssistant || role == respRoleSystem {
			return canon.Part{}, respField(path, j, "type", "an image can only be part of user input or of a function call's output")
		}
		return respDecodeImage(c, path, j)
	case "input_file":
		if role == respRoleAssistant || role == respRoleSystem {
			return canon.Part{}, respField(path, j, "type", "a file can only be part of user input or of a function call's output")
		}
		return respDecodeFile(c, path, j)
	case "":
		return canon.Part{}, respField(path, j, "type", "is required")
	}
	return canon.Part{}, respField(path, j, "type", "only input_text, output_text, refusal, input_image and input_file "+
		"parts can be translated to another vendor")
}

func respDecodeImage(c gjson.Result, path string, j int) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartImage, Detail: respStr(c.Get("detail"))}
	if p.Detail == "auto" {
		p.Detail = "" // the default, said or not
	}
	u := c.Get("image_url")
	if u.Type != gjson.String || u.Str == "" {
		if c.Get("file_id").Exists() {
			return p, respField(path, j, "file_id", "refers to a file stored at OpenAI, which other vendors cannot read; send the image as image_url (a URL or a data: URL)")
		}
		return p, respField(path, j, "image_url", "is required")
	}
	if strings.HasPrefix(u.Str, "data:") {
		mt, data, ok := respDataURL(u.Str)
		if !ok {
			return p, respField(path, j, "image_url", "must be a base64 data: URL or an http(s) URL")
		}
		p.MediaType, p.Data = strings.Clone(mt), strings.Clone(data)
		return p, nil
	}
	p.URL = respStr(u)
	return p, nil
}

func respDecodeFile(c gjson.Result, path string, j int) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartDocument, Name: respStr(c.Get("filename"))}
	if d := c.Get("file_data"); d.Type == gjson.String && d.Str != "" {
		mt, data, ok := respDataURL(d.Str)
		if !ok {
			return p, respField(path, j, "file_data", "must be a base64 data: URL (data:application/pdf;base64,...)")
		}
		p.MediaType, p.Data = strings.Clone(mt), strings.Clone(data)
		return p, nil
	}
	if u := c.Get("file_url"); u.Type == gjson.String && u.Str != "" {
		p.URL = respStr(u)
		return p, nil
	}
	if c.Get("file_id").Exists() {
		return p, respField(path, j, "file_id", "refers to a file stored at OpenAI, which other vendors cannot read; send the file as file_data (a data: URL)")
	}
	return p, respField(path, j, "file_data", "is required")
}

// respDecodeReasoningItem reads a reasoning item into a thinking part: its
// summaries' text (or, without any, its reasoning_text content), joined by
// blank lines; encrypted_content into Redacted (OpenAI's, which only
// OpenAI can read) or Signature (another vendor's, marked by
// respSigPrefix); its id into ID.
func respDecodeReasoningItem(it *respItem, i int) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartThinking, ID: respStr(it.id)}
	texts := it.summary
	path := "summary"
	if !respHasElems(texts) {
		texts, path = it.content, "content"
	}
	if texts.Exists() && texts.Type != gjson.Null {
		if !texts.IsArray() {
			return p, respField("input", i, path, "must be an array")
		}
		var b strings.Builder
		n := 0
		var bad error
		texts.ForEach(func(_, s gjson.Result) bool {
			t := s.Get("text")
			if t.Type != gjson.String {
				bad = respField("input", i, respPath(path, n, "text"), "must be a string")
				return false
			}
			if n > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(t.Str)
			n++
			return true
		})
		if bad != nil {
			return p, bad
		}
		p.Text = b.String()
	}
	if it.enc.Type == gjson.String && it.enc.Str != "" {
		if sig, ok := strings.CutPrefix(it.enc.Str, respSigPrefix); ok {
			p.Signature = strings.Clone(sig)
		} else {
			p.Redacted = respStr(it.enc)
		}
	}
	return p, nil
}

// respHasElems reports whether v is an array with an element.
func respHasElems(v gjson.Result) bool {
	has := false
	if v.IsArray() {
		v.ForEach(func(_, _ gjson.Result) bool {
			has = true
			return false
		})
	}
	return has
}

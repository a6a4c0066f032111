package anthropic

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// codecPath is where a content block sits in a request: message msg,
// block block of its content, and inner (-1: none) of a tool result's
// content. Paths are spelled only for errors.
type codecPath struct{ msg, block, inner int }

// str spells the path as the client wrote it, then suffix.
func (p codecPath) str(suffix string) string {
	b := make([]byte, 0, 48)
	b = append(b, "messages["...)
	b = strconv.AppendInt(b, int64(p.msg), 10)
	if p.block >= 0 {
		b = append(b, "].content["...)
		b = strconv.AppendInt(b, int64(p.block), 10)
		if p.inner >= 0 {
			b = append(b, "].content["...)
			b = strconv.AppendInt(b, int64(p.inner), 10)
		}
	}
	b = append(b, ']')
	return string(append(b, suffix...))
}

// codecServerBlocks are the content blocks of Anthropic's server tools and
// features, which only an Anthropic upstream can read.
var codecServerBlocks = []string{
	"server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
	"bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
	"advisor_tool_result", "mcp_tool_use", "mcp_tool_result", "mcp_tool_listing", "container_upload",
	"search_result", "compaction", "tool_addition", "tool_removal", "tool_reference", "fallback",
}

// codecDecodeMessages reads messages, reusing the memory of r's messages
// and parts.
func codecDecodeMessages(v gjson.Result, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return canon.Fieldf("messages", "must be an array of messages")
	}
	var err error
	at := codecPath{block: -1, inner: -1}
	v.ForEach(func(_, m gjson.Result) bool {
		var role canon.Role
		switch m.Get("role").Str {
		case "user":
			role = canon.RoleUser
		case "assistant":
			role = canon.RoleAssistant
		default:
			err = canon.Fieldf(at.str(".role"), `must be "user" or "assistant" (the system prompt is the top-level system field)`)
			return false
		}
		n := len(r.Messages)
		if n < cap(r.Messages) {
			r.Messages = r.Messages[:n+1]
		} else {
			r.Messages = append(r.Messages, canon.Message{})
		}
		msg := &r.Messages[n]
		msg.Role = role
		msg.Parts, err = codecDecodeContent(m.Get("content"), msg.Parts[:0], at)
		at.msg++
		return err == nil
	})
	return err
}

// codecDecodeContent appends a message's content to dst: a string, or
// blocks.
func codecDecodeContent(v gjson.Result, dst []canon.Part, at codecPath) ([]canon.Part, error) {
	switch {
	case v.Type == gjson.String:
		return append(dst, canon.Part{Kind: canon.PartText, Text: codecStr(v)}), nil
	case !v.IsArray():
		return dst, canon.Fieldf(at.str(".content"), "must be a string or an array of content blocks")
	}
	var err error
	at.block = 0
	v.ForEach(func(_, b gjson.Result) bool {
		dst, err = codecDecodeBlock(b, dst, at)
		at.block++
		return err == nil
	})
	return dst, err
}

// codecFields are the members of a content block (or of a source, a
// delta, an event) read in one pass: gjson's Get scans an object anew for
// every key.
type codecFields struct {
	typ, text, source, cache, id, name, input, toolUseID, content, isError,
	thinking, signature, data, title, context, mediaType, url,
	partialJSON, stopReason, stopSequence gjson.Result
}

// codecReadFields reads obj's members into f.
func codecReadFields(obj gjson.Result, f *codecFields) {
	obj.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			f.typ = v
		case "text":
			f.text = v
		case "source":
			f.source = v
		case "cache_control":
			f.cache = v
		case "id":
			f.id = v
		case "name":
			f.name = v
		case "input":
			f.input = v
		case "tool_use_id":
			f.toolUseID = v
		case "content":
			f.content = v
		case "is_error":
			f.isError = v
		case "thinking":
			f.thinking = v
		case "signature":
			f.signature = v
		case "data":
			f.data = v
		case "title":
			f.title = v
		case "context":
			f.context = v
		case "media_type":
			f.mediaType = v
		case "url":
			f.url = v
		case "partial_json":
			f.partialJSON = v
		case "stop_reason":
			f.stopReason = v
		case "stop_sequence":
			f.stopSequence = v
		}
		return true
	})
}

// codecDecodeBlock appends the part (or parts) one content block makes.
func codecDecodeBlock(b gjson.Result, dst []canon.Part, at codecPath) ([]canon.Part, error) {
	var f codecFields
	codecReadFields(b, &f)
	var p canon.Part
	var err error
	switch typ := f.typ.Str; typ {
	case "text":
		// Dropped: citations (the model's own, from an earlier reply).
		p = canon.Part{Kind: canon.PartText, Text: codecStr(f.text)}
	case "image":
		p, err = codecDecodeImage(f.source, at)
	case "document":
		p, err = codecDecodeDocument(&f, at)
	case "tool_use":
		p = canon.Part{Kind: canon.PartToolCall, ID: codecStr(f.id), Name: codecStr(f.name)}
		switch in := f.input; {
		case in.IsObject():
			p.Args = strings.Clone(in.Raw)
		case in.Exists() && in.Type != gjson.Null:
			err = canon.Fieldf(at.str(".input"), "must be a JSON object")
		}
	case "tool_result":
		p, err = codecDecodeToolResult(&f, at)
	case "thinking":
		p = canon.Part{Kind: canon.PartThinking, Text: codecStr(f.thinking), Signature: codecStr(f.signature)}
	case "redacted_thinking":
		p = canon.Part{Kind: canon.PartThinking, Redacted: codecStr(f.data)}
	default:
		for _, s := range codecServerBlocks {
			if typ == s {
				return dst, canon.Fieldf(at.str(".type"), "a "+typ+" block belongs to an Anthropic server tool or feature: send this request to a model with an Anthropic upstream")
			}
		}
		return dst, canon.Fieldf(at.str(".type"), "is not a content block type Sluice can translate (text, image, document, tool_use, tool_result, thinking, redacted_thinking)")
	}
	if err != nil {
		return dst, err
	}
	if f.cache.Exists() {
		if p.Cache, err = codecDecodeCache(f.cache, at.str(".cache_control")); err != nil {
			return dst, err
		}
	}
	dst = append(dst, p)
	if p.Kind == canon.PartDocument && f.context.Type == gjson.String && f.context.Str != "" {
		// A document's context is text the model reads beside it.
		dst = append(dst, canon.Part{Kind: canon.PartText, Text: codecStr(f.context)})
	}
	return dst, nil
}

// codecDecodeImage reads an image block's source: base64 or url.
func codecDecodeImage(src gjson.Result, at codecPath) (canon.Part, error) {
	var f codecFields
	codecReadFields(src, &f)
	p := canon.Part{Kind: canon.PartImage}
	switch f.typ.Str {
	case "base64":
		p.MediaType, p.Data = codecStr(f.mediaType), codecStr(f.data)
	case "url":
		p.URL = codecStr(f.url)
	case "file":
		return p, canon.Fieldf(at.str(".source.type"), "a file from Anthropic's Files API is stored at Anthropic: send the image as base64 or a URL")
	default:
		return p, canon.Fieldf(at.str(".source.type"), `must be "base64" or "url"`)
	}
	return p, nil
}

// codecDecodeDocument reads a document block: a PDF (base64 or url) or
// plain text, whose data becomes base64 of media type text/plain; title is
// the part's Name (its context becomes a text part after it). Dropped:
// citations (the reply's text carries none).
func codecDecodeDocument(b *codecFields, at codecPath) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartDocument, Name: codecStr(b.title)}
	var f codecFields
	codecReadFields(b.source, &f)
	switch f.typ.Str {
	case "base64":
		p.MediaType, p.Data = codecStr(f.mediaType), codecStr(f.data)
	case "text":
		p.MediaType = "text/plain"
		p.Data = base64.StdEncoding.EncodeToString([]byte(f.data.Str))
	case "url":
		p.MediaType, p.URL = "application/pdf", codecStr(f.url)
	case "content":
		return p, canon.Fieldf(at.str(".source.type"), "a document of content blocks is read by Anthropic only: send its text as text blocks, or send this request to a model with an Anthropic upstream")
	case "file":
		return p, canon.Fieldf(at.str(".source.type"), "a file from Anthropic's Files API is stored at Anthropic: send the document as base64, text or a URL")
	default:
		return p, canon.Fieldf(at.str(".source.type"), `must be "base64", "text" or "url"`)
	}
	return p, nil
}

// codecDecodeToolResult reads a tool_result block: its content is a string
// or text, image and document blocks.
func codecDecodeToolResult(b *codecFields, at codecPath) (canon.Part, error) {
	p := canon.Part{Kind: canon.PartToolResult, ID: codecStr(b.toolUseID), IsError: b.isError.Type == gjson.True}
	c := b.content
	switch {
	case c.Type == gjson.String:
		p.Content = []canon.Part{{Kind: canon.PartText, Text: codecStr(c)}}
		return p, nil
	case !c.Exists() || c.Type == gjson.Null:
		return p, nil
	case !c.IsArray():
		return p, canon.Fieldf(at.str(".content"), "must be a string or an array of content blocks")
	}
	var err error
	at.inner = 0
	c.ForEach(func(_, ib gjson.Result) bool {
		switch t := ib.Get("type").Str; t {
		case "text", "image", "document":
			p.Content, err = codecDecodeBlock(ib, p.Content, at)
		default:
			err = canon.Fieldf(at.str(".type"), "a tool result's content must be text, image or document blocks")
		}
		at.inner++
		return err == nil
	})
	return p, err
}

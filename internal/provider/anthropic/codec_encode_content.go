package anthropic

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// codecCacheable reports whether the encoder writes message part p (and
// so its breakpoint): empty text is left out, as is thinking, which
// Anthropic does not let a breakpoint sit on; nested (a part of a tool
// result's content) only text, images and documents are written.
func codecCacheable(p *canon.Part, nested bool) bool {
	switch p.Kind {
	case canon.PartText, canon.PartRefusal:
		return p.Text != ""
	case canon.PartImage, canon.PartDocument:
		return true
	case canon.PartToolCall, canon.PartToolResult:
		return !nested
	}
	return false
}

// codecEncPath spells the canonical path of a part for an error.
func codecEncPath(msg, part int, suffix string) string {
	return "messages[" + strconv.Itoa(msg) + "].content[" + strconv.Itoa(part) + "]" + suffix
}

// messages writes the conversation. In a user message tool results come
// first, as Anthropic requires; a message left with no block (only empty
// text, or thinking without a signature) is left out, as Anthropic refuses
// empty content.
func (e *codecReqEnc) messages(msgs []canon.Message) error {
	e.dst = append(e.dst, `,"messages":[`...)
	first := true
	for i := range msgs {
		m := &msgs[i]
		mark := len(e.dst)
		if !first {
			e.dst = append(e.dst, ',')
		}
		switch m.Role {
		case canon.RoleUser:
			e.dst = append(e.dst, `{"role":"user","content":[`...)
		case canon.RoleAssistant:
			e.dst = append(e.dst, `{"role":"assistant","content":[`...)
		default:
			return canon.Fieldf("messages["+strconv.Itoa(i)+"].role", "must be user or assistant")
		}
		n := 0
		var err error
		if m.Role == canon.RoleUser {
			// Two passes: tool results, then the rest.
			if n, err = e.blocks(m.Parts, i, n, codecOnlyResults); err == nil {
				n, err = e.blocks(m.Parts, i, n, codecNoResults)
			}
		} else {
			n, err = e.blocks(m.Parts, i, n, codecAllParts)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			e.dst = e.dst[:mark]
			continue
		}
		e.dst = append(e.dst, "]}"...)
		first = false
	}
	e.dst = append(e.dst, ']')
	return nil
}

// Which parts blocks writes.
const (
	codecAllParts uint8 = iota
	codecOnlyResults
	codecNoResults
)

// blocks writes the parts only selects as content blocks, n of them
// written already, and returns how many there are then.
func (e *codecReqEnc) blocks(parts []canon.Part, msg, n int, only uint8) (int, error) {
	for j := range parts {
		p := &parts[j]
		result := p.Kind == canon.PartToolResult
		if only == codecOnlyResults && !result || only == codecNoResults && result {
			continue
		}
		mark := len(e.dst)
		if n > 0 {
			e.dst = append(e.dst, ',')
		}
		ok, err := e.block(p, msg, j)
		if err != nil {
			return n, err
		}
		if !ok {
			e.dst = e.dst[:mark]
			continue
		}
		n++
	}
	return n, nil
}

// block writes one part as a content block; ok is false for a part left
// out.
func (e *codecReqEnc) block(p *canon.Part, msg, part int) (ok bool, err error) {
	switch p.Kind {
	case canon.PartText, canon.PartRefusal:
		if p.Text == "" {
			return false, nil
		}
		e.dst = append(e.dst, `{"type":"text","text":`...)
		e.dst = wire.AppendJSONString(e.dst, p.Text)
	case canon.PartImage:
		if err := e.image(p, msg, part); err != nil {
			return false, err
		}
	case canon.PartDocument:
		if err := e.document(p, msg, part); err != nil {
			return false, err
		}
	case canon.PartToolCall:
		args := strings.TrimSpace(p.Args)
		if args == "" {
			args = "{}"
		}
		if !gjson.Valid(args) || args[0] != '{' {
			return false, canon.Fieldf(codecEncPath(msg, part, ".arguments"), "a tool call's arguments must be a JSON object")
		}
		e.dst = append(e.dst, `{"type":"tool_use","id":`...)
		e.toolID(p.ID)
		e.dst = append(e.dst, `,"name":`...)
		e.dst = wire.AppendJSONString(e.dst, p.Name)
		e.dst = append(e.dst, `,"input":`...)
		e.dst = append(e.dst, args...)
	case canon.PartToolResult:
		if err := e.toolResult(p, msg, part); err != nil {
			return false, err
		}
	case canon.PartThinking:
		switch {
		case p.Redacted != "":
			e.dst = append(e.dst, `{"type":"redacted_thinking","data":`...)
			e.dst = wire.AppendJSONString(e.dst, p.Redacted)
		case p.Signature == "":
			// Another vendor's reasoning carries no Anthropic signature,
			// which Anthropic requires.
			return false, nil
		default:
			e.dst = append(e.dst, `{"type":"thinking","thinking":`...)
			e.dst = wire.AppendJSONString(e.dst, p.Text)
			e.dst = append(e.dst, `,"signature":`...)
			e.dst = wire.AppendJSONString(e.dst, p.Signature)
		}
		e.dst = append(e.dst, '}')
		return true, nil
	default:
		return false, nil
	}
	e.cache(p.Cache)
	e.dst = append(e.dst, '}')
	return true, nil
}

// toolID writes a tool call's id as Anthropic takes it: letters, digits,
// '_' and '-' (another vendor's id has its other bytes replaced by '_',
// the same way in the call and in its result).
func (e *codecReqEnc) toolID(id string) {
	e.dst = append(e.dst, '"')
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			e.dst = append(e.dst, c)
		} else {
			e.dst = append(e.dst, '_')
		}
	}
	e.dst = append(e.dst, '"')
}

// codecDataURL splits a data URL, data:<media type>;base64,<data>.
func codecDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	head, data, found := strings.Cut(rest, ",")
	mediaType, found2 := strings.CutSuffix(head, ";base64")
	return mediaType, data, found && found2
}

// source writes a source object: base64 data, or a URL (a data URL as the
// base64 it holds).
func (e *codecReqEnc) source(mediaType, data, url string) bool {
	if data == "" {
		if mt, d, ok := codecDataURL(url); ok {
			mediaType, data = mt, d
		} else if strings.HasPrefix(url, "data:") || url == "" {
			return false
		}
	}
	if data != "" {
		e.dst = append(e.dst, `"source":{"type":"base64","media_type":`...)
		e.dst = wire.AppendJSONString(e.dst, mediaType)
		e.dst = append(e.dst, `,"data":`...)
		e.dst = wire.AppendJSONString(e.dst, data)
	} else {
		e.dst = append(e.dst, `"source":{"type":"url","url":`...)
		e.dst = wire.AppendJSONString(e.dst, url)
	}
	e.dst = append(e.dst, '}')
	return true
}

func (e *codecReqEnc) image(p *canon.Part, msg, part int) error {
	e.dst = append(e.dst, `{"type":"image",`...)
	if !e.source(p.MediaType, p.Data, p.URL) {
		return canon.Fieldf(codecEncPath(msg, part, ".image"), "an image needs base64 data or a URL")
	}
	return nil
}

// document writes a document: a PDF as base64 or a URL, or text (text/*
// media types, decoded from base64). Anthropic reads no other kind.
func (e *codecReqEnc) document(p *canon.Part, msg, part int) error {
	mt, data := p.MediaType, p.Data
	if data == "" {
		if dmt, d, ok := codecDataURL(p.URL); ok {
			mt, data = dmt, d
		}
	}
	e.dst = append(e.dst, `{"type":"document",`...)
	switch {
	case strings.HasPrefix(mt, "text/") && data != "":
		text, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return canon.Fieldf(codecEncPath(msg, part, ".document"), "a text document's data must be base64")
		}
		e.dst = append(e.dst, `"source":{"type":"text","media_type":"text/plain","data":`...)
		e.dst = wire.AppendJSONString(e.dst, wire.StringView(text))
		e.dst = append(e.dst, '}')
	case mt != "" && mt != "application/pdf":
		return canon.Fieldf(codecEncPath(msg, part, ".document"), "Anthropic reads PDF and plain-text documents only, not "+mt)
	case !e.source("application/pdf", data, p.URL):
		return canon.Fieldf(codecEncPath(msg, part, ".document"), "a document needs base64 data or a URL")
	}
	if p.Name != "" {
		e.dst = append(e.dst, `,"title":`...)
		e.dst = wire.AppendJSONString(e.dst, p.Name)
	}
	return nil
}

// toolResult writes a tool result: its content a string when it is one
// text part without a breakpoint, else blocks (text, image, document);
// content left empty is left out.
func (e *codecReqEnc) toolResult(p *canon.Part, msg, part int) error {
	e.dst = append(e.dst, `{"type":"tool_result","tool_use_id":`...)
	e.toolID(p.ID)
	c := p.Content
	switch {
	case len(c) == 1 && (c[0].Kind == canon.PartText || c[0].Kind == canon.PartRefusal) && !c[0].Cache.Set:
		if c[0].Text != "" {
			e.dst = append(e.dst, `,"content":`...)
			e.dst = wire.AppendJSONString(e.dst, c[0].Text)
		}
	case len(c) > 0:
		mark := len(e.dst)
		e.dst = append(e.dst, `,"content":[`...)
		n := 0
		for k := range c {
			q := &c[k]
			if !codecCacheable(q, true) {
				continue
			}
			at := len(e.dst)
			if n > 0 {
				e.dst = append(e.dst, ',')
			}
			ok, err := e.block(q, msg, part)
			if err != nil {
				return err
			}
			if !ok {
				e.dst = e.dst[:at]
				continue
			}
			n++
		}
		if n == 0 {
			e.dst = e.dst[:mark]
		} else {
			e.dst = append(e.dst, ']')
		}
	}
	if p.IsError {
		e.dst = append(e.dst, `,"is_error":true`...)
	}
	return nil
}

package gemini

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// encodeRequest appends r as a GenerateContentRequest to a Gemini
// upstream. The model and the stream flag go in the URL (UpstreamPath),
// not in the body.
func encodeRequest(dst []byte, r *canon.Request) ([]byte, error) {
	switch {
	case r.N > 1:
		return dst, canon.Fieldf("n", "Gemini answers one candidate per request here; ask for one")
	case r.PreviousResponseID != "":
		return dst, canon.Fieldf("previous_response_id", "Gemini keeps no conversation state; send the whole conversation")
	}
	dst = append(dst, `{"contents":[`...)
	n := 0
	var err error
	for i := range r.Messages {
		m := &r.Messages[i]
		if !hasWireParts(m.Parts) {
			continue // Gemini refuses a content without parts
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, `{"role":"`...)
		if m.Role == canon.RoleAssistant {
			dst = append(dst, "model"...)
		} else {
			dst = append(dst, "user"...)
		}
		dst = append(dst, `","parts":`...)
		if dst, err = appendParts(dst, r, i, m.Parts); err != nil {
			return dst, err
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if len(r.System) > 0 {
		dst = append(dst, `,"systemInstruction":{"parts":[`...)
		k := 0
		for i := range r.System {
			p := &r.System[i]
			if p.Kind != canon.PartText {
				return dst, canon.Fieldf("system", "Gemini's system instruction holds text only")
			}
			if k > 0 {
				dst = append(dst, ',')
			}
			k++
			dst = append(dst, `{"text":`...)
			dst = wire.AppendJSONString(dst, p.Text)
			dst = append(dst, '}')
		}
		dst = append(dst, `]}`...)
	}
	if len(r.Tools) > 0 {
		dst = append(dst, `,"tools":[{"functionDeclarations":[`...)
		for i := range r.Tools {
			t := &r.Tools[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = wire.AppendJSONString(dst, t.Name)
			if t.Description != "" {
				dst = append(dst, `,"description":`...)
				dst = wire.AppendJSONString(dst, t.Description)
			}
			if t.Schema != "" {
				// JSON Schema as it is: parametersJsonSchema takes what
				// the OpenAPI subset of "parameters" refuses
				// (additionalProperties, $ref, $defs, ...).
				dst = append(dst, `,"parametersJsonSchema":`...)
				dst = append(dst, t.Schema...)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, `]}]`...)
	}
	if tc := &r.ToolChoice; tc.Set {
		dst = append(dst, `,"toolConfig":{"functionCallingConfig":{"mode":"`...)
		switch tc.Mode {
		case canon.ToolNone:
			dst = append(dst, `NONE"`...)
		case canon.ToolRequired:
			dst = append(dst, `ANY"`...)
		case canon.ToolNamed:
			dst = append(dst, `ANY","allowedFunctionNames":[`...)
			dst = wire.AppendJSONString(dst, tc.Name)
			dst = append(dst, ']')
		default:
			dst = append(dst, `AUTO"`...)
		}
		dst = append(dst, `}}`...)
	}
	if dst, err = appendGenerationConfig(dst, r); err != nil {
		return dst, err
	}
	switch r.ServiceTier {
	case "flex", "priority":
		dst = append(dst, `,"serviceTier":"`...)
		dst = append(dst, r.ServiceTier...)
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}

// hasWireParts reports whether parts write at least one Gemini part.
func hasWireParts(parts []canon.Part) bool {
	for i := range parts {
		p := &parts[i]
		if p.Kind != canon.PartThinking || p.Text != "" || p.Signature != "" {
			return true
		}
	}
	return false
}

// appendParts appends a message's parts as a JSON array. A thinking part
// with no text but a signature is written as the thoughtSignature of the
// part after it, as Gemini signs the part that follows its thinking; with
// no part after it, on an empty text part.
func appendParts(dst []byte, r *canon.Request, msg int, parts []canon.Part) ([]byte, error) {
	dst = append(dst, '[')
	n := 0
	sig := ""
	signed := false // a part of the message carries a signature already
	var err error
	for i := range parts {
		p := &parts[i]
		if p.Kind == canon.PartThinking && p.Text == "" {
			// Redacted thinking (another vendor's opaque data) is dropped.
			if p.Signature != "" {
				if sig != "" {
					dst = appendSigOnly(dst, &n, sig)
				}
				sig = p.Signature
			}
			continue
		}
		if p.Kind == canon.PartThinking && p.Signature != "" && sig != "" {
			dst = appendSigOnly(dst, &n, sig)
			sig = ""
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, '{')
		switch p.Kind {
		case canon.PartText, canon.PartRefusal:
			dst = append(dst, `"text":`...)
			dst = wire.AppendJSONString(dst, p.Text)
		case canon.PartThinking:
			dst = append(dst, `"text":`...)
			dst = wire.AppendJSONString(dst, p.Text)
			dst = append(dst, `,"thought":true`...)
			if p.Signature != "" {
				sig = p.Signature // one pending is written before this part
			}
		case canon.PartImage, canon.PartDocument:
			dst = appendMedia(dst, p)
		case canon.PartToolCall:
			if sig == "" && !signed && r.Messages[msg].Role == canon.RoleAssistant && gemini3(r.Model) {
				// Gemini 3 refuses a replayed call whose signature another
				// format lost: its documented sentinel skips the check.
				sig = skipSignature
			}
			signed = true
			dst = append(dst, `"functionCall":{`...)
			if p.ID != "" {
				dst = append(dst, `"id":`...)
				dst = wire.AppendJSONString(dst, p.ID)
				dst = append(dst, ',')
			}
			dst = append(dst, `"name":`...)
			dst = wire.AppendJSONString(dst, p.Name)
			dst = append(dst, `,"args":`...)
			dst = appendArgs(dst, p.Args)
			dst = append(dst, '}')
		case canon.PartToolResult:
			if dst, err = appendFunctionResponse(dst, r, msg, i, p); err != nil {
				return dst, err
			}
		default:
			return dst, canon.Fieldf("messages["+strconv.Itoa(msg)+"].content["+strconv.Itoa(i)+"]", "a part of a kind Gemini cannot carry")
		}
		if sig != "" {
			dst = append(dst, `,"thoughtSignature":`...)
			dst = wire.AppendJSONString(dst, sig)
			sig, signed = "", true
		}
		dst = append(dst, '}')
	}
	if sig != "" {
		dst = appendSigOnly(dst, &n, sig)
	}
	return append(dst, ']'), nil
}

// skipSignature is the thought signature Gemini documents for a function
// call replayed from a history that has none (one written by another model
// or format): it skips the signature check of Gemini 3 models.
const skipSignature = "skip_thought_signature_validator"

// gemini3 reports whether model is Gemini 3 or later (or a -latest alias,
// which names the newest models): those require the thought signatures of
// replayed function calls and take thinking levels.
func gemini3(model string) bool {
	model = trimModels(model)
	rest, ok := strings.CutPrefix(model, "gemini-")
	if !ok {
		return false
	}
	if strings.HasSuffix(rest, "-latest") {
		return true
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	v, err := strconv.Atoi(rest[:n])
	return err == nil && v >= 3
}

// appendSigOnly appends a part that carries only a thought signature.
func appendSigOnly(dst []byte, n *int, sig string) []byte {
	if *n > 0 {
		dst = append(dst, ',')
	}
	*n++
	dst = append(dst, `{"text":"","thoughtSignature":`...)
	dst = wire.AppendJSONString(dst, sig)
	return append(dst, '}')
}

// appendArgs appends a tool call's arguments: a JSON object as given, or
// {} for none or for text that is not an object (Gemini takes objects
// only).
func appendArgs(dst []byte, args string) []byte {
	if args == "" || !gjson.Valid(args) || !gjson.Parse(args).IsObject() {
		return append(dst, "{}"...)
	}
	return append(dst, args...)
}

// appendMedia appends an image or document part's member: inlineData for
// base64 data (a data: URL included), fileData for a URL.
func appendMedia(dst []byte, p *canon.Part) []byte {
	mt, data := p.MediaType, p.Data
	if data == "" {
		if m, d, ok := dataURL(p.URL); ok {
			data = d
			if mt == "" {
				mt = m
			}
		}
	}
	if mt == "" {
		mt = guessType(p)
	}
	if data != "" {
		dst = append(dst, `"inlineData":{"mimeType":`...)
		dst = wire.AppendJSONString(dst, mt)
		dst = append(dst, `,"data":`...)
		dst = wire.AppendJSONString(dst, data)
	} else {
		dst = append(dst, `"fileData":{"mimeType":`...)
		dst = wire.AppendJSONString(dst, mt)
		dst = append(dst, `,"fileUri":`...)
		dst = wire.AppendJSONString(dst, p.URL)
	}
	if p.Kind == canon.PartDocument && p.Name != "" {
		dst = append(dst, `,"displayName":`...)
		dst = wire.AppendJSONString(dst, p.Name)
	}
	return append(dst, '}')
}

// dataURL splits a data:MEDIATYPE;base64,DATA URL.
func dataURL(u string) (mt, data string, ok bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", "", false
	}
	head, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", false
	}
	mt, b64 := strings.CutSuffix(head, ";base64")
	if !b64 {
		return "", "", false
	}
	return mt, data, true
}

// guessType names a media type for a part that has none, which Gemini
// requires: from the URL's extension, else image/jpeg for an image and
// application/pdf for a document.
func guessType(p *canon.Part) string {
	u := strings.ToLower(p.URL)
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	switch {
	case strings.HasSuffix(u, ".png"):
		return "image/png"
	case strings.HasSuffix(u, ".gif"):
		return "image/gif"
	case strings.HasSuffix(u, ".webp"):
		return "image/webp"
	case strings.HasSuffix(u, ".jpg"), strings.HasSuffix(u, ".jpeg"):
		return "image/jpeg"
	case strings.HasSuffix(u, ".txt"):
		return "text/plain"
	}
	if p.Kind == canon.PartImage {
		return "image/jpeg"
	}
	return "application/pdf"
}

// appendFunctionResponse appends a tool result as a functionResponse: the
// function's name (from the call it answers when the result has none),
// its text as the response object ({"output": text}, {"error": text} for
// a failed call, or the text itself when it is a JSON object), and its
// images and documents as the response's parts.
func appendFunctionResponse(dst []byte, r *canon.Request, msg, idx int, p *canon.Part) ([]byte, error) {
	name := p.Name
	if name == "" {
		name = callName(r, msg, p.ID)
	}
	if name == "" {
		return dst, canon.Fieldf("messages["+strconv.Itoa(msg)+"].content["+strconv.Itoa(idx)+"].tool_call_id",
			"Gemini needs the name of the function a result answers: no earlier tool call has this id")
	}
	dst = append(dst, `"functionResponse":{`...)
	if p.ID != "" {
		dst = append(dst, `"id":`...)
		dst = wire.AppendJSONString(dst, p.ID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"name":`...)
	dst = wire.AppendJSONString(dst, name)
	dst = append(dst, `,"response":`...)
	text := canon.Text(p.Content)
	switch {
	case p.IsError:
		dst = append(dst, `{"error":`...)
		dst = wire.AppendJSONString(dst, text)
		dst = append(dst, '}')
	case isJSONObject(text):
		dst = append(dst, text...)
	default:
		dst = append(dst, `{"output":`...)
		dst = wire.AppendJSONString(dst, text)
		dst = append(dst, '}')
	}
	media := 0
	for i := range p.Content {
		c := &p.Content[i]
		if c.Kind != canon.PartImage && c.Kind != canon.PartDocument {
			continue
		}
		if media == 0 {
			dst = append(dst, `,"parts":[`...)
		} else {
			dst = append(dst, ',')
		}
		media++
		dst = append(dst, '{')
		dst = appendMedia(dst, c)
		dst = append(dst, '}')
	}
	if media > 0 {
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// isJSONObject reports whether s is a JSON object.
func isJSONObject(s string) bool {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i < len(s) && s[i] == '{' && gjson.Valid(s)
}

// callName returns the name of the tool call with id in the messages
// before msg (the latest such call), "" when there is none.
func callName(r *canon.Request, msg int, id string) string {
	if id == "" {
		return ""
	}
	for i := min(msg, len(r.Messages)-1); i >= 0; i-- {
		parts := r.Messages[i].Parts
		for j := len(parts) - 1; j >= 0; j-- {
			if p := &parts[j]; p.Kind == canon.PartToolCall && p.ID == id {
				return p.Name
			}
		}
	}
	return ""
}

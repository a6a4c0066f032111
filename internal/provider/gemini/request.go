package gemini

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// decodeRequest reads a GenerateContentRequest from a Gemini client. The
// model and the stream flag are in the URL: the gateway sets r.Model and
// r.Stream (ParsePath). Every member Gemini's API defines is carried,
// dropped by a rule or refused (TRANSLATION.md); a member it does not
// define is refused, as Gemini itself refuses it.
func decodeRequest(body []byte, r *canon.Request) error {
	r.Reset()
	s := wire.StringView(body)
	if !gjson.Valid(s) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return canon.Fieldf("body", "must be a JSON object (a GenerateContentRequest)")
	}
	d := reqDecoder{r: r}
	var err error
	root.ForEach(func(k, v gjson.Result) bool {
		err = d.member(k.Str, v)
		return err == nil
	})
	if err != nil {
		return err
	}
	if len(r.Messages) == 0 {
		return canon.Fieldf("contents", "must hold at least one content")
	}
	return d.finish()
}

// reqDecoder holds what decoding one request needs beyond r.
type reqDecoder struct {
	r *canon.Request
	// calls counts the functionCall parts read, for the ids of those that
	// have none (call_<n>).
	calls int
	// What is settled once every member is read.
	mime, mimeKey      string
	schema, schemaKey  string
	allowed            []string // toolConfig's allowedFunctionNames
	allowedKey         string
	validated, anyMode bool
}

func (d *reqDecoder) member(k string, v gjson.Result) error {
	r := d.r
	switch fieldName(k) {
	case "contents":
		if !v.IsArray() {
			return canon.Fieldf(k, "must be an array of contents")
		}
		i := 0
		var err error
		kl := loc{key: k}
		v.ForEach(func(_, c gjson.Result) bool {
			el := kl.elem(i)
			err = d.content(&el, c)
			i++
			return err == nil
		})
		return err
	case "systemInstruction":
		return d.system(&loc{key: k}, v)
	case "tools":
		return d.tools(&loc{key: k}, v)
	case "toolConfig":
		return d.toolConfig(&loc{key: k}, v)
	case "generationConfig":
		return d.generationConfig(&loc{key: k}, v)
	case "safetySettings":
		// Dropped: only Gemini filters by these categories (TRANSLATION.md).
		return nil
	case "cachedContent":
		return canon.Fieldf(k, "a Gemini cached content cannot be carried to another provider; send its contents in the request instead")
	case "model":
		// The model is the URL's; the gateway sets it.
		return nil
	case "labels":
		if !v.IsObject() {
			return canon.Fieldf(k, "must be an object of string labels")
		}
		var err error
		v.ForEach(func(lk, lv gjson.Result) bool {
			if lv.Type != gjson.String {
				err = canon.Fieldf(k+"."+lk.Str, "must be a string")
				return false
			}
			r.Metadata = append(r.Metadata, canon.KV{Key: own(lk), Value: own(lv)})
			return true
		})
		return err
	case "serviceTier":
		if v.Type != gjson.String {
			return canon.Fieldf(k, "must be a string")
		}
		// flex and priority are OpenAI's names too; standard is the default.
		switch strings.ToLower(v.Str) {
		case "flex":
			r.ServiceTier = "flex"
		case "priority":
			r.ServiceTier = "priority"
		}
		return nil
	}
	return canon.Fieldf(k, "is not a field of Gemini's GenerateContentRequest")
}

// finish settles what depends on several members: the response format,
// the tools toolConfig allows, strict tools.
func (d *reqDecoder) finish() error {
	r := d.r
	switch {
	case d.mime == "" || strings.EqualFold(d.mime, "text/plain"):
		if d.schema != "" {
			return canon.Fieldf(d.schemaKey, "needs responseMimeType application/json")
		}
	case strings.EqualFold(d.mime, "application/json"):
		r.Format.Kind = canon.FormatJSONObject
		if d.schema != "" {
			r.Format.Kind, r.Format.Schema = canon.FormatJSONSchema, d.schema
		}
	default:
		return canon.Fieldf(d.mimeKey, "only text/plain and application/json can be translated")
	}
	if d.validated {
		for i := range r.Tools {
			r.Tools[i].Strict = true
		}
	}
	if !d.anyMode || len(d.allowed) == 0 {
		return nil
	}
	// ANY with allowedFunctionNames: one name is a named tool; several
	// keep only the tools named, which the model must then call.
	if len(d.allowed) == 1 {
		r.ToolChoice.Mode, r.ToolChoice.Name = canon.ToolNamed, d.allowed[0]
		return nil
	}
	kept := r.Tools[:0]
	for _, t := range r.Tools {
		for _, n := range d.allowed {
			if t.Name == n {
				kept = append(kept, t)
				break
			}
		}
	}
	if len(kept) == 0 {
		return canon.Fieldf(d.allowedKey, "names no declared function")
	}
	clear(r.Tools[len(kept):])
	r.Tools = kept
	return nil
}

// content reads one Content of contents.
func (d *reqDecoder) content(l *loc, c gjson.Result) error {
	if !c.IsObject() {
		return canon.Fieldf(l.String(), "must be a Content object")
	}
	var role, parts gjson.Result
	var roleKey, partsKey string
	var err error
	c.ForEach(func(k, v gjson.Result) bool {
		switch fieldName(k.Str) {
		case "role":
			role, roleKey = v, k.Str
		case "parts":
			parts, partsKey = v, k.Str
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's Content")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if role.Exists() && role.Type != gjson.String {
		return canon.Fieldf(l.at(roleKey), "must be user or model")
	}
	var rl canon.Role
	switch role.Str {
	case "", "user", "function":
		// Gemini takes an unnamed role as the user's; "function" is its
		// older role for function responses.
		rl = canon.RoleUser
	case "model":
		rl = canon.RoleAssistant
	default:
		return canon.Fieldf(l.at(roleKey), "must be user or model")
	}
	if !parts.IsArray() {
		return canon.Fieldf(l.at("parts"), "must be an array of parts")
	}
	m := d.newMessage(rl)
	i := 0
	pl := l.member(partsKey)
	parts.ForEach(func(_, p gjson.Result) bool {
		el := pl.elem(i)
		err = d.part(&el, p, m)
		i++
		return err == nil
	})
	return err
}

// newMessage appends a message to r, reusing the memory of an earlier
// request's message there.
func (d *reqDecoder) newMessage(role canon.Role) *canon.Message {
	r := d.r
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

// system reads systemInstruction: a Content whose parts are text.
func (d *reqDecoder) system(l *loc, c gjson.Result) error {
	if !c.IsObject() {
		return canon.Fieldf(l.String(), "must be a Content object")
	}
	var err error
	c.ForEach(func(k, v gjson.Result) bool {
		switch fieldName(k.Str) {
		case "role":
		case "parts":
			if !v.IsArray() {
				err = canon.Fieldf(l.at(k.Str), "must be an array of parts")
				return false
			}
			i := 0
			pl := l.member(k.Str)
			v.ForEach(func(_, p gjson.Result) bool {
				el := pl.elem(i)
				i++
				var text gjson.Result
				p.ForEach(func(pk, pv gjson.Result) bool {
					if fieldName(pk.Str) != "text" || pv.Type != gjson.String {
						err = canon.Fieldf(el.at(pk.Str), "a system instruction can only hold text parts")
						return false
					}
					text = pv
					return true
				})
				if err == nil {
					d.r.System = append(d.r.System, canon.Part{Kind: canon.PartText, Text: own(text)})
				}
				return err == nil
			})
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's Content")
		}
		return err == nil
	})
	return err
}

// part reads one Part into m.
func (d *reqDecoder) part(l *loc, p gjson.Result, m *canon.Message) error {
	if !p.IsObject() {
		return canon.Fieldf(l.String(), "must be a Part object")
	}
	var data, sig gjson.Result
	var dataKey, kind string
	thought := false
	var err error
	p.ForEach(func(k, v gjson.Result) bool {
		name := fieldName(k.Str)
		switch name {
		case "text", "inlineData", "fileData", "functionCall", "functionResponse":
			if kind != "" {
				err = canon.Fieldf(l.at(k.Str), "a part holds one of text, inlineData, fileData, functionCall and functionResponse")
				return false
			}
			kind, data, dataKey = name, v, k.Str
		case "thought":
			thought = v.Type == gjson.True
		case "thoughtSignature":
			if v.Type != gjson.String {
				err = canon.Fieldf(l.at(k.Str), "must be a base64 string")
			}
			sig = v
		case "mediaResolution", "partMetadata":
			// Dropped (TRANSLATION.md).
		case "executableCode", "codeExecutionResult", "toolCall", "toolResponse":
			err = canon.Fieldf(l.at(k.Str), "Gemini's built-in tools cannot be translated; drop this part from the history")
		case "videoMetadata":
			err = canon.Fieldf(l.at(k.Str), "video input cannot be translated")
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's Part")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	dl := l.member(dataKey)
	switch {
	case thought:
		if kind != "" && kind != "text" {
			return canon.Fieldf(dl.String(), "a thought part holds text")
		}
		if kind == "text" && data.Type != gjson.String {
			return canon.Fieldf(dl.String(), "must be a string")
		}
		m.Parts = append(m.Parts, canon.Part{Kind: canon.PartThinking, Text: own(data), Signature: own(sig)})
		return nil
	case kind == "":
		if sig.Exists() {
			m.Parts = append(m.Parts, canon.Part{Kind: canon.PartThinking, Signature: own(sig)})
			return nil
		}
		return canon.Fieldf(l.String(), "a part must hold text, inlineData, fileData, functionCall or functionResponse")
	}
	// A signature on a part that is not a thought signs the model's
	// thinking up to that part: it becomes a thinking part of its own,
	// before it (TRANSLATION.md, "Thought signatures").
	if sig.Exists() {
		m.Parts = append(m.Parts, canon.Part{Kind: canon.PartThinking, Signature: own(sig)})
	}
	switch kind {
	case "text":
		if data.Type != gjson.String {
			return canon.Fieldf(dl.String(), "must be a string")
		}
		if data.Str == "" && sig.Exists() {
			return nil // the carrier of a signature only
		}
		m.Parts = append(m.Parts, canon.Part{Kind: canon.PartText, Text: own(data)})
		return nil
	case "inlineData", "fileData":
		part, err := media(&dl, kind == "fileData", data)
		if err != nil {
			return err
		}
		m.Parts = append(m.Parts, part)
		return nil
	case "functionCall":
		return d.functionCall(&dl, data, m)
	}
	return d.functionResponse(&dl, data, m)
}

// media reads an inlineData (Blob) or fileData (FileData) object.
func media(l *loc, file bool, v gjson.Result) (canon.Part, error) {
	if !v.IsObject() {
		return canon.Part{}, canon.Fieldf(l.String(), "must be an object")
	}
	var p canon.Part
	var mimeKey string
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		if f.Type != gjson.String {
			err = canon.Fieldf(l.at(k.Str), "must be a string")
			return false
		}
		switch fieldName(k.Str) {
		case "mimeType":
			p.MediaType, mimeKey = own(f), k.Str
		case "data":
			if file {
				err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's FileData")
			}
			p.Data = own(f)
		case "fileUri":
			if !file {
				err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's Blob")
			}
			p.URL = own(f)
		case "displayName":
			p.Name = own(f)
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's Blob or FileData")
		}
		return err == nil
	})
	if err != nil {
		return p, err
	}
	switch {
	case file && p.URL == "":
		return p, canon.Fieldf(l.at("fileUri"), "is required")
	case !file && p.Data == "":
		return p, canon.Fieldf(l.at("data"), "is required")
	case !file && p.MediaType == "":
		return p, canon.Fieldf(l.at("mimeType"), "is required")
	}
	mt := strings.ToLower(p.MediaType)
	switch {
	case strings.HasPrefix(mt, "image/"):
		p.Kind = canon.PartImage
		p.Name = ""
	case strings.HasPrefix(mt, "audio/"):
		return p, canon.Fieldf(l.at(mimeKey), "audio input cannot be translated")
	case strings.HasPrefix(mt, "video/"):
		return p, canon.Fieldf(l.at(mimeKey), "video input cannot be translated")
	default:
		p.Kind = canon.PartDocument
	}
	return p, nil
}

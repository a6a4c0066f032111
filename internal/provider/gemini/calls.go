package gemini

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// Function calls and responses of a request, and how responses without
// ids are paired with their calls.

// functionCall reads a FunctionCall: the model called a function.
func (d *reqDecoder) functionCall(l *loc, v gjson.Result, m *canon.Message) error {
	if !v.IsObject() {
		return canon.Fieldf(l.String(), "must be an object")
	}
	p := canon.Part{Kind: canon.PartToolCall}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch fieldName(k.Str) {
		case "id":
			p.ID = own(f)
		case "name":
			p.Name = own(f)
		case "args":
			if !f.IsObject() {
				err = canon.Fieldf(l.at(k.Str), "must be an object")
			}
			p.Args = ownRaw(f)
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's FunctionCall")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if p.Name == "" {
		return canon.Fieldf(l.at("name"), "is required")
	}
	if p.Args == "" {
		p.Args = "{}"
	}
	if p.ID == "" {
		p.ID = callID(d.calls)
	}
	d.calls++
	m.Parts = append(m.Parts, p)
	return nil
}

// callID is the id given to the n-th function call of a request that has
// none: the same request always gets the same ids.
func callID(n int) string { return "call_" + strconv.Itoa(n) }

// functionResponse reads a FunctionResponse: the result of a call.
func (d *reqDecoder) functionResponse(l *loc, v gjson.Result, m *canon.Message) error {
	if !v.IsObject() {
		return canon.Fieldf(l.String(), "must be an object")
	}
	p := canon.Part{Kind: canon.PartToolResult}
	var resp, parts gjson.Result
	var partsKey string
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch fieldName(k.Str) {
		case "id":
			p.ID = own(f)
		case "name":
			p.Name = own(f)
		case "response":
			if !f.IsObject() {
				err = canon.Fieldf(l.at(k.Str), "must be an object")
			}
			resp = f
		case "parts":
			if !f.IsArray() {
				err = canon.Fieldf(l.at(k.Str), "must be an array")
			}
			parts, partsKey = f, k.Str
		case "willContinue", "scheduling":
			err = canon.Fieldf(l.at(k.Str), "only the Live API takes it")
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's FunctionResponse")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if p.Name == "" {
		return canon.Fieldf(l.at("name"), "is required")
	}
	if p.ID == "" {
		p.ID = d.pairCall(p.Name)
	}
	if text, isErr, ok := responseText(resp); ok {
		p.IsError = isErr
		p.Content = append(p.Content, canon.Part{Kind: canon.PartText, Text: text})
	}
	i := 0
	pl := l.member(partsKey)
	parts.ForEach(func(_, fp gjson.Result) bool {
		el := pl.elem(i)
		i++
		if !fp.IsObject() {
			err = canon.Fieldf(el.String(), "must be an object")
			return false
		}
		fp.ForEach(func(k, f gjson.Result) bool {
			var c canon.Part
			switch name := fieldName(k.Str); name {
			case "inlineData", "fileData":
				ml := el.member(k.Str)
				c, err = media(&ml, name == "fileData", f)
			default:
				err = canon.Fieldf(el.at(k.Str), "is not a field of Gemini's FunctionResponsePart")
			}
			if err == nil {
				p.Content = append(p.Content, c)
			}
			return err == nil
		})
		return err == nil
	})
	if err != nil {
		return err
	}
	m.Parts = append(m.Parts, p)
	return nil
}

// responseText returns the text a function response's object becomes: the
// string of {"output": "..."} or {"error": "..."} (isErr), the object's own
// JSON otherwise (Gemini's documented keys for a function's output and its
// error). ok is false when there is no response object.
func responseText(resp gjson.Result) (text string, isErr, ok bool) {
	if !resp.Exists() {
		return "", false, false
	}
	var only, key gjson.Result
	n := 0
	resp.ForEach(func(k, v gjson.Result) bool {
		n++
		key, only = k, v
		return n < 2
	})
	if n == 1 {
		switch key.Str {
		case "output":
			if only.Type == gjson.String {
				return own(only), false, true
			}
		case "error":
			if only.Type == gjson.String {
				return own(only), true, true
			}
			return ownRaw(only), true, true
		}
	}
	return ownRaw(resp), false, true
}

// pairCall returns the id of the earliest function call named name that no
// response answers yet, in the messages read so far (m, the message being
// read, included, as it is appended to r already): Gemini pairs responses with calls by name and order
// when they carry no ids. With none to pair, it is a new id.
func (d *reqDecoder) pairCall(name string) string {
	msgs := d.r.Messages
	for i := range msgs {
		for j := range msgs[i].Parts {
			c := &msgs[i].Parts[j]
			if c.Kind == canon.PartToolCall && c.Name == name && !d.answered(c.ID) {
				return c.ID
			}
		}
	}
	id := callID(d.calls)
	d.calls++
	return id
}

// answered reports whether a function response read so far has id.
func (d *reqDecoder) answered(id string) bool {
	msgs := d.r.Messages
	for i := range msgs {
		for j := range msgs[i].Parts {
			if p := &msgs[i].Parts[j]; p.Kind == canon.PartToolResult && p.ID == id {
				return true
			}
		}
	}
	return false
}

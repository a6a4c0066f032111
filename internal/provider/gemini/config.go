package gemini

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// tools reads tools: function declarations are carried; Gemini's built-in
// tools (Google Search, code execution, ...) run at Google and cannot be
// translated.
func (d *reqDecoder) tools(l *loc, v gjson.Result) error {
	if !v.IsArray() {
		return canon.Fieldf(l.String(), "must be an array of tools")
	}
	i := 0
	var err error
	v.ForEach(func(_, t gjson.Result) bool {
		tl := l.elem(i)
		i++
		if !t.IsObject() {
			err = canon.Fieldf(tl.String(), "must be a Tool object")
			return false
		}
		t.ForEach(func(k, f gjson.Result) bool {
			if fieldName(k.Str) != "functionDeclarations" {
				err = canon.Fieldf(tl.at(k.Str), "only functionDeclarations can be translated: Gemini's built-in tools run at Google")
				return false
			}
			kl := tl.member(k.Str)
			err = d.declarations(&kl, f)
			return err == nil
		})
		return err == nil
	})
	return err
}

// declarations reads a Tool's functionDeclarations.
func (d *reqDecoder) declarations(l *loc, v gjson.Result) error {
	if !v.IsArray() {
		return canon.Fieldf(l.String(), "must be an array")
	}
	i := 0
	var err error
	v.ForEach(func(_, fd gjson.Result) bool {
		fl := l.elem(i)
		i++
		if !fd.IsObject() {
			err = canon.Fieldf(fl.String(), "must be a FunctionDeclaration object")
			return false
		}
		var t canon.Tool
		fd.ForEach(func(k, f gjson.Result) bool {
			switch fieldName(k.Str) {
			case "name":
				t.Name = own(f)
			case "description":
				t.Description = own(f)
			case "parameters":
				if t.Schema != "" {
					err = canon.Fieldf(fl.at(k.Str), "parameters and parametersJsonSchema exclude each other")
					return false
				}
				var b []byte
				kl := fl.member(k.Str)
				if b, err = appendSchema(nil, &kl, f, 0); err == nil {
					t.Schema = string(b)
				}
			case "parametersJsonSchema":
				if t.Schema != "" {
					err = canon.Fieldf(fl.at(k.Str), "parameters and parametersJsonSchema exclude each other")
					return false
				}
				if !f.IsObject() {
					err = canon.Fieldf(fl.at(k.Str), "must be a JSON Schema object")
					return false
				}
				t.Schema = ownRaw(f)
			case "response", "responseJsonSchema", "behavior":
				// Dropped: the shape of the function's result, and the
				// Live API's scheduling (TRANSLATION.md).
			default:
				err = canon.Fieldf(fl.at(k.Str), "is not a field of Gemini's FunctionDeclaration")
			}
			return err == nil
		})
		if err == nil && t.Name == "" {
			err = canon.Fieldf(fl.at("name"), "is required")
		}
		if err == nil {
			d.r.Tools = append(d.r.Tools, t)
		}
		return err == nil
	})
	return err
}

// toolConfig reads toolConfig.functionCallingConfig.
func (d *reqDecoder) toolConfig(l *loc, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf(l.String(), "must be an object")
	}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch fieldName(k.Str) {
		case "functionCallingConfig":
			kl := l.member(k.Str)
			err = d.functionCalling(&kl, f)
		case "retrievalConfig":
			// Dropped: it serves the built-in tools, which are refused.
		case "includeServerSideToolInvocations":
			// Dropped: the same.
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's ToolConfig")
		}
		return err == nil
	})
	return err
}

func (d *reqDecoder) functionCalling(l *loc, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf(l.String(), "must be an object")
	}
	tc := &d.r.ToolChoice
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch fieldName(k.Str) {
		case "mode":
			switch strings.ToUpper(f.Str) {
			case "AUTO", "MODE_UNSPECIFIED":
				tc.Mode, tc.Set = canon.ToolAuto, true
			case "VALIDATED":
				tc.Mode, tc.Set, d.validated = canon.ToolAuto, true, true
			case "ANY":
				tc.Mode, tc.Set, d.anyMode = canon.ToolRequired, true, true
			case "NONE":
				tc.Mode, tc.Set = canon.ToolNone, true
			default:
				err = canon.Fieldf(l.at(k.Str), "must be AUTO, ANY, NONE or VALIDATED")
			}
		case "allowedFunctionNames":
			if !f.IsArray() {
				err = canon.Fieldf(l.at(k.Str), "must be an array of names")
				return false
			}
			d.allowedKey = l.at(k.Str)
			f.ForEach(func(_, n gjson.Result) bool {
				d.allowed = append(d.allowed, own(n))
				return true
			})
		default:
			err = canon.Fieldf(l.at(k.Str), "is not a field of Gemini's FunctionCallingConfig")
		}
		return err == nil
	})
	return err
}

// generationConfig reads generationConfig.
func (d *reqDecoder) generationConfig(l *loc, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf(l.String(), "must be an object")
	}
	r := d.r
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		fl := l.member(k.Str)
		switch fieldName(k.Str) {
		case "stopSequences":
			if !f.IsArray() {
				err = canon.Fieldf(fl.String(), "must be an array of strings")
				return false
			}
			f.ForEach(func(_, s gjson.Result) bool {
				r.Stop = append(r.Stop, own(s))
				return true
			})
		case "responseMimeType":
			d.mime, d.mimeKey = own(f), fl.String()
		case "responseSchema":
			if d.schema != "" {
				err = canon.Fieldf(fl.String(), "responseSchema and responseJsonSchema exclude each other")
				return false
			}
			var b []byte
			if b, err = appendSchema(nil, &fl, f, 0); err == nil {
				d.schema, d.schemaKey = string(b), fl.String()
			}
		case "responseJsonSchema":
			if d.schema != "" {
				err = canon.Fieldf(fl.String(), "responseSchema and responseJsonSchema exclude each other")
				return false
			}
			if !f.IsObject() {
				err = canon.Fieldf(fl.String(), "must be a JSON Schema object")
				return false
			}
			d.schema, d.schemaKey = ownRaw(f), fl.String()
		case "responseModalities":
			f.ForEach(func(_, m gjson.Result) bool {
				if !strings.EqualFold(m.Str, "TEXT") {
					err = canon.Fieldf(fl.String(), "only TEXT output can be translated")
				}
				return err == nil
			})
		case "candidateCount":
			n, ok := intValue(f)
			switch {
			case !ok:
				err = canon.Fieldf(fl.String(), "must be an integer")
			case n > 1:
				err = canon.Fieldf(fl.String(), "only one candidate can be translated")
			default:
				r.N = n
			}
		case "maxOutputTokens":
			n, ok := intValue(f)
			if !ok {
				err = canon.Fieldf(fl.String(), "must be an integer")
			}
			r.MaxTokens = n
		case "temperature":
			r.Temperature, err = number(&fl, f)
		case "topP":
			r.TopP, err = number(&fl, f)
		case "topK":
			r.TopK, err = number(&fl, f)
		case "seed":
			r.Seed, err = number(&fl, f)
		case "presencePenalty":
			r.PresencePenalty, err = number(&fl, f)
		case "frequencyPenalty":
			r.FrequencyPenalty, err = number(&fl, f)
		case "thinkingConfig":
			err = d.thinking(&fl, f)
		case "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "mediaResolution":
			// Dropped (TRANSLATION.md).
		case "speechConfig", "imageConfig":
			err = canon.Fieldf(fl.String(), "only text output can be translated")
		default:
			err = canon.Fieldf(fl.String(), "is not a field of Gemini's GenerationConfig")
		}
		return err == nil
	})
	return err
}

// thinking reads thinkingConfig into r.Reasoning.
func (d *reqDecoder) thinking(l *loc, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf(l.String(), "must be an object")
	}
	rs := &d.r.Reasoning
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		fl := l.member(k.Str)
		switch fieldName(k.Str) {
		case "includeThoughts":
			if f.Type == gjson.True {
				rs.Summary = "auto"
			}
		case "thinkingBudget":
			n, ok := intValue(f)
			switch {
			case !ok || n < -1:
				err = canon.Fieldf(fl.String(), "must be -1, 0 or a positive integer")
			case n == 0:
				rs.Disabled = true
			case n == -1:
				// Dynamic thinking: the model decides how much; medium
				// effort, which the encoder writes back as -1.
				rs.Effort = "medium"
			default:
				rs.Budget = n
			}
		case "thinkingLevel":
			switch l := strings.ToUpper(f.Str); l {
			case "THINKING_LEVEL_UNSPECIFIED":
			case "MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH":
				rs.Effort = strings.ToLower(l)
			default:
				err = canon.Fieldf(fl.String(), "must be MINIMAL, LOW, MEDIUM, HIGH or XHIGH")
			}
		default:
			err = canon.Fieldf(fl.String(), "is not a field of Gemini's ThinkingConfig")
		}
		return err == nil
	})
	return err
}

// intValue reads an integer: a JSON number, or a numeric string (proto
// JSON writes 64-bit integers as strings).
func intValue(f gjson.Result) (int64, bool) {
	switch f.Type {
	case gjson.Number:
		n, err := strconv.ParseInt(f.Raw, 10, 64)
		if err != nil {
			x := f.Num
			if x != float64(int64(x)) {
				return 0, false
			}
			return int64(x), true
		}
		return n, true
	case gjson.String:
		n, err := strconv.ParseInt(f.Str, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// number returns a JSON number's raw text, copied.
func number(l *loc, f gjson.Result) ([]byte, error) {
	if f.Type != gjson.Number {
		return nil, canon.Fieldf(l.String(), "must be a number")
	}
	return []byte(f.Raw), nil
}

package gemini

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// The thinking budgets an effort becomes for a model that takes budgets
// (Gemini 2.5): within the range of every 2.5 model (Flash-Lite's lowest
// is 512, Flash's highest 24576); medium is dynamic thinking (-1), the
// model's own choice, so that a Gemini client's -1 comes back as it was.
const (
	budgetMinimal = 512
	budgetLow     = 2048
	budgetMedium  = -1
	budgetHigh    = 24576
)

// appendGenerationConfig appends ,"generationConfig":{...} when r sets any
// of its fields.
func appendGenerationConfig(dst []byte, r *canon.Request) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `,"generationConfig":{`...)
	open := len(dst)
	sep := func() {
		if len(dst) > open {
			dst = append(dst, ',')
		}
	}
	raw := func(name string, v []byte) {
		if len(v) > 0 {
			sep()
			dst = append(dst, name...)
			dst = append(dst, v...)
		}
	}
	if r.MaxTokens > 0 {
		sep()
		dst = append(dst, `"maxOutputTokens":`...)
		dst = strconv.AppendInt(dst, r.MaxTokens, 10)
	}
	raw(`"temperature":`, r.Temperature)
	raw(`"topP":`, r.TopP)
	raw(`"topK":`, r.TopK)
	raw(`"seed":`, r.Seed)
	raw(`"presencePenalty":`, r.PresencePenalty)
	raw(`"frequencyPenalty":`, r.FrequencyPenalty)
	if len(r.Stop) > 0 {
		sep()
		dst = append(dst, `"stopSequences":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = wire.AppendJSONString(dst, s)
		}
		dst = append(dst, ']')
	}
	if r.N == 1 {
		sep()
		dst = append(dst, `"candidateCount":1`...)
	}
	switch r.Format.Kind {
	case canon.FormatJSONObject:
		sep()
		dst = append(dst, `"responseMimeType":"application/json"`...)
	case canon.FormatJSONSchema:
		sep()
		dst = append(dst, `"responseMimeType":"application/json"`...)
		if r.Format.Schema != "" {
			dst = append(dst, `,"responseJsonSchema":`...)
			dst = append(dst, r.Format.Schema...)
		}
	}
	if rs := &r.Reasoning; rs.Disabled || rs.Budget > 0 || rs.Effort != "" || rs.Summary != "" {
		sep()
		var err error
		if dst, err = appendThinking(dst, r); err != nil {
			return dst, err
		}
	}
	if len(dst) == open {
		return dst[:start], nil
	}
	return append(dst, '}'), nil
}

// appendThinking appends "thinkingConfig" for r.Reasoning: a budget as it
// is, an effort as Gemini 3's thinkingLevel or, for the models before it,
// as a thinking budget (the table above); a reasoning summary asks for the
// thoughts (includeThoughts).
func appendThinking(dst []byte, r *canon.Request) ([]byte, error) {
	rs := &r.Reasoning
	dst = append(dst, `"thinkingConfig":{`...)
	comma := false
	switch {
	case rs.Disabled || rs.Effort == "none":
		dst = append(dst, `"thinkingBudget":0`...)
		comma = true
	case rs.Budget > 0:
		dst = append(dst, `"thinkingBudget":`...)
		dst = strconv.AppendInt(dst, rs.Budget, 10)
		comma = true
	case rs.Effort != "":
		level, budget := "", int64(0)
		switch rs.Effort {
		case "minimal":
			level, budget = "MINIMAL", budgetMinimal
		case "low":
			level, budget = "LOW", budgetLow
		case "medium":
			level, budget = "MEDIUM", budgetMedium
		case "high":
			level, budget = "HIGH", budgetHigh
		case "xhigh":
			level, budget = "XHIGH", budgetHigh
		default:
			return dst, canon.Fieldf("reasoning_effort", "Gemini takes minimal, low, medium, high or xhigh")
		}
		if gemini3(r.Model) {
			dst = append(dst, `"thinkingLevel":"`...)
			dst = append(dst, level...)
			dst = append(dst, '"')
		} else {
			dst = append(dst, `"thinkingBudget":`...)
			dst = strconv.AppendInt(dst, budget, 10)
		}
		comma = true
	}
	if rs.Summary != "" && !rs.Disabled {
		if comma {
			dst = append(dst, ',')
		}
		dst = append(dst, `"includeThoughts":true`...)
	}
	return append(dst, '}'), nil
}

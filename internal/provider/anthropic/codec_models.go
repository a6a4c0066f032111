package anthropic

import "strings"

// What the request encoder must know of the model it writes for: Anthropic
// requires max_tokens, and what thinking and sampling a request may ask for
// depends on the model. The figures are Anthropic's published ones
// (platform.claude.com/docs/en/about-claude/models/overview and each
// model's page, .../models/<model>/overview; adaptive thinking:
// .../build-with-claude/adaptive-thinking; effort levels:
// .../build-with-claude/effort); TRANSLATION.md has the table.

// codecThink is the thinking configuration a model takes.
type codecThink uint8

const (
	// codecThinkNone: no extended thinking (Claude 3, 3.5).
	codecThinkNone codecThink = iota
	// codecThinkBudget: thinking {type: enabled, budget_tokens} only.
	codecThinkBudget
	// codecThinkBoth: enabled with a budget (deprecated) or adaptive
	// (Opus 4.6, Sonnet 4.6).
	codecThinkBoth
	// codecThinkAdaptive: adaptive only; enabled and disabled are refused
	// (Opus 4.7 and later, every 5.x model, Fable, Mythos).
	codecThinkAdaptive
)

// codecProfile is what the encoder knows of a model family.
type codecProfile struct {
	// maxOut is the published maximum output (max_tokens' default).
	maxOut int64
	think  codecThink
	// known: the model is a Claude model the table names (maxOut is its
	// real limit, not a guess).
	known bool
	// sampling: temperature, top_p and top_k are accepted (Opus 4.7 and
	// later reject them).
	sampling bool
	// effort: output_config.effort is accepted; xhigh and max: those
	// levels are.
	effort, xhigh, max bool
}

// codecUnknownModel is the profile of a model the table does not know (an
// Anthropic-compatible upstream's own model, say): 4096 output tokens and
// the classic thinking shape, which every compatible API takes.
var codecUnknownModel = codecProfile{maxOut: 4096, think: codecThinkBudget, sampling: true}

// codecModelProfile returns the profile of model, read from its id as
// Anthropic, Bedrock ("us.anthropic.claude-…-v1:0") or Vertex
// ("claude-…@date") write it.
func codecModelProfile(model string) codecProfile {
	i := strings.Index(model, "claude-")
	if i < 0 {
		return codecUnknownModel
	}
	s := model[i+len("claude-"):]
	// Claude 3 ids put the version first: claude-3-5-sonnet-20241022.
	if major, minor, rest, ok := codecVersion(s); ok {
		if major != 3 || !codecFamily(rest) {
			return codecUnknownModel
		}
		switch minor {
		case 0:
			return codecProfile{maxOut: 4096, known: true, sampling: true}
		case 5:
			return codecProfile{maxOut: 8192, known: true, sampling: true}
		case 7:
			return codecProfile{maxOut: 64000, think: codecThinkBudget, known: true, sampling: true}
		}
		return codecUnknownModel
	}
	// Later ids put the family first: claude-opus-4-1-20250805.
	family, rest, _ := strings.Cut(s, "-")
	switch family {
	case "fable", "mythos":
		return codecLatest
	case "opus", "sonnet", "haiku":
	default:
		return codecUnknownModel
	}
	major, minor, _, ok := codecVersion(rest)
	switch {
	case !ok:
		return codecUnknownModel
	case major > 4 || major == 4 && minor >= 7:
		return codecLatest
	case major < 4:
		return codecUnknownModel
	}
	switch minor {
	case 0, 1:
		if family == "opus" {
			return codecProfile{maxOut: 32000, think: codecThinkBudget, known: true, sampling: true}
		}
		return codecProfile{maxOut: 64000, think: codecThinkBudget, known: true, sampling: true}
	case 5:
		return codecProfile{maxOut: 64000, think: codecThinkBudget, known: true, sampling: true, effort: family == "opus"}
	case 6:
		return codecProfile{maxOut: 128000, think: codecThinkBoth, known: true, sampling: true, effort: true, max: true}
	}
	return codecUnknownModel
}

// codecLatest is Opus 4.7 and every later model: 128K output tokens,
// adaptive thinking only, no sampling parameters, every effort level.
var codecLatest = codecProfile{maxOut: 128000, think: codecThinkAdaptive, known: true, effort: true, xhigh: true, max: true}

// codecFamily reports whether s starts with a Claude 3 family name.
func codecFamily(s string) bool {
	return strings.HasPrefix(s, "haiku") || strings.HasPrefix(s, "sonnet") || strings.HasPrefix(s, "opus")
}

// codecVersion reads "M[-m]-" (or "M.m-") at the start of s: the major
// version, a one-digit minor one (0 when absent: a date such as 20250514
// is not one), and the rest after the separator.
func codecVersion(s string) (major, minor int, rest string, ok bool) {
	n := 0
	for n < len(s) && n < 2 && s[n] >= '0' && s[n] <= '9' {
		major = major*10 + int(s[n]-'0')
		n++
	}
	if n == 0 || n < len(s) && s[n] >= '0' && s[n] <= '9' {
		return 0, 0, "", false
	}
	s = s[n:]
	if len(s) >= 2 && (s[0] == '-' || s[0] == '.') && s[1] >= '0' && s[1] <= '9' &&
		(len(s) == 2 || s[2] < '0' || s[2] > '9') {
		minor = int(s[1] - '0')
		s = s[2:]
	}
	if s != "" && (s[0] == '-' || s[0] == '.' || s[0] == '@') {
		s = s[1:]
	}
	return major, minor, s, true
}

// The thinking budget an effort asks for, for models that take a budget,
// and the reverse thresholds for models that take an effort: a budget
// below 4096 is low, below 12288 medium, else high (each table budget maps
// back to its own level, but xhigh and max, which become high).
const (
	codecMinBudget     = 1024 // Anthropic's minimum budget_tokens
	codecLowBelow      = 4096
	codecMediumBelow   = 12288
	codecAnswerRoom    = 1024 // the least room left for the answer when a budget is cut to fit
	codecDynamicBudget = 8192 // a dynamic (negative) budget on a budget-only model: medium's
)

// codecEffortBudget returns the budget for effort; ok is false for an
// effort it does not know.
func codecEffortBudget(effort string) (budget int64, ok bool) {
	switch effort {
	case "minimal":
		return 1024, true
	case "low":
		return 2048, true
	case "medium":
		return 8192, true
	case "high":
		return 16384, true
	case "xhigh", "max":
		return 32000, true
	}
	return 0, false
}

// codecBudgetEffort returns the effort a budget maps to.
func codecBudgetEffort(budget int64) string {
	switch {
	case budget < codecLowBelow:
		return "low"
	case budget < codecMediumBelow:
		return "medium"
	}
	return "high"
}

// codecEffort returns the output_config.effort p takes for a canonical
// effort; ok is false for an effort the canonical form does not name.
func codecEffort(p *codecProfile, effort string) (string, bool) {
	switch effort {
	case "minimal", "low":
		return "low", true
	case "medium", "high":
		return effort, true
	case "xhigh":
		switch {
		case p.xhigh:
			return "xhigh", true
		case p.max:
			return "max", true
		}
		return "high", true
	case "max":
		if p.max {
			return "max", true
		}
		return "high", true
	}
	return "", false
}

package guard

import (
	"fmt"
	"strings"
)

// Action is what a matching rule does.
type Action uint8

// Actions. The zero Action is invalid: a rule must say what it does.
const (
	// Flag lets the text through and records a verdict.
	Flag Action = iota + 1
	// Redact replaces each match with [REDACTED:<RULE NAME IN CAPITALS>].
	Redact
	// Block rejects the request (or cuts the stream) naming the rule.
	Block
)

// String returns the action's config name: "flag", "redact" or "block".
func (a Action) String() string {
	switch a {
	case Flag:
		return "flag"
	case Redact:
		return "redact"
	case Block:
		return "block"
	}
	return "unknown"
}

// ParseAction maps a config name ("flag", "redact", "block") to its Action.
func ParseAction(s string) (Action, bool) {
	switch s {
	case "flag":
		return Flag, true
	case "redact":
		return Redact, true
	case "block":
		return Block, true
	}
	return 0, false
}

// Scope is the set of directions a rule checks: a bit set of Input and
// Output.
type Scope uint8

// Scopes.
const (
	// Input is every text the model will read.
	Input Scope = 1 << iota
	// Output is the text the model writes: assistant text and tool-call
	// arguments, buffered or streamed.
	Output
)

// String returns "input", "output", "input+output", or "none".
func (s Scope) String() string {
	switch s {
	case Input:
		return "input"
	case Output:
		return "output"
	case Input | Output:
		return "input+output"
	case 0:
		return "none"
	}
	return "unknown"
}

// ParseScope maps a config name ("input", "output", "both") to its Scope.
func ParseScope(s string) (Scope, bool) {
	switch s {
	case "input":
		return Input, true
	case "output":
		return Output, true
	case "both":
		return Input | Output, true
	}
	return 0, false
}

// Rule kinds besides the builtin detector names (detect.BuiltinNames).
const (
	KindRegex       = "regex"
	KindKeywords    = "keywords"
	KindMaxChars    = "max_chars"
	KindMaxMessages = "max_messages"
)

// DefaultRegexMaxLen is the longest match assumed of a regex rule whose
// MaxLen is 0 and whose pattern has no bounded length of its own.
const DefaultRegexMaxLen = 256

// MaxRegexMaxLen bounds Rule.MaxLen: it is the stream holdback.
const MaxRegexMaxLen = 64 << 10

// Rule is one compiled-from-config rule.
type Rule struct {
	// Name is unique within a set. It appears in errors, verdicts and
	// metrics; the redaction label is [REDACTED:<strings.ToUpper(Name)>].
	// Letters, digits, '.', '_' and '-', at most 64 bytes.
	Name string
	// Kind is "regex", "keywords", a builtin detector ("email", "phone",
	// "ssn", "credit_card", "iban", "ip", "secrets"), "max_chars" or
	// "max_messages".
	Kind string
	// Pattern is a regex rule's expression, RE2 syntax (Go regexp). It must
	// not match the empty text; empty matches inside a text are ignored.
	Pattern string
	// MaxLen is a regex rule's longest match in bytes, which bounds how much
	// streamed text is held back. 0: the pattern's own bound when it has one
	// (no unbounded repetition), else DefaultRegexMaxLen. A streamed match
	// longer than this may be missed.
	MaxLen int
	// Words are a keywords rule's literals, matched case-insensitively.
	Words []string
	// WholeWords makes a keywords rule match only whole words.
	WholeWords bool
	// Limit is a max_chars rule's bound on the characters (runes) of input
	// text, summed over the request, or a max_messages rule's bound on the
	// number of messages.
	Limit int
	// Action is Flag, Redact or Block. Size rules cannot Redact.
	Action Action
	// Scope is Input, Output or both. Size rules check input only; 0 means
	// Input for them and is an error for the others.
	Scope Scope
}

// Set is a named list of rules.
type Set struct {
	Name  string
	Rules []Rule
}

// Options configures an Engine.
type Options struct {
	// ScanLimit is how many bytes of text (decoded) one input scan may
	// cover; a request with more is rejected with a *LimitError, never
	// passed on unscanned. 0 means DefaultScanLimit.
	ScanLimit int
}

// DefaultScanLimit is Options.ScanLimit's default: 1 MiB.
const DefaultScanLimit = 1 << 20

// RuleError is one problem with a rule (or a set, when Rule is empty and
// Index is -1). Field names the rule's field at fault ("pattern", "kind",
// ...), empty for the rule as a whole.
type RuleError struct {
	Set   string
	Index int // the rule's index in its set; -1 for a set-level problem
	Rule  string
	Field string
	Err   error
}

func (e *RuleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "guardrail set %q", e.Set)
	if e.Index >= 0 {
		if e.Rule != "" {
			fmt.Fprintf(&b, " rule %q", e.Rule)
		} else {
			fmt.Fprintf(&b, " rule %d", e.Index)
		}
	}
	if e.Field != "" {
		b.WriteString(" ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

// validName reports whether s may name a rule or a set.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

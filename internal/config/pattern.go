package config

import "strings"

// Model-name patterns. A public model's name or an allowlist entry (a key's
// models) that ends in '*' is a pattern: it stands for every name that
// starts with what precedes the '*' ("claude-*" for "claude-opus-4-8",
// "*" for every name). Agent CLIs and SDKs ask for model names nobody
// listed in advance; a pattern routes them without a config change. The
// gateway and the key cache each match patterns their own way (see
// route.Resolve and auth.Policy); the rule of what a pattern is lives here.

// ModelPattern reports whether name is a pattern and returns the prefix it
// matches. It does not check that name is a valid pattern (PatternProblem
// does).
func ModelPattern(name string) (prefix string, ok bool) {
	if strings.HasSuffix(name, "*") {
		return name[:len(name)-1], true
	}
	return "", false
}

// PatternProblem says what is wrong with name's '*', or "" when nothing is:
// a '*' may appear once, as the last character.
func PatternProblem(name string) string {
	if i := strings.IndexByte(name, '*'); i >= 0 && i != len(name)-1 {
		return "'*' may appear only once, as the last character (a pattern such as \"claude-*\")"
	}
	return ""
}

package route

import (
	"cmp"
	"slices"
	"strings"
)

// Pattern is a public model whose name ends in '*': it serves every
// requested name that starts with Prefix ("" for "*": every name).
type Pattern[M any] struct {
	Prefix string
	Model  M
}

// SortPatterns orders ps as Resolve expects them: longest prefix first.
// Two patterns of one length never match the same name unless they are
// equal, which the config refuses, so the order among them does not
// matter; it is kept stable all the same.
func SortPatterns[M any](ps []Pattern[M]) {
	slices.SortStableFunc(ps, func(a, b Pattern[M]) int { return cmp.Compare(len(b.Prefix), len(a.Prefix)) })
}

// Resolve finds what a requested model name refers to, in the contract's
// order: the public model of exactly that name (public[name]); else, for a
// name of the form "provider/model" with both parts non-empty and a
// configured provider (providers[provider]), that provider, which serves
// the model as named; else the pattern with the longest prefix of name
// (patterns sorted by SortPatterns; a pattern never matches ""). ok is
// false when none matches. The maps are the caller's: M is its public
// model, P its provider.
//
// Patterns are scanned in order: a config has a handful, and a scan of a
// few short prefixes costs less than a lookup structure would. Resolve
// does not allocate.
func Resolve[M, P any](name string, public map[string]M, providers map[string]P, patterns []Pattern[M]) (m M, p P, ok bool) {
	if m, ok = public[name]; ok {
		return m, p, true
	}
	if i := strings.IndexByte(name, '/'); i > 0 && i < len(name)-1 {
		if p, ok = providers[name[:i]]; ok {
			return m, p, true
		}
	}
	if name == "" {
		return m, p, false
	}
	for i := range patterns {
		if strings.HasPrefix(name, patterns[i].Prefix) {
			return patterns[i].Model, p, true
		}
	}
	return m, p, false
}

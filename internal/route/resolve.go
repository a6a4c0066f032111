package route

import "strings"

// Resolve finds what a requested model name refers to, in the contract's
// order: the public model of exactly that name (public[name]); else, for a
// name of the form "provider/model" with both parts non-empty and a
// configured provider (providers[provider]), that provider, which serves
// the model as named. ok is false when neither matches. The maps are the
// caller's: M is its public model, P its provider.
func Resolve[M, P any](name string, public map[string]M, providers map[string]P) (m M, p P, ok bool) {
	if m, ok = public[name]; ok {
		return m, p, true
	}
	if i := strings.IndexByte(name, '/'); i > 0 && i < len(name)-1 {
		p, ok = providers[name[:i]]
	}
	return m, p, ok
}

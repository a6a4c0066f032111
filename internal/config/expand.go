package config

import (
	"errors"
	"fmt"
	"strings"
)

// maxExpandDepth bounds nesting of ${A:-${B:-...}} so that hostile input
// cannot recurse without limit.
const maxExpandDepth = 8

// errUnterminated is reported for a "${" without its "}".
var errUnterminated = errors.New(`unterminated "${": want ${NAME} or ${NAME:-default}`)

// expand replaces environment references in one scalar value:
//
//   - ${NAME} is the variable's value, "" when unset;
//   - ${NAME:-default} is the variable's value when it is set and not empty,
//     otherwise default (as in POSIX shells); default may itself contain
//     references and $$, and ends at the first "}" that closes no reference;
//   - $$ is a literal "$";
//   - a "$" followed by anything but "{" or "$" is kept as it is ("$5", "$PATH").
//
// NAME is a letter or "_" followed by letters, digits and "_". Values from
// the environment are used as they are, never expanded again. Anything else
// after "${" is an error; error messages name the variable or quote the
// reference, never a variable's value.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if strings.IndexByte(s, '$') < 0 {
		return s, nil
	}
	e := expander{s: s, lookup: lookup}
	out, err := e.run(0)
	if err != nil {
		return "", err
	}
	return out, nil
}

type expander struct {
	s      string
	i      int
	lookup func(string) (string, bool)
}

// run expands from e.i. At depth 0 it runs to the end of the string; inside
// a default (depth > 0) it stops before the "}" that ends the default.
func (e *expander) run(depth int) (string, error) {
	var b strings.Builder
	for e.i < len(e.s) {
		c := e.s[e.i]
		switch {
		case c == '}' && depth > 0:
			return b.String(), nil
		case c != '$':
			b.WriteByte(c)
			e.i++
		case e.i+1 < len(e.s) && e.s[e.i+1] == '$':
			b.WriteByte('$')
			e.i += 2
		case e.i+1 < len(e.s) && e.s[e.i+1] == '{':
			v, err := e.reference(depth)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		default:
			b.WriteByte('$')
			e.i++
		}
	}
	if depth > 0 {
		return "", errUnterminated
	}
	return b.String(), nil
}

// reference expands the ${...} starting at e.i and leaves e.i after it.
func (e *expander) reference(depth int) (string, error) {
	start := e.i
	j := e.i + 2
	for j < len(e.s) && isNameByte(e.s[j]) {
		j++
	}
	name := e.s[e.i+2 : j]
	if j >= len(e.s) {
		return "", errUnterminated
	}
	// end is just past the operator ("}", ":-" or the offending bytes), so
	// that messages quote no further: what follows may be a secret default.
	end := j + 1
	if e.s[j] == ':' && j+1 < len(e.s) {
		end = j + 2
	}
	switch {
	case e.s[j] == '}' || (e.s[j] == ':' && j+1 < len(e.s) && e.s[j+1] == '-'):
		if name == "" {
			return "", fmt.Errorf("empty variable name in %q", e.s[start:end])
		}
		if name[0] >= '0' && name[0] <= '9' {
			return "", fmt.Errorf("invalid variable name %q: it must start with a letter or \"_\"", name)
		}
	default:
		return "", fmt.Errorf("invalid reference starting %q: want ${NAME} or ${NAME:-default}, NAME made of letters, digits and \"_\"", e.s[start:end])
	}
	val, ok := e.lookup(name)
	if e.s[j] == '}' {
		e.i = j + 1
		return val, nil
	}
	if depth+1 > maxExpandDepth {
		return "", fmt.Errorf("references nested more than %d deep", maxExpandDepth)
	}
	e.i = j + 2
	def, err := e.run(depth + 1)
	if err != nil {
		return "", err
	}
	e.i++ // the closing "}"
	if ok && val != "" {
		return val, nil
	}
	return def, nil
}

func isNameByte(c byte) bool {
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}

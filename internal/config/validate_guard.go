package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// maxKeywordLen bounds one keyword, as internal/guard/detect does.
const maxKeywordLen = 256

func (v *validator) guardrails(c *Config) {
	g := &c.Guardrails
	if g.ScanLimit < 0 {
		v.errf("guardrails.scan_limit", "must not be negative, got %s", g.ScanLimit)
	}
	sets := map[string]int{}
	for i := range g.Sets {
		s := &g.Sets[i]
		base := fmt.Sprintf("guardrails.sets[%d]", i)
		switch j, dup := sets[s.Name]; {
		case s.Name == "":
			v.required(base+".name", "")
		case !validName(s.Name):
			v.errf(base+".name", "invalid set name %q: use letters, digits, \".\", \"_\" and \"-\"", s.Name)
		case dup:
			v.errf(base+".name", "duplicate set name %q (first at %s)", s.Name, v.where(fmt.Sprintf("guardrails.sets[%d].name", j)))
		default:
			sets[s.Name] = i
		}
		if len(s.Rules) == 0 {
			v.errf(base+".rules", "no rules: want at least one")
		}
		rules := map[string]int{}
		for j := range s.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", base, j)
			r := &s.Rules[j]
			switch k, dup := rules[r.Name]; {
			case r.Name == "":
				v.required(rp+".name", "")
			case !validName(r.Name):
				v.errf(rp+".name", "invalid rule name %q: use letters, digits, \".\", \"_\" and \"-\"", r.Name)
			case dup:
				v.errf(rp+".name", "duplicate rule name %q in set %q (first at %s)", r.Name, s.Name, v.where(fmt.Sprintf("%s.rules[%d].name", base, k)))
			default:
				rules[r.Name] = j
			}
			v.guardRule(rp, r)
		}
	}
	check := func(path string, names []string) {
		for j, n := range names {
			if _, ok := sets[n]; !ok && validName(n) {
				v.errf(fmt.Sprintf("%s[%d]", path, j), "unknown guardrail set %q%s", n, knownList(g.Sets))
			}
		}
	}
	check("guardrails.default", g.Default)
	for i := range c.Models {
		check(fmt.Sprintf("models[%d].guardrails", i), c.Models[i].Guardrails)
	}
	for i := range c.Auth.Keys {
		check(fmt.Sprintf("auth.keys[%d].guardrails", i), c.Auth.Keys[i].Guardrails)
	}
}

// knownList ends an "unknown set" message with the sets that exist.
func knownList(sets []GuardrailSet) string {
	if len(sets) == 0 {
		return ": no guardrail sets are configured (guardrails.sets)"
	}
	names := make([]string, 0, len(sets))
	for _, s := range sets {
		names = append(names, fmt.Sprintf("%q", s.Name))
	}
	return "; configured sets: " + strings.Join(names, ", ")
}

func (v *validator) guardRule(rp string, r *GuardrailRule) {
	size := r.Kind == GuardMaxChars || r.Kind == GuardMaxMessages
	switch r.Action {
	case GuardBlock, GuardFlag:
	case GuardRedact:
		if size {
			v.errf(rp+".action", "a %s rule cannot redact: want block or flag", r.Kind)
		}
	default:
		v.errf(rp+".action", "unknown action %q: want block, redact or flag", r.Action)
	}
	switch r.Scope {
	case GuardInput:
	case GuardOutput, GuardBoth:
		if size {
			v.errf(rp+".scope", "a %s rule applies to input only", r.Kind)
		}
	default:
		v.errf(rp+".scope", "unknown scope %q: want input, output or both", r.Scope)
	}
	unused := func(field string, set bool) {
		if set {
			v.errf(rp+"."+field, "not used by kind %s", r.Kind)
		}
	}
	switch {
	case r.Kind == "":
		v.required(rp+".kind", ": regex, keywords, max_chars, max_messages or a builtin ("+strings.Join(GuardBuiltins, ", ")+")")
	case r.Kind == GuardRegex:
		if r.Pattern == "" {
			v.required(rp+".pattern", ": an RE2 regular expression")
		} else if re, err := regexp.Compile(r.Pattern); err != nil {
			v.errf(rp+".pattern", "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		} else if re.MatchString("") {
			v.errf(rp+".pattern", "matches the empty string: every text would match")
		}
		if r.MaxLen < 1 || r.MaxLen > MaxGuardMaxLen {
			v.errf(rp+".max_len", "must be between 1 and %d bytes, got %d", MaxGuardMaxLen, r.MaxLen)
		}
		unused("words", len(r.Words) > 0)
		unused("limit", r.Limit != 0)
	case r.Kind == GuardKeywords:
		if len(r.Words) == 0 {
			v.required(rp+".words", ": a list of literals")
		}
		for j, w := range r.Words {
			switch {
			case strings.TrimSpace(w) == "":
				v.errf(fmt.Sprintf("%s.words[%d]", rp, j), "empty keyword")
			case len(w) > maxKeywordLen:
				v.errf(fmt.Sprintf("%s.words[%d]", rp, j), "keyword is %d bytes long: at most %d", len(w), maxKeywordLen)
			}
		}
		unused("pattern", r.Pattern != "")
		unused("limit", r.Limit != 0)
		unused("max_len", r.MaxLen != 0)
	case size:
		if r.Limit <= 0 {
			v.errf(rp+".limit", "must be positive, got %d", r.Limit)
		}
		unused("pattern", r.Pattern != "")
		unused("words", len(r.Words) > 0)
		unused("max_len", r.MaxLen != 0)
	case slices.Contains(GuardBuiltins, r.Kind):
		unused("pattern", r.Pattern != "")
		unused("words", len(r.Words) > 0)
		unused("limit", r.Limit != 0)
		unused("max_len", r.MaxLen != 0)
	default:
		v.errf(rp+".kind", "unknown kind %q: want regex, keywords, max_chars, max_messages or a builtin (%s)", r.Kind, strings.Join(GuardBuiltins, ", "))
	}
	if r.WholeWords != nil && r.Kind != GuardKeywords && r.Kind != "" {
		v.errf(rp+".whole_words", "only keywords rules have whole_words")
	}
}

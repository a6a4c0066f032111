package guard

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/sluice-gw/sluice/internal/guard/detect"
)

// ruleKind is how a compiled rule checks.
type ruleKind uint8

const (
	kindFinder   ruleKind = iota + 1 // a detect.Finder: builtin or keywords
	kindRegex                        // a regexRule
	kindChars                        // max_chars
	kindMessages                     // max_messages
)

// crule is a compiled rule. Compiled rules are immutable and shared by
// every policy that uses them.
type crule struct {
	name   string
	label  string // [REDACTED:NAME]
	action Action
	scope  Scope
	kind   ruleKind
	finder detect.Finder
	regex  *regexRule
	limit  int
	// Streams. A regex rule holds back hold bytes (its longest match plus
	// context: Go's regexp cannot tell whether a tail could still match). A
	// finder rule holds back only its pending tail (detect.Finder.Pending)
	// and scans with ctx bytes of context; scanCap bounds a burst of its
	// scans (see scanRate).
	hold    int
	ctx     int // bytes of released text a stream scan puts before new text
	left    int // finder rules: detect.Finder.LeftContext, for clean text
	scanCap int
}

// Engine holds the compiled rules of every set and builds policies from
// them. It is safe for concurrent use.
type Engine struct {
	sets      map[string][]*crule
	scanLimit int
	policies  sync.Map // joined set names → *Policy
}

// New compiles the sets. Every problem is reported, as *RuleError values
// joined with errors.Join: unknown kinds, patterns that do not compile or
// can match the empty string, keyword lists detect refuses, missing or
// misplaced fields, invalid actions and scopes, duplicate names.
func New(sets []Set, opts Options) (*Engine, error) {
	if opts.ScanLimit < 0 {
		return nil, fmt.Errorf("guard: scan limit must not be negative, got %d", opts.ScanLimit)
	}
	e := &Engine{sets: make(map[string][]*crule, len(sets)), scanLimit: opts.ScanLimit}
	if e.scanLimit == 0 {
		e.scanLimit = DefaultScanLimit
	}
	var errs []error
	for _, s := range sets {
		setErr := func(err error) { errs = append(errs, &RuleError{Set: s.Name, Index: -1, Err: err}) }
		if !validName(s.Name) {
			setErr(fmt.Errorf("invalid set name %q: use 1 to 64 letters, digits, '.', '_' and '-'", s.Name))
			continue
		}
		if _, dup := e.sets[s.Name]; dup {
			setErr(errors.New("duplicate set name"))
			continue
		}
		if len(s.Rules) == 0 {
			setErr(errors.New("no rules"))
		}
		compiled := make([]*crule, 0, len(s.Rules))
		seen := make(map[string]bool, len(s.Rules))
		for i := range s.Rules {
			r := &s.Rules[i]
			fail := func(field string, err error) {
				errs = append(errs, &RuleError{Set: s.Name, Index: i, Rule: r.Name, Field: field, Err: err})
			}
			switch {
			case !validName(r.Name):
				fail("name", fmt.Errorf("invalid rule name %q: use 1 to 64 letters, digits, '.', '_' and '-'", r.Name))
			case seen[r.Name]:
				fail("name", fmt.Errorf("duplicate rule name %q", r.Name))
			}
			seen[r.Name] = true
			if c := compileRule(r, fail); c != nil {
				compiled = append(compiled, c)
			}
		}
		e.sets[s.Name] = compiled
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// compileRule compiles one rule, reporting each problem through fail; nil
// when there was one.
func compileRule(r *Rule, fail func(field string, err error)) *crule {
	nerr := 0
	bad := func(field string, err error) { nerr++; fail(field, err) }
	unused := func(field string, set bool) {
		if set {
			bad(field, fmt.Errorf("not used by kind %s", r.Kind))
		}
	}
	c := &crule{name: r.Name, label: "[REDACTED:" + strings.ToUpper(r.Name) + "]", action: r.Action, scope: r.Scope}
	size := r.Kind == KindMaxChars || r.Kind == KindMaxMessages
	switch r.Action {
	case Flag, Block:
	case Redact:
		if size {
			bad("action", fmt.Errorf("a %s rule cannot redact: want block or flag", r.Kind))
		}
	default:
		bad("action", fmt.Errorf("invalid action %d: want flag, redact or block", r.Action))
	}
	switch {
	case size && r.Scope == 0:
		c.scope = Input
	case size && r.Scope != Input:
		bad("scope", fmt.Errorf("a %s rule applies to input only", r.Kind))
	case r.Scope == 0 || r.Scope&^(Input|Output) != 0:
		bad("scope", fmt.Errorf("invalid scope %d: want input, output or both", r.Scope))
	}
	switch {
	case r.Kind == KindRegex:
		c.kind = kindRegex
		re, err := compileRegex(r.Pattern, r.MaxLen)
		if err != nil {
			bad("pattern", err)
		} else {
			c.regex = re
			c.hold = re.maxLen + 2
			c.ctx = 1
		}
		if r.MaxLen < 0 || r.MaxLen > MaxRegexMaxLen {
			bad("max_len", fmt.Errorf("must be between 0 and %d bytes, got %d", MaxRegexMaxLen, r.MaxLen))
		}
		unused("words", len(r.Words) > 0)
		unused("whole_words", r.WholeWords)
		unused("limit", r.Limit != 0)
	case r.Kind == KindKeywords:
		c.kind = kindFinder
		f, err := detect.NewKeywords(r.Words, detect.KeywordOptions{WholeWords: r.WholeWords})
		if err != nil {
			bad("words", err)
		} else {
			c.finder = f
		}
		unused("pattern", r.Pattern != "")
		unused("max_len", r.MaxLen != 0)
		unused("limit", r.Limit != 0)
	case size:
		c.kind = kindChars
		if r.Kind == KindMaxMessages {
			c.kind = kindMessages
		}
		c.limit = r.Limit
		if r.Limit <= 0 {
			bad("limit", fmt.Errorf("must be positive, got %d", r.Limit))
		}
		unused("pattern", r.Pattern != "")
		unused("words", len(r.Words) > 0)
		unused("whole_words", r.WholeWords)
		unused("max_len", r.MaxLen != 0)
	default:
		f, ok := detect.Builtin(r.Kind)
		if !ok {
			bad("kind", fmt.Errorf("unknown kind %q: want regex, keywords, max_chars, max_messages or a builtin (%s)",
				r.Kind, strings.Join(detect.BuiltinNames(), ", ")))
			break
		}
		c.kind = kindFinder
		c.finder = f
		unused("pattern", r.Pattern != "")
		unused("words", len(r.Words) > 0)
		unused("whole_words", r.WholeWords)
		unused("max_len", r.MaxLen != 0)
		unused("limit", r.Limit != 0)
	}
	if c.finder != nil {
		// detect's locality: the outcome for a start s depends on the text
		// within MaxLen of s, so a window scan puts MaxLen bytes before s.
		c.ctx = max(c.finder.MaxLen(), 1)
		c.left = c.finder.LeftContext()
		c.scanCap = scanBurst * c.ctx
	}
	if nerr > 0 {
		return nil
	}
	return c
}

// Policy returns the union of the named sets' rules, compiled once and
// cached: later calls with the same names (in the same order) return the
// same *Policy without locking. A rule whose name an earlier set already
// used is left out. An unknown set name is an error. With no names the
// policy has no rules.
func (e *Engine) Policy(setNames ...string) (*Policy, error) {
	key := strings.Join(setNames, "\x00")
	if p, ok := e.policies.Load(key); ok {
		return p.(*Policy), nil
	}
	var rules []*crule
	var unknown []string
	for i, n := range setNames {
		if slices.Contains(setNames[:i], n) {
			continue
		}
		set, ok := e.sets[n]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		for _, r := range set {
			if !slices.ContainsFunc(rules, func(o *crule) bool { return o.name == r.name }) {
				rules = append(rules, r)
			}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("guard: unknown guardrail set %s", strings.Join(unknown, ", "))
	}
	p, _ := e.policies.LoadOrStore(key, newPolicy(rules, e.scanLimit))
	return p.(*Policy), nil
}

// Policy is the compiled rules that apply to one request. It is immutable
// and safe for concurrent use.
type Policy struct {
	in, out   []*crule // text rules of each scope, in configuration order
	size      []*crule // max_chars and max_messages rules (input)
	scanLimit int
	// inAnchors and outAnchors are the prefilter's bytes for each scope's
	// rules (anchorsOf; "" = always walk). inAnchors is "" when there are
	// size rules: they need the walk's counts.
	inAnchors, outAnchors string
	hold                  int // bytes a stream holds back for regex rules: the largest hold of them
	keep                  int // bytes of released text a stream keeps as left context

	scratch sync.Pool // *scratch
	streams sync.Pool // *Stream
}

func newPolicy(rules []*crule, scanLimit int) *Policy {
	p := &Policy{scanLimit: scanLimit, keep: 4}
	for _, r := range rules {
		switch {
		case r.kind == kindChars || r.kind == kindMessages:
			p.size = append(p.size, r)
			continue
		case r.scope&Input != 0:
			p.in = append(p.in, r)
		}
		if r.scope&Output != 0 {
			p.out = append(p.out, r)
			p.hold = max(p.hold, r.hold)
			p.keep = max(p.keep, r.ctx, r.left)
		}
	}
	if len(p.size) == 0 {
		p.inAnchors = anchorsOf(p.in)
	}
	p.outAnchors = anchorsOf(p.out)
	return p
}

// A stream scans each finder rule's new text on every event, so that it
// can release all but the pending tail at once. In clean text a scan reads
// the rule's left context (one byte for most builtins, 47 for secrets, the
// longest keyword for keywords) plus the pending tail and the new text;
// when that window holds a match, or while a long candidate is open (an
// unterminated PEM block), it reads the rule's ctx (MaxLen) bytes of
// context, up to 8 KiB for secrets. The scans are paid for with credit:
// scanRate bytes per byte of text received (what the fixed holdback,
// released in steps of 1/16 of it, cost before), with up to scanBurst full
// windows saved for bursts. A rule out of credit skips scans and holds its
// tail until more text has paid for one, so a stream costs O(1) per byte
// whatever the text; clean text costs a few bytes per byte.
// See docs/decisions/0008-stream-holdback-credit.md.
const (
	scanRate  = 32
	scanBurst = 16
)

// HasInput reports whether the policy has rules for requests.
func (p *Policy) HasInput() bool { return len(p.in) > 0 || len(p.size) > 0 }

// HasOutput reports whether the policy has rules for replies.
func (p *Policy) HasOutput() bool { return len(p.out) > 0 }

// Verdict is what one rule found in one scan.
type Verdict struct {
	Rule   string
	Action Action
	Scope  Scope // Input or Output
	Count  int   // matches of the rule in the scan (1 for a size rule)
}

// Violation is a block: a rule with action Block matched (or a size rule
// with action Block was exceeded). It names the rule, never the matched text.
type Violation struct {
	Rule  string
	Scope Scope
}

func (v *Violation) Error() string {
	if v.Scope == Output {
		return "guard: the reply matched block rule " + `"` + v.Rule + `"`
	}
	return "guard: the request matched block rule " + `"` + v.Rule + `"`
}

// LimitError means the input holds more text than Options.ScanLimit.
type LimitError struct {
	Limit int // bytes
	Size  int // bytes of text in the request
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("guard: the request holds %d bytes of text, more than the scan limit of %d", e.Size, e.Limit)
}

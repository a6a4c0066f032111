package guard

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// unbounded marks a pattern whose matches have no length bound.
const unbounded = 1 << 30

// regexRule is a compiled regex rule.
type regexRule struct {
	re *regexp.Regexp
	// resume finds the next match at or after position 1 of its input, with
	// input[0] the byte before the resume point as context: \A(?s:.)(?s:.*?)(P).
	// Used to resume a stream's search mid-text for patterns whose empty-width
	// assertions (^, \A, \b, \B) look left; nil for the others, which resume
	// by plain search.
	resume *regexp.Regexp
	maxLen int // longest match in bytes (declared or derived)
}

var errEmptyMatch = errors.New("matches the empty string: every text would match")

// compileRegex compiles a regex rule's pattern. declared is Rule.MaxLen.
func compileRegex(pattern string, declared int) (*regexRule, error) {
	if pattern == "" {
		return nil, errors.New("required: an RE2 regular expression")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	if re.MatchString("") {
		return nil, errEmptyMatch
	}
	tree = tree.Simplify()
	_, hi := lengths(tree)
	r := &regexRule{re: re}
	switch {
	case declared > 0 && hi < unbounded:
		r.maxLen = min(declared, hi)
	case declared > 0:
		r.maxLen = declared
	case hi < unbounded:
		r.maxLen = hi
	default:
		r.maxLen = DefaultRegexMaxLen
	}
	if looksLeft(tree) {
		anyChar := &syntax.Regexp{Op: syntax.OpAnyChar}
		wrapped := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{
			{Op: syntax.OpBeginText},
			anyChar,
			{Op: syntax.OpStar, Flags: syntax.NonGreedy, Sub: []*syntax.Regexp{anyChar}},
			{Op: syntax.OpCapture, Cap: 1, Sub: []*syntax.Regexp{tree}},
		}}
		r.resume, err = regexp.Compile(wrapped.String())
		if err != nil {
			return nil, fmt.Errorf("cannot derive the streaming form of the pattern: %w", err)
		}
	}
	return r, nil
}

// lengths returns the shortest and longest match of re in bytes; the
// longest is unbounded when a repetition has no upper bound. A pattern that
// can never match has lengths (unbounded, 0).
func lengths(re *syntax.Regexp) (lo, hi int) {
	switch re.Op {
	case syntax.OpNoMatch:
		return unbounded, 0
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, 0
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			a, b := runeLens(r, re.Flags&syntax.FoldCase != 0)
			lo, hi = lo+a, hi+b
		}
		return lo, hi
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return unbounded, 0
		}
		return runeLen(re.Rune[0]), runeLen(re.Rune[len(re.Rune)-1])
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return 1, utf8.UTFMax
	case syntax.OpCapture:
		return lengths(re.Sub[0])
	case syntax.OpStar:
		_, h := lengths(re.Sub[0])
		if h == 0 {
			return 0, 0
		}
		return 0, unbounded
	case syntax.OpPlus:
		l, h := lengths(re.Sub[0])
		if h == 0 {
			return l, 0
		}
		return l, unbounded
	case syntax.OpQuest:
		_, h := lengths(re.Sub[0])
		return 0, h
	case syntax.OpRepeat:
		l, h := lengths(re.Sub[0])
		lo = satMul(l, re.Min)
		switch {
		case re.Max < 0 && h > 0:
			hi = unbounded
		case re.Max < 0:
			hi = 0
		default:
			hi = satMul(h, re.Max)
		}
		return lo, hi
	case syntax.OpConcat:
		for _, s := range re.Sub {
			l, h := lengths(s)
			lo, hi = min(lo+l, unbounded), min(hi+h, unbounded)
		}
		return lo, hi
	case syntax.OpAlternate:
		lo = unbounded
		for _, s := range re.Sub {
			l, h := lengths(s)
			lo, hi = min(lo, l), max(hi, h)
		}
		return lo, hi
	}
	return 0, unbounded // unknown op: assume the worst on both sides
}

func satMul(a, n int) int {
	if n > 0 && a >= unbounded/n {
		return unbounded
	}
	return a * n
}

// runeLen is utf8.RuneLen with the invalid runes (surrogates, out of
// range) counted as the 3 bytes of U+FFFD.
func runeLen(r rune) int {
	if n := utf8.RuneLen(r); n > 0 {
		return n
	}
	return 3
}

// runeLens returns the shortest and longest encoding of r, or of any rune
// it folds to when fold is set.
func runeLens(r rune, fold bool) (lo, hi int) {
	lo, hi = runeLen(r), runeLen(r)
	if !fold {
		return lo, hi
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lo, hi = min(lo, runeLen(f)), max(hi, runeLen(f))
	}
	return lo, hi
}

// looksLeft reports whether re has an empty-width assertion that depends on
// the text before the position it is tested at.
func looksLeft(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, s := range re.Sub {
		if looksLeft(s) {
			return true
		}
	}
	return false
}

// find appends to dst the non-empty matches of r in t[cursor-base:], where t holds
// text positions [base, base+len(t)) and cursor is where the search resumes
// (the end of the previous match, or a point no match starts before). Only
// matches starting before to are appended, as hits of rule ri with absolute
// positions. The result equals FindAllIndex over the whole text, restricted
// to matches starting in [cursor, to), as long as every match is shorter
// than the text after cursor-1 that t holds.
func (r *regexRule) find(dst []hit, ri int, t []byte, base, cursor, to int) []hit {
	if cursor >= to {
		return dst
	}
	if cursor == 0 || r.resume == nil {
		w := t[cursor-base:]
		for _, loc := range r.re.FindAllIndex(w, -1) {
			s, e := cursor+loc[0], cursor+loc[1]
			if s >= to {
				break
			}
			if e > s {
				dst = append(dst, hit{start: s, end: e, rule: int32(ri)})
			}
		}
		return dst
	}
	for q := cursor; q < to; {
		loc := r.resume.FindSubmatchIndex(t[q-1-base:])
		if loc == nil {
			break
		}
		s, e := q-1+loc[2], q-1+loc[3]
		if s >= to {
			break
		}
		if e == s {
			// An empty match (\b, x?...) is no hit; the search goes on a
			// rune later, as FindAllIndex's does.
			_, w := utf8.DecodeRune(t[s-base:])
			q = s + max(w, 1)
			continue
		}
		dst = append(dst, hit{start: s, end: e, rule: int32(ri)})
		q = e
	}
	return dst
}

package guard

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// Errors for bodies the policy cannot read (package walk's, which the
// formats' stream readers return too).
var (
	ErrNotObject   = walk.ErrNotObject
	ErrInvalidJSON = walk.ErrInvalidJSON
)

// scratch is the working memory of one check, pooled in its Policy.
type scratch struct {
	w       walk.Walker
	text    []byte // a decoded string
	red     []byte // a redacted string
	hits    []hit
	picks   []hit
	matches []detect.Match
	counts  []int
}

func (p *Policy) getScratch() *scratch {
	if sc, ok := p.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

func (p *Policy) putScratch(sc *scratch) {
	const maxKept = 1 << 20
	if cap(sc.text) > maxKept || cap(sc.red) > maxKept {
		return
	}
	sc.w.B = nil
	p.scratch.Put(sc)
}

// CheckRequest checks the text the model will read (see the package
// documentation for what is scanned per operation) against the input rules.
//
// out is body itself (same slice, no copy) when nothing was redacted, else
// the rewritten body appended to dst[:0]. verdicts is v with a Verdict
// appended for each rule that matched. err is a *Violation when a block rule
// matched, a *LimitError when the text is over the scan limit, or
// ErrNotObject / ErrInvalidJSON for a body it cannot read; out is body then.
func (p *Policy) CheckRequest(f provider.Format, op provider.Operation, body, dst []byte, v []Verdict) (out []byte, verdicts []Verdict, err error) {
	if !p.HasInput() {
		return body, v, nil
	}
	return p.check(Input, op, body, dst, v)
}

// CheckResponse checks a buffered (non-stream) reply against the output
// rules, with CheckRequest's conventions. Replies have no scan limit.
func (p *Policy) CheckResponse(f provider.Format, op provider.Operation, body, dst []byte, v []Verdict) (out []byte, verdicts []Verdict, err error) {
	if !p.HasOutput() {
		return body, v, nil
	}
	if !op.HasReplyText() {
		return body, v, nil // no model text in the reply
	}
	return p.check(Output, op, body, dst, v)
}

func (p *Policy) check(dir Scope, op provider.Operation, body, dst []byte, v []Verdict) ([]byte, []Verdict, error) {
	root, err := walk.RootObject(body)
	if err != nil {
		return body, v, err
	}
	anchors := p.outAnchors
	if dir == Input {
		// A body no larger than the scan limit holds no more text than it
		// (the walk's fields are disjoint, walk.Walker.Add, and decoding never
		// lengthens a string), so it cannot be over it.
		anchors = p.inAnchors
		if len(body) > p.scanLimit {
			anchors = ""
		}
	}
	if anchors != "" && !mayHold(body, anchors) {
		return body, v, nil // no rule can match: skip the walk
	}
	sc := p.getScratch()
	defer p.putScratch(sc)
	sc.w.Reset(body)
	rules := p.out
	if dir == Input {
		inputText(&sc.w, op, root)
		rules = p.in
		if err := p.checkLimit(sc); err != nil {
			return body, v, err
		}
	} else {
		outputText(&sc.w, op, root)
	}
	counts := resize(sc.counts, len(rules))
	sc.counts = counts
	needRunes := false
	for _, r := range p.size {
		needRunes = needRunes || (dir == Input && r.kind == kindChars)
	}

	out, edited, runes, blocked, err := redactFields(sc, sc.w.Fields, rules, body, dst, counts, needRunes)
	if err != nil {
		return body, v, err
	}
	for i, r := range rules {
		if counts[i] > 0 {
			v = append(v, Verdict{Rule: r.name, Action: r.action, Scope: dir, Count: counts[i]})
		}
	}
	if dir == Input {
		for _, r := range p.size {
			n := sc.w.Msgs
			if r.kind == kindChars {
				n = runes
			}
			if n <= r.limit {
				continue
			}
			v = append(v, Verdict{Rule: r.name, Action: r.action, Scope: Input, Count: 1})
			if r.action == Block && blocked == "" {
				blocked = r.name
			}
		}
	}
	if blocked != "" {
		return body, v, &Violation{Rule: blocked, Scope: dir}
	}
	if !edited {
		return body, v, nil
	}
	return out, v, nil
}

// redactFields scans the fields collected from body with rules,
// counting matches in counts. When a field needs redaction it returns the
// rewritten body appended to dst[:0] (edited true), after checking that body
// is valid JSON. blocked names the first block rule that matched; runes is
// the number of characters of the fields' text when needRunes is set.
func redactFields(sc *scratch, fields []walk.Field, rules []*crule, body, dst []byte, counts []int, needRunes bool) (out []byte, edited bool, runes int, blocked string, err error) {
	pos := 0
	for _, fld := range fields {
		text := walk.Decoded(body, fld.Span, fld.Esc, &sc.text)
		if needRunes {
			runes += utf8.RuneCount(text)
		}
		if len(rules) == 0 {
			continue
		}
		sc.hits = collect(rules, text, sc.hits[:0], &sc.matches)
		if len(sc.hits) == 0 {
			continue
		}
		var blk int
		_, sc.picks, blk = resolve(rules, sc.hits, 0, len(text), true, sc.picks[:0], counts)
		if blk >= 0 {
			if blocked == "" {
				blocked = rules[sc.hits[blk].rule].name
			}
			continue
		}
		if len(sc.picks) == 0 || blocked != "" {
			continue
		}
		if !edited {
			if !gjson.ValidBytes(body) {
				return nil, false, 0, "", ErrInvalidJSON
			}
			out = append(dst[:0], body[:fld.Start]...)
			edited = true
		} else {
			out = append(out, body[pos:fld.Start]...)
		}
		sc.red = appendRedacted(sc.red[:0], text, 0, 0, len(text), sc.picks, rules)
		out = provider.AppendJSONString(out, bytesView(sc.red))
		pos = fld.End
	}
	if edited {
		out = append(out, body[pos:]...)
	}
	return out, edited, runes, blocked, nil
}

// checkLimit fails when the fields hold more text than the scan limit.
func (p *Policy) checkLimit(sc *scratch) error {
	total := 0
	for _, f := range sc.w.Fields {
		total += f.End - f.Start - 2
	}
	if total <= p.scanLimit {
		return nil
	}
	// The raw size bounds the decoded one; count exactly before refusing.
	total = 0
	for _, f := range sc.w.Fields {
		total += len(walk.Decoded(sc.w.B, f.Span, f.Esc, &sc.text))
	}
	if total <= p.scanLimit {
		return nil
	}
	return &LimitError{Limit: p.scanLimit, Size: total}
}

// resize returns s with length n, zeroed, reusing its array when it can.
func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	s = s[:n]
	clear(s)
	return s
}

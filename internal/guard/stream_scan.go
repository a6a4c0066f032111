package guard

import "unicode/utf8"

// ruleScan is how far a stream channel has scanned for one output rule.
type ruleScan struct {
	// done: for a finder rule, every match that starts before done is known
	// (in channel.known until released) and no other can start there; for a
	// regex rule, where its next search resumes.
	done    int
	credit  int // finder rules: bytes the rule may still scan (see scanRate)
	seen    int // the channel's length when credit was last topped up
	scanned int // the channel's length at the rule's last scan
}

// release appends to out the text of ch that can be released now: with
// final set all of it (the channel's text has ended), else all but the tail
// that could still become part of a match: the pending tail of each finder
// rule, a regex rule's fixed holdback, and any redaction that is not yet
// whole. It returns the new end of the released text and whether a
// redaction was made; a block match returns a *Violation as soon as it is
// known.
func (s *Stream) release(ch *channel, final bool, out []byte) (_ []byte, cut int, redacted bool, err error) {
	p := s.p
	n := ch.end()
	to := n
	blocked := false
	for i, r := range p.out {
		switch r.kind {
		case kindFinder:
			s.advance(ch, i, r, final)
			to = min(to, ch.scans[i].done)
		case kindRegex:
			if !final {
				to = min(to, n-r.hold)
			}
		}
	}
	for _, h := range ch.known {
		blocked = blocked || p.out[h.rule].action == Block
	}
	if !final {
		to = wholeRunes(ch, to)
	}
	if to <= ch.rel && !blocked {
		return out, ch.rel, false, nil
	}
	to = max(to, ch.rel)
	s.hits = s.hits[:0]
	for _, h := range ch.known {
		if h.start < to || p.out[h.rule].action == Block {
			s.hits = append(s.hits, h)
		}
	}
	for i, r := range p.out {
		if r.kind == kindRegex {
			s.hits = r.regex.find(s.hits, i, ch.buf, ch.base, ch.scans[i].done, to)
		}
	}
	var blk int
	cut, s.picks, blk = resolve(p.out, s.hits, ch.rel, to, final, s.picks[:0], s.counts)
	if blk >= 0 {
		return out, ch.rel, false, &Violation{Rule: p.out[s.hits[blk].rule].name, Scope: Output}
	}
	for i, r := range p.out {
		if r.kind != kindRegex {
			continue
		}
		c := ch.scans[i].done
		for _, h := range s.hits {
			if int(h.rule) == i && h.start < cut {
				c = max(c, h.end)
			}
		}
		ch.scans[i].done = max(c, cut)
	}
	kept := ch.known[:0]
	for _, h := range ch.known {
		if h.start >= cut {
			kept = append(kept, h)
		}
	}
	ch.known = kept
	out = appendRedacted(out, ch.buf, ch.base, ch.rel, cut, s.picks, p.out)
	ch.rel = cut
	ch.compact(p.keep)
	return out, cut, len(s.picks) > 0, nil
}

// advance scans the text of ch that finder rule i (r) has not decided yet,
// adds the matches that became final to ch.known and moves its done point
// up to the rule's pending point (to the end with final set).
//
// First the quiet-window test (detect.Finder.LeftContext): a window from
// LeftContext bytes before done in which Find reports nothing decides
// everything up to its Pending point. Clean text, the common case, costs
// that short window. Otherwise the window starts ctx (MaxLen) bytes before
// done, which detect's locality makes exact. Either scan is paid for with
// the rule's credit; out of credit, the rule waits for more text.
func (s *Stream) advance(ch *channel, i int, r *crule, final bool) {
	st := &ch.scans[i]
	n := ch.end()
	if !final {
		st.credit = min(r.scanCap, st.credit+scanRate*(n-st.seen))
		st.seen = n
		if st.credit < 0 || n == st.scanned {
			return // out of credit, or no new text to decide anything
		}
	}
	if st.done >= n {
		return
	}
	st.scanned = n
	f := r.finder
	// The buffer holds p.keep >= max(ctx, left) bytes before rel, and
	// done >= rel. The short window's fixed left context is not charged.
	x := max(0, st.done-r.left)
	w := ch.buf[x-ch.base:]
	s.ms = f.Find(w, s.ms[:0])
	st.credit -= n - st.done
	if len(s.ms) > 0 {
		x = max(0, st.done-r.ctx)
		w = ch.buf[x-ch.base:]
		s.ms = f.Find(w, s.ms[:0])
		st.credit -= len(w) + n - st.done // Find, and Pending on the tail
	}
	q := n
	if !final {
		q = x + f.Pending(w)
	}
	for _, m := range s.ms {
		if a := x + m.Start; a >= st.done && a < q {
			ch.known = append(ch.known, hit{start: a, end: x + m.End, rule: int32(i)})
		}
	}
	st.done = max(st.done, q)
}

// wholeRunes moves a release point back so that released text ends with a
// whole rune: off a continuation byte, and before a last rune that has not
// fully arrived.
func wholeRunes(ch *channel, to int) int {
	n := ch.end()
	if to < n {
		for i := 0; i < 3 && to > ch.rel && ch.buf[to-ch.base]&0xC0 == 0x80; i++ {
			to--
		}
		return to
	}
	b := ch.buf
	j := len(b) - 1
	for k := 0; k < 3 && j > 0 && b[j]&0xC0 == 0x80; k++ {
		j--
	}
	if j >= 0 && b[j] >= 0xC0 && !utf8.FullRune(b[j:]) {
		return max(ch.rel, ch.base+j)
	}
	return to
}

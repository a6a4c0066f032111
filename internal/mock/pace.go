package mock

import "time"

// clock is the time source of pacing. Tests substitute a fake that records the waits
// it is asked for and advances virtual time instead of sleeping.
type clock interface {
	now() time.Time
	// sleep waits d, or until stop is closed, and reports whether the full d passed.
	// *t is a timer owned by the caller, created on first use and reused afterwards,
	// so that a stream costs one timer however many tokens it paces.
	sleep(d time.Duration, t **time.Timer, stop <-chan struct{}) bool
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) sleep(d time.Duration, t **time.Timer, stop <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	select {
	case <-(*t).C:
		return true
	case <-stop:
		(*t).Stop()
		return false
	}
}

// pacer computes when each token of a reply is due, as an offset from the start of
// the reply: the first token at TTFT, each later one an ITL after the one before,
// varied by ±jitter×ITL. A total latency, when steered, replaces both: the n tokens of
// a stream are spread evenly so that the last one is due at the total.
type pacer struct {
	first  time.Duration // offset of token 0
	gap    time.Duration // nominal gap between tokens
	jitter float64
	r      rng
	next   time.Duration // offset of the next token
	k      int           // tokens scheduled so far
}

// paceSalt separates the jitter of a reply's pacer from its content, which draws on the
// same seed.
const paceSalt = 0x7f4a7c159e3779b9

func newPacer(s *steer, tokens int, seed uint64) pacer {
	p := pacer{first: s.ttft, gap: s.itl, jitter: s.jitter, r: rng{s: seed}}
	if s.hasLatency {
		p.jitter = 0
		if tokens <= 0 {
			p.first, p.gap = s.latency, 0
		} else {
			p.gap = s.latency / time.Duration(tokens)
			// The remainder goes to the first token, so the last is due exactly at the total.
			p.first = s.latency - p.gap*time.Duration(tokens-1)
		}
	}
	p.next = p.first
	return p
}

// due returns the offset of the next token and advances the schedule.
func (p *pacer) due() time.Duration {
	d := p.next
	p.k++
	gap := p.gap
	if p.jitter > 0 && gap > 0 {
		gap = time.Duration(float64(gap) * (1 + p.jitter*(2*p.r.float()-1)))
	}
	p.next += gap
	return d
}

// total returns how long a non-streamed reply of n tokens waits before it is sent:
// TTFT + ITL×(n−1) (jitter applied to each gap), or the steered total latency.
func (p *pacer) total(n int) time.Duration {
	if n <= 0 {
		return p.first
	}
	if p.jitter == 0 || p.gap == 0 {
		return p.first + p.gap*time.Duration(n-1)
	}
	var d time.Duration
	for range n {
		d = p.due()
	}
	return d
}

package provider_test

import (
	"fmt"
	"strings"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// grammar follows a canonical event stream through the grammar every
// decoder promises (canon.EventKind):
//
//	stream = EvStart { part | EvUsage } [ EvStop ] { EvUsage } EvEnd
//	part   = EvPartStart { EvDelta | EvUsage } EvPartStop
//
// with EvError allowed anywhere instead of the rest, and part indexes
// counting from 0 in the order parts start.
type grammar struct {
	state int // one of the gs constants
	next  int // the index the next part must have
	open  int // the open part's index
}

const (
	gsBefore  = iota // nothing yet
	gsBetween        // started, no part open
	gsInPart         // a part open
	gsStopped        // after EvStop
	gsEnded          // after EvEnd or EvError
)

// step checks one event.
func (g *grammar) step(ev *canon.Event) error {
	bad := func() error {
		return fmt.Errorf("event kind %d (index %d) in state %d (next part %d, open %d)", ev.Kind, ev.Index, g.state, g.next, g.open)
	}
	if g.state == gsEnded {
		return bad()
	}
	switch ev.Kind {
	case canon.EvStart:
		if g.state != gsBefore {
			return bad()
		}
		g.state = gsBetween
	case canon.EvPartStart:
		if g.state != gsBetween || ev.Index != g.next {
			return bad()
		}
		g.state, g.open = gsInPart, ev.Index
		g.next++
	case canon.EvDelta:
		if g.state != gsInPart || ev.Index != g.open {
			return bad()
		}
	case canon.EvPartStop:
		if g.state != gsInPart || ev.Index != g.open {
			return bad()
		}
		g.state = gsBetween
	case canon.EvStop:
		if g.state != gsBetween {
			return bad()
		}
		g.state = gsStopped
	case canon.EvUsage:
		if g.state == gsBefore {
			return bad()
		}
	case canon.EvEnd:
		if g.state != gsBetween && g.state != gsStopped {
			return bad()
		}
		g.state = gsEnded
	case canon.EvError:
		g.state = gsEnded
	default:
		return bad()
	}
	return nil
}

// checkGrammar checks a whole stream, which must have ended.
func checkGrammar(evs []canon.Event) error {
	var g grammar
	for i := range evs {
		if err := g.step(&evs[i]); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	if g.state != gsEnded {
		return fmt.Errorf("the stream does not end (state %d)", g.state)
	}
	return nil
}

// content is what a client reads from a reply: its texts, in order, and
// its tool calls.
type content struct {
	Text, Thinking, Refusal string
	Calls                   []call
	Stop                    canon.StopReason
	Usage                   usage
}

type call struct{ Name, Args string }

// usage is the part of canon.Usage clients read (Reasoning: all but
// Bedrock report it).
type usage struct{ Input, Output, CacheRead, Reasoning int64 }

func (c content) String() string {
	return fmt.Sprintf("text %q\nthinking %q\nrefusal %q\ncalls %q\nstop %d usage %+v", c.Text, c.Thinking, c.Refusal, c.Calls, c.Stop, c.Usage)
}

// replyContent is the content of a complete reply.
func replyContent(r *canon.Reply) content {
	var c content
	var text, thinking, refusal strings.Builder
	for _, p := range r.Parts {
		switch p.Kind {
		case canon.PartText:
			text.WriteString(p.Text)
		case canon.PartThinking:
			thinking.WriteString(p.Text)
		case canon.PartRefusal:
			refusal.WriteString(p.Text)
		case canon.PartToolCall:
			c.Calls = append(c.Calls, call{p.Name, p.Args})
		}
	}
	c.Text, c.Thinking, c.Refusal = text.String(), thinking.String(), refusal.String()
	c.Stop = r.Stop.Reason
	c.Usage = usage{r.Usage.Input, r.Usage.Output, r.Usage.CacheRead, r.Usage.Reasoning}
	return c
}

// accumulator reads a stream's content from its canonical events, as a
// client's SDK accumulates a streamed reply. With merge (OpenAI chat,
// whose SDKs accumulate tool call fragments by index), a part that starts
// a call of an id already seen continues that call; in the other formats
// each block is a call of its own, as their SDKs read them.
type accumulator struct {
	merge               bool
	kinds               map[int]canon.PartKind
	call                map[int]int // part index → index in calls
	ids                 map[string]int
	text, think, refuse strings.Builder
	c                   content
}

func (a *accumulator) add(ev *canon.Event) {
	if a.kinds == nil {
		a.kinds, a.call, a.ids = map[int]canon.PartKind{}, map[int]int{}, map[string]int{}
	}
	switch ev.Kind {
	case canon.EvPartStart:
		a.kinds[ev.Index] = ev.Part.Kind
		if ev.Part.Kind == canon.PartToolCall {
			i, ok := a.ids[ev.Part.ID]
			if !ok || !a.merge || ev.Part.ID == "" {
				i = len(a.c.Calls)
				a.c.Calls = append(a.c.Calls, call{Name: ev.Part.Name})
				a.ids[ev.Part.ID] = i
			}
			a.call[ev.Index] = i
		}
		a.write(ev.Index, ev.Part.Text)
	case canon.EvDelta:
		a.write(ev.Index, ev.Text)
	case canon.EvStop:
		a.c.Stop = ev.Stop.Reason
	case canon.EvUsage:
		u := &a.c.Usage
		for _, f := range [...]struct{ dst, src *int64 }{{&u.Input, &ev.Usage.Input}, {&u.Output, &ev.Usage.Output},
			{&u.CacheRead, &ev.Usage.CacheRead}, {&u.Reasoning, &ev.Usage.Reasoning}} {
			if *f.src != 0 {
				*f.dst = *f.src
			}
		}
	}
}

func (a *accumulator) write(index int, s string) {
	switch a.kinds[index] {
	case canon.PartText:
		a.text.WriteString(s)
	case canon.PartThinking:
		a.think.WriteString(s)
	case canon.PartRefusal:
		a.refuse.WriteString(s)
	case canon.PartToolCall:
		a.c.Calls[a.call[index]].Args += s
	}
}

func (a *accumulator) content() content {
	c := a.c
	c.Text, c.Thinking, c.Refusal = a.text.String(), a.think.String(), a.refuse.String()
	return c
}

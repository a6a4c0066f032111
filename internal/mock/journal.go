package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Entry is one request as the mock saw it, recorded when its reply ended.
type Entry struct {
	// Time is when the request arrived.
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	// Path is the request path without the query string.
	Path string `json:"path"`
	// Query is the raw query string, empty when there was none.
	Query string `json:"query,omitempty"`
	// Headers maps lower-cased header names to values; repeated headers are joined
	// with ", ".
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	// Status is the status sent, or 0 when no response was sent (drop, hang).
	Status int `json:"status"`
	// Cancelled is set when the client went away before the reply was complete.
	Cancelled bool `json:"cancelled"`
}

// journal keeps the last N entries in a ring.
type journal struct {
	mu     sync.Mutex
	ring   []Entry
	start  int           // index of the oldest entry
	n      int           // entries held
	notify chan struct{} // closed and replaced whenever an entry is recorded
}

func newJournal(n int) *journal {
	if n <= 0 {
		return nil
	}
	return &journal{ring: make([]Entry, n), notify: make(chan struct{})}
}

func (j *journal) record(e Entry) {
	j.mu.Lock()
	if j.n < len(j.ring) {
		j.ring[(j.start+j.n)%len(j.ring)] = e
		j.n++
	} else {
		j.ring[j.start] = e
		j.start = (j.start + 1) % len(j.ring)
	}
	close(j.notify)
	j.notify = make(chan struct{})
	j.mu.Unlock()
}

// snapshot returns the entries oldest first and the channel that is closed at the next
// record.
func (j *journal) snapshot() ([]Entry, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, j.n)
	for i := range j.n {
		out[i] = j.ring[(j.start+i)%len(j.ring)]
	}
	return out, j.notify
}

func (j *journal) reset() {
	j.mu.Lock()
	clear(j.ring)
	j.start, j.n = 0, 0
	j.mu.Unlock()
}

// newEntry copies what the journal keeps from req. It runs only with the journal on.
func newEntry(req *fasthttp.Request, at time.Time) *Entry {
	e := &Entry{
		Time:    at,
		Method:  string(req.Header.Method()),
		Path:    string(req.URI().Path()),
		Query:   string(req.URI().QueryString()),
		Headers: make(map[string]string, req.Header.Len()),
		Body:    string(req.Body()),
	}
	for k, v := range req.Header.All() {
		name := strings.ToLower(string(k))
		if prev, ok := e.Headers[name]; ok {
			e.Headers[name] = prev + ", " + string(v)
		} else {
			e.Headers[name] = string(v)
		}
	}
	return e
}

// Journal returns the last Options.Journal requests, oldest first; nil when the journal
// is off.
func (s *Server) Journal() []Entry {
	if s.journal == nil {
		return nil
	}
	out, _ := s.journal.snapshot()
	return out
}

// ResetJournal forgets every recorded entry.
func (s *Server) ResetJournal() {
	if s.journal != nil {
		s.journal.reset()
	}
}

// ErrJournalOff is returned by WaitJournal when the server keeps no journal.
var ErrJournalOff = errJournalOff{}

type errJournalOff struct{}

func (errJournalOff) Error() string { return "mock: journal is off (Options.Journal is 0)" }

// WaitJournal waits until pred accepts the journal and returns the entries pred saw. It
// returns ctx's error, wrapped, when ctx ends first, and ErrJournalOff when the journal
// is off.
func (s *Server) WaitJournal(ctx context.Context, pred func([]Entry) bool) ([]Entry, error) {
	if s.journal == nil {
		return nil, ErrJournalOff
	}
	for {
		entries, changed := s.journal.snapshot()
		if pred(entries) {
			return entries, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return entries, fmt.Errorf("mock: waiting for the journal: %w", ctx.Err())
		}
	}
}

// serveJournal answers GET /_mock/requests (the journal as a JSON array) and
// DELETE /_mock/requests (clears it).
func (s *Server) serveJournal(ctx *fasthttp.RequestCtx) {
	if s.journal == nil {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":{"message":"the request journal is off; start the mock with --journal N","type":"invalid_request_error","param":null,"code":"journal_off"}}`)
		return
	}
	switch string(ctx.Method()) {
	case fasthttp.MethodGet:
		entries, _ := s.journal.snapshot()
		body, err := json.Marshal(entries)
		if err != nil {
			ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	case fasthttp.MethodDelete:
		s.journal.reset()
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	default:
		ctx.Response.Header.Set("Allow", "GET, DELETE")
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
	}
}

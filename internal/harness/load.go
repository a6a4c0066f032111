package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Request is one request a Client sends.
type Request struct {
	Target int    // index into the client's targets
	Path   string // default /v1/chat/completions
	Key    string // sent as Authorization: Bearer
	Body   []byte
	Header map[string]string
	// Stream reads the reply as server-sent events, counting them.
	Stream bool
	// CancelAfter, with Stream, closes the connection once that many
	// events arrived (0: read to the end).
	CancelAfter int
	// Kind is a label kept in the Result (which fault, which phase).
	Kind string
}

// Result is what the client saw of one request.
type Result struct {
	ID     string    `json:"id"`
	Target int       `json:"target"`
	Kind   string    `json:"kind,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Status is the HTTP status; 0 when no answer came.
	Status int `json:"status"`
	// Err classifies a transport failure (refused, reset, eof, timeout,
	// other: ...), before the answer (Status 0) or while reading its body.
	Err    string `json:"err,omitempty"`
	Events int    `json:"events,omitempty"`
	// Cancelled: the client closed the stream on purpose (CancelAfter).
	Cancelled bool `json:"cancelled,omitempty"`
	// StreamError: a stream event carried an error.
	StreamError bool `json:"stream_error,omitempty"`
	// BadJSON: a 200 whose non-streamed body is not valid JSON.
	BadJSON bool `json:"bad_json,omitempty"`
	// Truncated: a stream that ended without its closing [DONE] and
	// without an error event.
	Truncated bool `json:"truncated,omitempty"`
}

// Complete reports whether the client got a whole answer (or went away on
// purpose): the gateway has then settled the request and must log it.
func (r Result) Complete() bool { return r.Status != 0 && (r.Err == "" || r.Cancelled) }

// WholeOK reports whether r is a whole 200 (a stream read to its
// [DONE]).
func (r Result) WholeOK() bool {
	return r.Status == 200 && r.Err == "" && !r.StreamError && !r.Truncated && !r.BadJSON
}

// Outcome is the result's status as a table key: the HTTP status, or the
// transport failure ("refused", "reset", ...), with "+cancelled",
// "+stream_error", "+bad_json" or "+" and the body's failure appended.
func (r Result) Outcome() string {
	s := fmt.Sprint(r.Status)
	if r.Status == 0 {
		s = r.Err
	} else if r.Err != "" && !r.Cancelled {
		s += "+" + r.Err
	}
	switch {
	case r.Cancelled:
		s += "+cancelled"
	case r.StreamError:
		s += "+stream_error"
	case r.BadJSON:
		s += "+bad_json"
	case r.Truncated:
		s += "+truncated"
	}
	return s
}

// Client sends Requests to a fixed set of gateway instances, each with a
// unique x-request-id, and records what it saw.
type Client struct {
	Targets []string // root URLs
	Timeout time.Duration
	hc      *http.Client
}

// NewClient makes a client for targets; timeout bounds every request,
// streams included.
func NewClient(targets []string, timeout time.Duration) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &Client{Targets: targets, Timeout: timeout, hc: &http.Client{Transport: tr}}
}

// CloseIdle closes the client's idle connections.
func (c *Client) CloseIdle() { c.hc.CloseIdleConnections() }

// Do sends one request with x-request-id id and waits for its end.
func (c *Client) Do(ctx context.Context, id string, rq Request) (res Result) {
	res = Result{ID: id, Target: rq.Target, Kind: rq.Kind, Start: time.Now()}
	defer func() { res.End = time.Now() }()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	path := rq.Path
	if path == "" {
		path = "/v1/chat/completions"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.Targets[rq.Target]+path, bytes.NewReader(rq.Body))
	if err != nil {
		res.Err = "other: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-request-id", id)
	if rq.Key != "" {
		req.Header.Set("Authorization", "Bearer "+rq.Key)
	}
	for k, v := range rq.Header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		res.Err = ErrClass(err)
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	if !rq.Stream || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			res.Err = ErrClass(err)
		} else if resp.StatusCode == 200 && !rq.Stream && !json.Valid(b) {
			res.BadJSON = true
		}
		return res
	}
	br := bufio.NewReader(resp.Body)
	done := false
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, []byte("data:")) {
			res.Events++
			data := bytes.TrimSpace(line[5:])
			if bytes.HasPrefix(data, []byte(`{"error"`)) {
				res.StreamError = true
			}
			if bytes.Equal(data, []byte("[DONE]")) {
				done = true
			}
			if rq.CancelAfter > 0 && res.Events >= rq.CancelAfter {
				res.Cancelled = true
				cancel() // closes the connection: the gateway sees the client leave
				return res
			}
		} else if bytes.HasPrefix(line, []byte("event: error")) {
			res.StreamError = true
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
				res.Err = ErrClass(err)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			res.Truncated = !done && !res.StreamError && res.Err == ""
			return res
		}
	}
}

// ErrClass names a transport error: refused, reset, eof, timeout, or
// other: and the message.
func ErrClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "other: " + err.Error()
}

// Load is an open-loop load: Rate requests a second, whatever the
// answers, with at most MaxInFlight at once (a request due while that
// many are in flight is not sent and is counted as skipped).
type Load struct {
	Client      *Client
	Rate        float64
	MaxInFlight int
	// IDPrefix starts every x-request-id: PREFIX-000001, ...
	IDPrefix string
	// Next builds request seq (0, 1, ...).
	Next func(seq int) Request
}

// Running is a load being sent; Stop ends it.
type Running struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	results []Result
	skipped int
	wg      sync.WaitGroup
}

// Start begins sending; it stops when ctx ends or Stop is called.
func (l *Load) Start(ctx context.Context) *Running {
	r := &Running{stop: make(chan struct{}), done: make(chan struct{})}
	interval := time.Duration(float64(time.Second) / l.Rate)
	sem := make(chan struct{}, max(l.MaxInFlight, 1))
	go func() {
		defer close(r.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for seq := 0; ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-r.stop:
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				r.mu.Lock()
				r.skipped++
				r.mu.Unlock()
				continue
			}
			rq := l.Next(seq)
			id := fmt.Sprintf("%s-%06d", l.IDPrefix, seq)
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				res := l.Client.Do(ctx, id, rq)
				<-sem
				r.mu.Lock()
				r.results = append(r.results, res)
				r.mu.Unlock()
			}()
		}
	}()
	return r
}

// Stop stops sending, waits for the requests in flight (each is bounded
// by the client's timeout) and returns every result, in completion order.
func (r *Running) Stop() []Result {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results
}

// Results returns a copy of the results of the requests finished so far.
func (r *Running) Results() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.results)
}

// Skipped counts requests not sent because MaxInFlight were in flight.
func (r *Running) Skipped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

// Sent counts requests finished so far.
func (r *Running) Sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.results)
}

// Burst sends rqs at once (one goroutine each) with ids PREFIX-000000...
// and returns their results in the order of rqs.
func (c *Client) Burst(ctx context.Context, prefix string, rqs []Request) []Result {
	out := make([]Result, len(rqs))
	var wg sync.WaitGroup
	for i, rq := range rqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.Do(ctx, fmt.Sprintf("%s-%06d", prefix, i), rq)
		}()
	}
	wg.Wait()
	return out
}

// ChatBody is a chat completion of model with one user message ("hi"),
// streamed when stream.
func ChatBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]` + s + `}`)
}

// SteadyRequest is request seq of the tools' steady load: gpt-4o-mini
// with key, to instance seq mod instances, every fifth request streamed,
// labelled kind.
func SteadyRequest(seq, instances int, key, kind string) Request {
	stream := seq%5 == 4
	return Request{Target: seq % instances, Key: key, Body: ChatBody("gpt-4o-mini", stream), Stream: stream, Kind: kind}
}

package gateway

import (
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/guard"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/sse"
)

// TestExchangeResetIsFresh sets every field of an exchange, the fields of
// its parts and of the values they hold included, to a non-zero value by
// reflection, resets it, and checks that it equals a fresh exchange{} but
// for what reset keeps on purpose:
//
//   - buffers ([]byte) keep their capacity up to 64 KiB and drop a larger
//     one (views of other buffers are dropped); other slices keep their
//     capacity; every slice is emptied;
//   - upReq and upResp are reset by fasthttp, which keeps their buffers
//     (and upResp.KeepBodyBuffer): they must read as fresh ones;
//   - rd, the stream's reader, is kept, reset, for the next stream;
//   - xl, the translation state, is kept, reset, for the next request;
//   - gen counts on, so that a late timer or watcher call of the request
//     before finds it changed.
//
// The walk covers every field, so a field added later without its line in
// its part's reset fails here. A field of a type the filler cannot make
// (an interface that stub does not implement, a func) fails too, until
// fillValue learns it.
func TestExchangeResetIsFresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bufCap int // the capacity of every filled []byte
	}{
		{"small buffers kept", 16},
		{"large buffers dropped", 64<<10 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &exchange{}
			f := filler{t: t, bufCap: tc.bufCap}
			f.fill(reflect.ValueOf(x).Elem(), "exchange")
			gen := x.gen
			x.reset()
			if x.gen <= gen {
				t.Errorf("gen %d after reset, want above %d", x.gen, gen)
			}
			c := checker{t: t, bufCap: tc.bufCap}
			c.check(reflect.ValueOf(x).Elem(), "exchange")
		})
	}
}

// TestExchangeResetCheckFails shows that the check can fail: a field left
// as the filler set it is reported.
func TestExchangeResetCheckFails(t *testing.T) {
	x := &exchange{}
	x.reset()
	x.retryAfter.RetryAfter = time.Second // as if limitState.reset forgot it
	c := checker{t: t}
	var fails []string
	c.report = func(path string) { fails = append(fails, path) }
	c.check(reflect.ValueOf(x).Elem(), "exchange")
	if want := "exchange.limitState.retryAfter.RetryAfter"; len(fails) != 1 || fails[0] != want {
		t.Fatalf("fields reported: %q, want [%s]", fails, want)
	}
}

// settable returns v (a field, maybe unexported) as a value reflection may
// set.
func settable(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

var (
	typeTime   = reflect.TypeFor[time.Time]()
	typeBytes  = reflect.TypeFor[[]byte]()
	typeUpReq  = reflect.TypeFor[fasthttp.Request]()
	typeUpResp = reflect.TypeFor[fasthttp.Response]()
)

// stub fills the interface fields: it implements every interface an
// exchange holds (net.Conn through its nil embedded one).
type stub struct{ net.Conn }

func (stub) Network() string                { return "stub" }
func (stub) String() string                 { return "stub" }
func (stub) CloseWithError(err error) error { return err }
func (stub) Now() time.Time                 { return time.Unix(1, 0) }
func (stub) Sleep(time.Duration)            {}

// filler sets every field it reaches to a non-zero value.
type filler struct {
	t      *testing.T
	bufCap int
}

func (f *filler) fill(v reflect.Value, path string) {
	f.t.Helper()
	v = settable(v)
	switch path {
	case "exchange.cancelState.mu":
		return // a locked mutex would stop reset; unlocked is its zero value
	case "exchange.routeState.aw.prev", "exchange.routeState.aw.next",
		"exchange.routeState.aw.seq", "exchange.routeState.aw.conn":
		return // waiters.remove clears them, under the list's lock
	case "exchange.routeState.aw.call":
		v.Addr().Interface().(*provider.Call).Cancel() // its slot pointer cannot be made here
		return
	case "exchange.guardState.gs":
		v.Set(reflect.ValueOf(outputStream(f.t)))
		return
	case "exchange.routeState.xl":
		xl := &translation{on: true, upOp: provider.OpMessages, decoded: true, out: make([]byte, 1, f.bufCap),
			raw: make([]byte, 1, f.bufCap), path: make([]byte, 1, f.bufCap), evs: make([]canon.Event, 1, 2048)}
		xl.req.Model, xl.reply.ID = "m", "r"
		v.Set(reflect.ValueOf(xl))
		return
	case "exchange.relayState.rd":
		rd := sse.NewReader(strings.NewReader("data: a\n\ndata: b\n\n"), maxEvent)
		if _, err := rd.Next(); err != nil || !rd.Buffered() {
			f.t.Fatalf("reader: %v, buffered %v", err, rd.Buffered())
		}
		v.Set(reflect.ValueOf(rd))
		return
	}
	switch v.Type() {
	case typeTime:
		v.Set(reflect.ValueOf(time.Unix(1, 0)))
		return
	case typeBytes:
		v.Set(reflect.ValueOf(make([]byte, 1, f.bufCap)))
		return
	case typeUpReq:
		r := v.Addr().Interface().(*fasthttp.Request)
		r.SetRequestURI("http://upstream/v1/chat/completions")
		r.Header.SetMethod("POST")
		r.Header.Set("Authorization", "Bearer sk-filler")
		r.SetBodyString(`{"model":"m"}`)
		return
	case typeUpResp:
		r := v.Addr().Interface().(*fasthttp.Response)
		r.KeepBodyBuffer = true // as acquireExchange sets it
		r.SetStatusCode(502)
		r.Header.Set("Retry-After", "1")
		r.SetBodyString(`{"error":{}}`)
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.String:
		v.SetString("x")
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Chan:
		v.Set(reflect.MakeChan(v.Type(), 0))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem())) // not followed: reset only drops it
	case reflect.Interface:
		s := reflect.ValueOf(stub{})
		if !s.Type().Implements(v.Type()) {
			f.t.Fatalf("%s: stub does not implement %s; give it the methods", path, v.Type())
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			f.fill(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
		if path == "exchange.limitState.ticket" {
			// The ticket's Reset clears the end users' budgets its count
			// says are in use: count every entry in use, so that all must
			// be cleared.
			for _, n := range [][2]string{{"nusers", "users"}} {
				settable(v.FieldByName(n[0])).SetInt(int64(v.FieldByName(n[1]).Len()))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i), path)
		}
	default:
		f.t.Fatalf("%s: the filler cannot make a %s; teach it", path, v.Type())
	}
}

// outputStream returns a guardrails stream scanner, as a relay with output
// guardrails holds.
func outputStream(t *testing.T) *guard.Stream {
	t.Helper()
	eng, err := guard.New([]guard.Set{{Name: "s", Rules: []guard.Rule{
		{Name: "r", Kind: "regex", Pattern: "secret", Action: guard.Block, Scope: guard.Output},
	}}}, guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.Policy("s")
	if err != nil {
		t.Fatal(err)
	}
	return p.NewStream(provider.FormatOpenAI, provider.OpChat)
}

// views are []byte fields that alias buffers held elsewhere: reset drops
// them.
var views = map[string]bool{
	"exchange.logState.rec.RequestBody":  true, // logReq
	"exchange.logState.rec.ResponseBody": true, // logResp
}

// checker reports every field of a reset exchange that a fresh one would
// not have.
type checker struct {
	t      testing.TB
	bufCap int               // the filled buffers' capacity
	report func(path string) // nil: t.Errorf
}

func (c *checker) fail(path, format string, args ...any) {
	c.t.Helper()
	if c.report != nil {
		c.report(path)
		return
	}
	c.t.Errorf("%s: "+format, append([]any{path}, args...)...)
}

func (c *checker) check(v reflect.Value, path string) {
	c.t.Helper()
	v = settable(v)
	switch path {
	case "exchange.cancelState.gen":
		return // counts on: checked by the caller
	case "exchange.routeState.xl":
		if xl := v.Interface().(*translation); xl != nil && (xl.on || xl.upOp != 0 || xl.decoded ||
			len(xl.out)+len(xl.raw)+len(xl.path)+len(xl.evs) != 0 || cap(xl.evs) > 1024 ||
			xl.req.Model != "" || xl.reply.ID != "" || xl.dec != nil || xl.enc != nil || xl.next != nil ||
			(c.bufCap > 64<<10 && cap(xl.out)+cap(xl.raw)+cap(xl.path) != 0)) {
			c.fail(path, "the translation of the last request is still there")
		}
		return
	case "exchange.relayState.rd":
		if rd := v.Interface().(*sse.Reader); rd != nil && rd.Buffered() {
			c.fail(path, "still holds the last stream's bytes")
		}
		return
	case "exchange.limitState.ticket.cs", "exchange.limitState.ticket.bs":
		return // the limiter's scratch room: written in full before it is read (ratelimit.Ticket)
	}
	switch v.Type() {
	case typeTime:
		if !v.IsZero() {
			c.fail(path, "%v, want the zero time", v)
		}
		return
	case typeUpReq:
		if got, want := requestText(v.Addr().Interface().(*fasthttp.Request)), requestText(new(fasthttp.Request)); got != want {
			c.fail(path, "%q, want a fresh request's %q", got, want)
		}
		return
	case typeUpResp:
		r := v.Addr().Interface().(*fasthttp.Response)
		if got, want := r.String(), new(fasthttp.Response).String(); got != want || r.BodyStream() != nil {
			c.fail(path, "%q, want a fresh response's %q", got, want)
		}
		return
	case typeBytes:
		want := c.bufCap
		if want > 64<<10 || views[path] {
			want = 0
		}
		if v.Len() != 0 || v.Cap() != want {
			c.fail(path, "len %d cap %d, want len 0 cap %d", v.Len(), v.Cap(), want)
		}
		return
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() != 0 {
			c.fail(path, "len %d, want 0", v.Len())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			c.check(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Array:
		for i := range v.Len() {
			c.check(v.Index(i), path)
		}
	default:
		if !v.IsZero() {
			c.fail(path, "%v, want the zero value", v)
		}
	}
}

// requestText is what a request would send (its String needs a host).
func requestText(r *fasthttp.Request) string {
	return r.URI().String() + "\n" + r.Header.String() + string(r.Body())
}

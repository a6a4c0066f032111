package mock

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func steerRequest(query string, headers ...string) *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.SetRequestURI("http://mock/v1/chat/completions" + query)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return req
}

func TestParseSteer(t *testing.T) {
	base := defaultSteer(&Options{TTFT: 5 * time.Millisecond, ITL: time.Millisecond, Tokens: 16})
	cases := []struct {
		name    string
		query   string
		headers []string
		check   func(s steer) bool
		err     string // substring of the error, "" for none
	}{
		{"flags", "", nil, func(s steer) bool {
			return s.ttft == 5*time.Millisecond && s.itl == time.Millisecond && s.tokens == -1 && s.disconnect == -1
		}, ""},
		{"decimal ms", "", []string{"X-Mock-TTFT", "12.5"}, func(s steer) bool { return s.ttft == 12500*time.Microsecond }, ""},
		{"go duration", "", []string{"x-mock-itl", "2s"}, func(s steer) bool { return s.itl == 2*time.Second }, ""},
		{"query", "?X-Mock-Tokens=7&x-mock-ttft=3", nil, func(s steer) bool { return s.tokens == 7 && s.ttft == 3*time.Millisecond }, ""},
		{"header beats query", "?X-Mock-Tokens=7", []string{"X-Mock-Tokens", "9"}, func(s steer) bool { return s.tokens == 9 }, ""},
		{"header beats alias", "", []string{"X-Vidai-Latency", "100", "X-Mock-Latency", "200"}, func(s steer) bool { return s.hasLatency && s.latency == 200*time.Millisecond }, ""},
		{"header beats alias in any order", "", []string{"X-Mock-Latency", "200", "X-Vidai-Latency", "100"}, func(s steer) bool { return s.latency == 200*time.Millisecond }, ""},
		{"alias beats query", "?X-Mock-Latency=300", []string{"X-Vidai-Latency", "100"}, func(s steer) bool { return s.latency == 100*time.Millisecond }, ""},
		{"query beats flag", "?X-Mock-TTFT=0", nil, func(s steer) bool { return s.ttft == 0 }, ""},
		{"chaos alias", "", []string{"X-Vidai-Chaos-Drop", "12.5"}, func(s steer) bool { return s.errorRate == 12.5 }, ""},
		{"rates", "?X-Mock-Drop-Rate=1&X-Mock-Malformed-Rate=100", []string{"X-Mock-Error-Rate", "0.5"}, func(s steer) bool { return s.dropRate == 1 && s.malformedRate == 100 && s.errorRate == 0.5 }, ""},
		{"hang flag forms", "?X-Mock-Hang", nil, func(s steer) bool { return s.hang }, ""},
		{"hang false", "", []string{"X-Mock-Hang", "false"}, func(s steer) bool { return !s.hang }, ""},
		{"status and sizes", "", []string{"X-Mock-Status", "529", "X-Response-Size", "1000", "X-Mock-Disconnect-After", "3", "X-Mock-Jitter", "0.25"},
			func(s steer) bool {
				return s.status == 529 && s.respSize == 1000 && s.disconnect == 3 && s.jitter == 0.25
			}, ""},
		{"cache", "?X-Mock-Cached-Tokens=12", []string{"X-Mock-Cache-Write-Tokens", "4"}, func(s steer) bool { return s.cacheRead == 12 && s.cacheWrite == 4 }, ""},
		{"cache header beats query", "?x-mock-cached-tokens=3&X-Mock-Cache-Write-Tokens=5", []string{"x-mock-cached-tokens", "7"}, func(s steer) bool { return s.cacheRead == 7 && s.cacheWrite == 5 }, ""},
		{"cache not steered", "", nil, func(s steer) bool { return s.cacheRead == 0 && s.cacheWrite == 0 }, ""},
		{"cache at the bound", "", []string{"X-Mock-Cached-Tokens", "1000000"}, func(s steer) bool { return s.cacheRead == maxSteerTokens }, ""},
		{"cache over the bound", "", []string{"X-Mock-Cached-Tokens", "1000001"}, nil, "X-Mock-Cached-Tokens"},
		{"negative cache write", "", []string{"X-Mock-Cache-Write-Tokens", "-4"}, nil, "X-Mock-Cache-Write-Tokens"},
		{"bad cache query", "?X-Mock-Cache-Write-Tokens=lots", nil, nil, "query parameter X-Mock-Cache-Write-Tokens"},
		{"bad ttft", "", []string{"X-Mock-TTFT", "soon"}, nil, "X-Mock-TTFT"},
		{"negative itl", "", []string{"X-Mock-ITL", "-1"}, nil, "X-Mock-ITL"},
		{"nan latency", "", []string{"X-Mock-Latency", "NaN"}, nil, "X-Mock-Latency"},
		{"huge delay", "", []string{"X-Mock-TTFT", "1e12"}, nil, "X-Mock-TTFT"},
		{"bad tokens", "", []string{"X-Mock-Tokens", "1.5"}, nil, "X-Mock-Tokens"},
		{"bad status", "", []string{"X-Mock-Status", "302"}, nil, "X-Mock-Status"},
		{"rate over 100", "", []string{"X-Mock-Error-Rate", "101"}, nil, "X-Mock-Error-Rate"},
		{"jitter over 1", "", []string{"X-Mock-Jitter", "2"}, nil, "X-Mock-Jitter"},
		{"bad hang", "", []string{"X-Mock-Hang", "maybe"}, nil, "X-Mock-Hang"},
		{"bad alias", "", []string{"X-Vidai-Latency", "x"}, nil, "X-Vidai-Latency"},
		{"bad query", "?X-Mock-Tokens=many", nil, nil, "query parameter X-Mock-Tokens"},
		{"unknown header", "", []string{"X-Mock-Tokenz", "3"}, nil, "unknown steering header X-Mock-Tokenz"},
		{"unknown query", "?x-mock-nope=1", nil, nil, "unknown steering query parameter x-mock-nope"},
		{"other headers ignored", "?api-version=1", []string{"X-Other", "1", "Authorization", "Bearer x"}, func(s steer) bool { return s.tokens == -1 }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := steerRequest(tc.query, tc.headers...)
			defer fasthttp.ReleaseRequest(req)
			s, err := parseSteer(&base, req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Errorf("steer %+v", s)
			}
		})
	}
}

// TestSteeringOverHTTP checks precedence end to end: Options < query < alias < header,
// and that every format names a malformed header in its own error shape.
func TestSteeringOverHTTP(t *testing.T) {
	clk := newFakeClock()
	_, base := startMock(t, Options{Tokens: 5, TTFT: 40 * time.Millisecond}, clk)
	words := func(body string) int {
		var r struct {
			Choices []struct{ Message struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || len(r.Choices) == 0 {
			t.Fatalf("reply %s: %v", body, err)
		}
		return len(strings.Fields(r.Choices[0].Message.Content))
	}
	chat := base + "/v1/chat/completions"
	if _, body := do(t, "POST", chat, nil, chatBody); words(body) != 5 {
		t.Errorf("flag: %s", body)
	}
	if _, body := do(t, "POST", chat+"?X-Mock-Tokens=3", nil, chatBody); words(body) != 3 {
		t.Errorf("query: %s", body)
	}
	if _, body := do(t, "POST", chat+"?X-Mock-Tokens=3", map[string]string{"X-Mock-Tokens": "2"}, chatBody); words(body) != 2 {
		t.Errorf("header over query: %s", body)
	}
	// X-Mock-Tokens wins over X-Response-Size; the size alone sets the length in bytes.
	if _, body := do(t, "POST", chat, map[string]string{"X-Mock-Tokens": "2", "X-Response-Size": "5000"}, chatBody); words(body) != 2 {
		t.Errorf("tokens over size: %s", body)
	}
	_, body := do(t, "POST", chat, map[string]string{"X-Response-Size": "5000"}, chatBody)
	var r struct {
		Choices []struct{ Message struct{ Content string } }
	}
	_ = json.Unmarshal([]byte(body), &r)
	if n := len(r.Choices[0].Message.Content); n < 5000 || n > 5000+12 {
		t.Errorf("X-Response-Size 5000 gave %d bytes of content", n)
	}

	// Latency: one wait per non-streamed reply, picked by precedence.
	before := len(clk.recorded())
	do(t, "POST", chat+"?X-Mock-Latency=300", nil, chatBody)
	do(t, "POST", chat+"?X-Mock-Latency=300", map[string]string{"X-Vidai-Latency": "200"}, chatBody)
	do(t, "POST", chat+"?X-Mock-Latency=300", map[string]string{"X-Vidai-Latency": "200", "X-Mock-Latency": "100"}, chatBody)
	do(t, "POST", chat, map[string]string{"X-Mock-ITL": "10"}, chatBody) // TTFT + ITL×(5−1)
	got := clk.recorded()[before:]
	want := []time.Duration{300 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond, 80 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("wait %d: %v, want %v", i, got[i], want[i])
		}
	}

	for _, tc := range []struct{ path, body, shape string }{
		{"/v1/chat/completions", chatBody, `{"error":{"message":"invalid value \"x\" for header X-Mock-ITL`},
		{"/v1/messages", `{}`, `{"type":"error","error":{"type":"invalid_request_error","message":"invalid value \"x\" for header X-Mock-ITL`},
		{"/v1beta/models/g:generateContent", `{}`, `{"error":{"code":400,"message":"invalid value \"x\" for header X-Mock-ITL`},
	} {
		resp, body := do(t, "POST", base+tc.path, map[string]string{"X-Mock-ITL": "x"}, tc.body)
		if resp.StatusCode != 400 || !strings.HasPrefix(body, tc.shape) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
	}
}

func TestPacer(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name   string
		s      steer
		tokens int
		want   []time.Duration // offsets of each token
		total  time.Duration
	}{
		{"ttft and itl", steer{ttft: 100 * ms, itl: 10 * ms}, 4, []time.Duration{100 * ms, 110 * ms, 120 * ms, 130 * ms}, 130 * ms},
		{"zero", steer{}, 3, []time.Duration{0, 0, 0}, 0},
		{"latency spread", steer{ttft: 999 * ms, itl: 999 * ms, latency: 100 * ms, hasLatency: true}, 4, []time.Duration{25 * ms, 50 * ms, 75 * ms, 100 * ms}, 100 * ms},
		{"latency remainder to first", steer{latency: 10 * ms, hasLatency: true}, 3, []time.Duration{3333334, 6666667, 10 * ms}, 10 * ms},
		{"no tokens", steer{ttft: 7 * ms, itl: 3 * ms}, 0, nil, 7 * ms},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(&tc.s, tc.tokens, 1)
			for i, w := range tc.want {
				if got := p.due(); got != w {
					t.Errorf("token %d due at %v, want %v", i, got, w)
				}
			}
			p = newPacer(&tc.s, tc.tokens, 1)
			if got := p.total(tc.tokens); got != tc.total {
				t.Errorf("total %v, want %v", got, tc.total)
			}
		})
	}
	t.Run("jitter bounds", func(t *testing.T) {
		s := steer{itl: 100 * ms, jitter: 0.5}
		p := newPacer(&s, 1000, 42)
		prev := p.due()
		distinct := map[time.Duration]bool{}
		for range 999 {
			d := p.due()
			gap := d - prev
			prev = d
			if gap < 50*ms || gap > 150*ms {
				t.Fatalf("gap %v outside ITL ± 50%%", gap)
			}
			distinct[gap] = true
		}
		if len(distinct) < 100 {
			t.Errorf("only %d distinct gaps", len(distinct))
		}
	})
}

// TestStreamPacing checks the waits a stream asks its clock for: TTFT first, then one
// ITL per later token, measured from the request's arrival; paced by the pacers, and in
// place on a connection the mock cannot write to directly.
func TestStreamPacing(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(net.Listener) net.Listener
	}{
		{"paced", nil},
		{"in_place", func(ln net.Listener) net.Listener { return plainListener{ln} }},
	} {
		t.Run(tc.name, func(t *testing.T) { testStreamPacing(t, tc.wrap) })
	}
}

func testStreamPacing(t *testing.T, wrap func(net.Listener) net.Listener) {
	clk := newFakeClock()
	s, base := startMockOn(t, Options{}, clk, wrap)
	before := len(clk.recorded())
	_, body := do(t, "POST", base+"/v1/chat/completions", map[string]string{"X-Mock-TTFT": "100", "X-Mock-ITL": "10", "X-Mock-Tokens": "4"},
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream %q", body)
	}
	got := clk.recorded()[before:]
	want := []time.Duration{100 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("wait %d: %v, want %v", i, got[i], want[i])
		}
	}
	if paced := s.sched.added.Load(); paced != map[bool]uint64{true: 1, false: 0}[wrap == nil] {
		t.Errorf("%d streams paced by the pacers", paced)
	}
}

// FuzzParseSteer feeds arbitrary header and query values to the steering parser: it
// must never panic, and what it accepts must be in range.
func FuzzParseSteer(f *testing.F) {
	for _, seed := range [][2]string{
		{"50", "X-Mock-Tokens=3"}, {"12.5", "X-Mock-Hang"}, {"2s", "X-Mock-TTFT=1e3"}, {"-1", "x-mock-status=429"},
		{"NaN", "X-Vidai-Latency=Inf"}, {"0x10", "X-Mock-Error-Rate=100.0"}, {"", "X-Mock-Foo=1"}, {"1h0m1s", "%zz"},
	} {
		f.Add(seed[0], seed[1])
	}
	base := defaultSteer(&Options{Tokens: 16})
	f.Fuzz(func(t *testing.T, value, query string) {
		for _, name := range append(paramNames[:], "X-Vidai-Latency", "X-Vidai-Chaos-Drop") {
			req := steerRequest("?"+query, name, value)
			s, err := parseSteer(&base, req)
			fasthttp.ReleaseRequest(req)
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error")
				}
				continue
			}
			switch {
			case s.ttft < 0 || s.ttft > maxSteerDelay, s.itl < 0 || s.itl > maxSteerDelay, s.latency < 0 || s.latency > maxSteerDelay:
				t.Fatalf("delay out of range: %+v", s)
			case s.jitter < 0 || s.jitter > 1:
				t.Fatalf("jitter %v", s.jitter)
			case s.errorRate < 0 || s.errorRate > 100 || s.dropRate < 0 || s.dropRate > 100 || s.malformedRate < 0 || s.malformedRate > 100:
				t.Fatalf("rate out of range: %+v", s)
			case s.tokens < -1 || s.tokens > maxSteerTokens, s.disconnect < -1 || s.disconnect > maxSteerTokens:
				t.Fatalf("count out of range: %+v", s)
			case s.status != 0 && !(s.status >= 200 && s.status <= 299 || s.status >= 400 && s.status <= 599):
				t.Fatalf("status %d", s.status)
			}
		}
	})
}

package harness

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAccount(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	res := func(id string, status int, err string, cancelled bool) Result {
		return Result{ID: id, Status: status, Err: err, Cancelled: cancelled, Start: t0, End: t0.Add(time.Millisecond)}
	}
	results := []Result{
		res("r-1", 200, "", false),         // one row: fine
		res("r-2", 200, "", false),         // no row: lost
		res("r-3", 429, "", false),         // two rows: one duplicate
		res("r-4", 0, "refused", false),    // no answer, no row
		res("r-5", 0, "reset", false),      // no answer, but a row: it was in flight
		res("r-6", 200, "", true),          // cancelled on purpose, logged 499
		res("r-7", 200, "eof", false),      // cut mid-body: incomplete
		res("r-8", 502, "", false),         // logged with another status
		res("r-9", 200, "cancelled", true), // cancelled, logged 200
	}
	rows := Rows{
		"r-1": {200},
		"r-3": {429, 429},
		"r-5": {200},
		"r-6": {499},
		"r-7": {200},
		"r-8": {200},
		"r-9": {200},
		"x-1": {200, 200}, // an id no result has
	}
	got := Account(results, rows)
	want := Accounting{
		Complete: 6, Incomplete: 3, Rows: 10, Lost: 1, Duplicated: 1, Unanswered: 2,
		Unknown: 2, StatusMismatch: 1, Cancelled: 2, Cancelled499: 1,
	}
	lost := got.LostResults
	got.LostResults = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Account:\n got %+v\nwant %+v", got, want)
	}
	if len(lost) != 1 || lost[0].ID != "r-2" {
		t.Errorf("LostResults = %+v, want r-2 only", lost)
	}
}

func TestAccountEmpty(t *testing.T) {
	if got := Account(nil, Rows{}); got.Complete != 0 || got.Lost != 0 || got.Rows != 0 {
		t.Errorf("Account(nil) = %+v, want zeros", got)
	}
}

func TestResultOutcome(t *testing.T) {
	for _, tc := range []struct {
		r        Result
		outcome  string
		complete bool
	}{
		{Result{Status: 200}, "200", true},
		{Result{Status: 0, Err: "refused"}, "refused", false},
		{Result{Status: 200, Err: "eof"}, "200+eof", false},
		{Result{Status: 200, Cancelled: true}, "200+cancelled", true},
		{Result{Status: 200, StreamError: true}, "200+stream_error", true},
		{Result{Status: 200, BadJSON: true}, "200+bad_json", true},
		{Result{Status: 200, Truncated: true}, "200+truncated", true},
		{Result{Status: 503}, "503", true},
	} {
		if got := tc.r.Outcome(); got != tc.outcome {
			t.Errorf("%+v: Outcome %q, want %q", tc.r, got, tc.outcome)
		}
		if got := tc.r.Complete(); got != tc.complete {
			t.Errorf("%+v: Complete %v, want %v", tc.r, got, tc.complete)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP sluice_telemetry_dropped_total Records dropped.
# TYPE sluice_telemetry_dropped_total counter
sluice_telemetry_dropped_total{reason="queue_full"} 0
sluice_telemetry_dropped_total{reason="spool_error"} 105
sluice_telemetry_dropped_total{reason="spool_full"} 2
go_goroutines 53
sluice_requests_total{key_id="a b",model="m",status_class="2xx"} 7 1700000000000
sluice_requests_total{key_id="a",model="m2",status_class="2xx"} 3
sluice_config_info{hash="038bc7cb20074b3c"} 1
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		match []string
		want  float64
	}{
		{"sluice_telemetry_dropped_total", nil, 107},
		{"sluice_telemetry_dropped_total", []string{`reason="spool_error"`}, 105},
		{"go_goroutines", nil, 53},
		{"sluice_requests_total", []string{`key_id="a"`}, 3}, // not key_id="a b"
		{"sluice_requests_total", []string{`status_class="2xx"`}, 10},
		{"sluice_requests_total", []string{`model="m"`, `key_id="a b"`}, 7},
		{"sluice_config_info", []string{`hash="038bc7cb20074b3c"`}, 1},
	} {
		if got := m.Sum(tc.name, tc.match...); got != tc.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", tc.name, tc.match, got, tc.want)
		}
	}
	if got := m.Sum("sluice_telemetry_dropped_total", `reason="closed"`); !math.IsNaN(got) {
		t.Errorf("Sum of an absent series = %v, want NaN", got)
	}
	if _, err := ParseMetrics(strings.NewReader("broken_line_without_value\n")); err == nil {
		t.Error("a line without a value parsed")
	}
}

func TestSteadyRequest(t *testing.T) {
	var streams, toSecond int
	for seq := range 10 {
		r := SteadyRequest(seq, 2, "sk-k", "load")
		if r.Key != "sk-k" || r.Kind != "load" || r.Target != seq%2 {
			t.Errorf("seq %d: %+v", seq, r)
		}
		if r.Stream {
			streams++
		}
		if r.Target == 1 {
			toSecond++
		}
		if want := string(ChatBody("gpt-4o-mini", r.Stream)); string(r.Body) != want {
			t.Errorf("seq %d: body %s, want %s", seq, r.Body, want)
		}
	}
	if streams != 2 || toSecond != 5 {
		t.Errorf("%d of 10 streamed, %d to the second instance; want 2 and 5", streams, toSecond)
	}
	if got := string(ChatBody("m", true)); got != `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}` {
		t.Errorf("ChatBody = %s", got)
	}
}

func TestWholeOK(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want bool
	}{
		{Result{Status: 200}, true},
		{Result{Status: 200, Truncated: true}, false},
		{Result{Status: 200, StreamError: true}, false},
		{Result{Status: 200, BadJSON: true}, false},
		{Result{Status: 200, Err: "eof"}, false},
		{Result{Status: 502}, false},
	} {
		if got := tc.r.WholeOK(); got != tc.want {
			t.Errorf("%+v: WholeOK %v, want %v", tc.r, got, tc.want)
		}
	}
}

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var errDown = errors.New("sink is down (test)")

func submitN(t *testing.T, p *Pipeline, first, n int) {
	t.Helper()
	now := time.Now()
	for i := first; i < first+n; i++ {
		r := sampleRecord(i, now)
		if !p.Submit(&r) {
			t.Fatalf("Submit %d dropped", i)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no spool dir", Config{}, "SpoolDir is required"},
		{"negative queue", Config{SpoolDir: "x", QueueSize: -1}, "QueueSize"},
		{"negative batch", Config{SpoolDir: "x", BatchSize: -1}, "BatchSize"},
		{"negative interval", Config{SpoolDir: "x", FlushInterval: -1}, "FlushInterval"},
		{"negative spool", Config{SpoolDir: "x", SpoolMaxBytes: -1}, "spool sizes"},
		{"negative timeout", Config{SpoolDir: "x", SinkTimeout: -1}, "SinkTimeout"},
		{"negative retention", Config{SpoolDir: "x", Retention: -1}, "Retention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, newMemSink())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{SpoolDir: t.TempDir()}, nil); err == nil {
		t.Fatal("New with a nil sink succeeded")
	}
	cfg, err := Config{SpoolDir: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QueueSize != 65536 || cfg.BatchSize != 1000 || cfg.FlushInterval != 100*time.Millisecond ||
		cfg.SpoolMaxBytes != 1<<30 || cfg.SinkTimeout != 2*time.Second || cfg.SpoolSegmentBytes != 64<<20 {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestFlushBySize(t *testing.T) {
	sink := newMemSink()
	// A flush interval of an hour: only size can flush within the test.
	p := newTestPipeline(t, Config{BatchSize: 10, FlushInterval: time.Hour}, sink)
	submitN(t, p, 0, 25)
	eventually(t, "two full batches are written", func() bool { return sink.count() == 20 })
	if _, writes, _ := sink.snapshot(); writes != 2 {
		t.Fatalf("writes = %d, want 2 batches of 10", writes)
	}
	closePipeline(t, p)
	if sink.count() != 25 {
		t.Fatalf("after Close: %d records, want 25", sink.count())
	}
}

func TestFlushByTime(t *testing.T) {
	sink := newMemSink()
	p := newTestPipeline(t, Config{BatchSize: 1000, FlushInterval: 10 * time.Millisecond}, sink)
	submitN(t, p, 0, 3)
	eventually(t, "a partial batch is flushed by time", func() bool { return sink.count() == 3 })
	submitN(t, p, 3, 2)
	eventually(t, "the next partial batch is flushed by time", func() bool { return sink.count() == 5 })
	if st := p.Status(); st.Written != 5 || st.Spooled != 0 || !st.SinkUp || st.Spooling {
		t.Fatalf("status = %+v", st)
	}
}

func TestSubmitStampsTimeAndCopies(t *testing.T) {
	sink := newMemSink()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	p := newTestPipeline(t, Config{Clock: func() time.Time { return at }}, sink)
	r := sampleRecord(1, time.Time{})
	r.RequestBody = []byte("secret-free body")
	if !p.Submit(&r) {
		t.Fatal("dropped")
	}
	// The caller reuses its record and buffers at once.
	r.RequestBody[0] = 'X'
	r.Guardrails[0].Rule = "changed"
	r.RequestID = "other"
	closePipeline(t, p)
	got, ok := sink.rows["req-00000001"]
	if !ok {
		t.Fatalf("record missing; have %v", sink.order)
	}
	if !got.Time.Equal(at) || got.Time.Location() != time.UTC {
		t.Errorf("time = %v, want %v in UTC", got.Time, at)
	}
	if string(got.RequestBody) != "secret-free body" || got.Guardrails[0].Rule != "email" {
		t.Errorf("record shares the caller's buffers: body %q, rule %q", got.RequestBody, got.Guardrails[0].Rule)
	}
}

func TestCloseDrainsToSink(t *testing.T) {
	sink := newMemSink()
	p := newTestPipeline(t, Config{BatchSize: 100, FlushInterval: time.Hour}, sink)
	submitN(t, p, 0, 5003)
	closePipeline(t, p)
	if sink.count() != 5003 {
		t.Fatalf("after Close: %d records, want 5003", sink.count())
	}
	if st := p.Status(); st.Dropped != 0 || st.QueueDepth != 0 {
		t.Fatalf("status = %+v", st)
	}
}

func TestSubmitAfterCloseCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := newTestPipeline(t, Config{Registerer: reg}, newMemSink())
	closePipeline(t, p)
	r := sampleRecord(1, time.Now())
	if p.Submit(&r) {
		t.Fatal("Submit after Close returned true")
	}
	if got := metricValue(t, reg, "sluice_telemetry_dropped_total", "closed"); got != 1 {
		t.Fatalf("dropped{closed} = %v, want 1", got)
	}
}

func TestOutageSpoolsAndReplaysInOrder(t *testing.T) {
	sink := newMemSink()
	sink.setDown(errDown)
	reg := prometheus.NewRegistry()
	p := newTestPipeline(t, Config{BatchSize: 10, FlushInterval: 5 * time.Millisecond, Registerer: reg}, sink)
	eventually(t, "the first probe marks the sink down", func() bool { return !p.Status().SinkUp })
	submitN(t, p, 0, 95)
	eventually(t, "all records are spooled", func() bool { return p.Status().Spooled == 95 })
	st := p.Status()
	if !st.Spooling || st.SpoolBytes == 0 || st.LastError == "" || st.Written != 0 {
		t.Fatalf("status while down = %+v", st)
	}
	if got := metricValue(t, reg, "sluice_telemetry_sink_up", ""); got != 0 {
		t.Fatalf("sink_up = %v while down", got)
	}
	sink.setDown(nil)
	eventually(t, "the spool is replayed", func() bool { return sink.count() == 95 })
	eventually(t, "the spool is empty", func() bool { st := p.Status(); return !st.Spooling && st.SpoolBytes == 0 })
	order, _, dupes := sink.snapshot()
	if !slices.Equal(order, ids(0, 95)) {
		t.Fatalf("replay order = %v", order)
	}
	if dupes != 0 {
		t.Fatalf("%d records replayed twice", dupes)
	}
	// New records go straight to the sink again.
	submitN(t, p, 95, 5)
	eventually(t, "new records are written directly", func() bool { return p.Status().Written == 5 })
	if st := p.Status(); st.Replayed != 95 || !st.SinkUp {
		t.Fatalf("status after recovery = %+v", st)
	}
}

func TestRestartReplaysSpool(t *testing.T) {
	dir := t.TempDir()
	down := newMemSink()
	down.setDown(errDown)
	p := newTestPipeline(t, Config{SpoolDir: dir, BatchSize: 7}, down)
	// Once the sink is known down, batches go to the spool in order (a
	// batch in flight when the sink fails may land after later ones).
	eventually(t, "the sink is seen down", func() bool { return !p.Status().SinkUp })
	submitN(t, p, 0, 50)
	closePipeline(t, p)
	if st := p.Status(); st.Spooled != 50 {
		t.Fatalf("first run: %+v", st)
	}
	up := newMemSink()
	p2 := newTestPipeline(t, Config{SpoolDir: dir}, up)
	eventually(t, "the second run replays the first one's spool", func() bool { return up.count() == 50 })
	eventually(t, "the spool is empty", func() bool { return p2.Status().SpoolBytes == 0 })
	if order, _, _ := up.snapshot(); !slices.Equal(order, ids(0, 50)) {
		t.Fatalf("order = %v", order)
	}
}

func TestSubmitNeverBlocksWhenSinkHangs(t *testing.T) {
	sink := newMemSink()
	release := sink.setHang()
	defer release()
	const queue = 64
	reg := prometheus.NewRegistry()
	p := newTestPipeline(t, Config{QueueSize: queue, BatchSize: 8, FlushInterval: time.Millisecond, SinkTimeout: time.Hour, Registerer: reg}, sink)
	// Far more records than the queue holds, from several goroutines; the
	// test finishing at all is the assertion that Submit returned.
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, f := 0, 0
			now := time.Now()
			for i := range each {
				r := sampleRecord(w*each+i, now)
				if p.Submit(&r) {
					a++
				} else {
					f++
				}
			}
			mu.Lock()
			accepted += a
			refused += f
			mu.Unlock()
		}()
	}
	wg.Wait()
	if accepted+refused != workers*each {
		t.Fatalf("accepted %d + refused %d != %d", accepted, refused, workers*each)
	}
	if got := metricValue(t, reg, "sluice_telemetry_dropped_total", "queue_full"); got != float64(refused) {
		t.Fatalf("dropped{queue_full} = %v, want %d", got, refused)
	}
	// The hung writer holds one batch; the batcher spools the rest.
	eventually(t, "batches behind the hung write are spooled", func() bool { return p.Status().Spooled > 0 })
	release()
	closePipeline(t, p)
	// Every accepted record was written directly or spooled (and maybe
	// replayed since).
	if st := p.Status(); int(st.Written+st.Spooled) != accepted {
		t.Fatalf("written %d + spooled %d != accepted %d", st.Written, st.Spooled, accepted)
	}
}

func TestSpoolFullDropsCounted(t *testing.T) {
	sink := newMemSink()
	sink.setDown(errDown)
	reg := prometheus.NewRegistry()
	log, buf := testLogger(t)
	// Room for exactly the first three batches' frames.
	room := 0
	now := time.Now()
	for b := range 3 {
		batch := make([]Record, 10)
		for i := range batch {
			batch[i] = sampleRecord(b*10+i, now)
		}
		room += len(frameOf(batch))
	}
	p := newTestPipeline(t, Config{
		BatchSize: 10, FlushInterval: time.Hour, SpoolMaxBytes: int64(room + 10),
		Registerer: reg, Logger: log,
	}, sink)
	eventually(t, "the sink is seen down", func() bool { return !p.Status().SinkUp })
	submitN(t, p, 0, 100)
	closePipeline(t, p)
	st := p.Status()
	if st.Spooled != 30 || st.Dropped != 70 {
		t.Fatalf("spooled %d dropped %d, want 30 and 70 (three frames fit)", st.Spooled, st.Dropped)
	}
	if got := metricValue(t, reg, "sluice_telemetry_dropped_total", "spool_full"); got != 70 {
		t.Fatalf("dropped{spool_full} = %v, want 70", got)
	}
	// The log lines (rate-limited) account for every drop.
	logged := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if !strings.Contains(line, "records dropped") {
			continue
		}
		_, n, _ := strings.Cut(line, "spool_full=")
		var c int
		fmt.Sscanf(n, "%d", &c)
		logged += c
	}
	if logged != 70 {
		t.Fatalf("log lines count %d drops, want 70:\n%s", logged, buf.String())
	}
}

// TestStatusSaysWhenDropping: while the spool is full and batches are
// dropped, Status says so (for /readyz), and stops saying so once a replay
// has made room again.
func TestStatusSaysWhenDropping(t *testing.T) {
	sink := newMemSink()
	sink.setDown(errDown)
	now := time.Now()
	first := make([]Record, 10)
	for i := range first {
		first[i] = sampleRecord(i, now)
	}
	// Room for the first batch's frame only.
	p := newTestPipeline(t, Config{
		BatchSize: 10, FlushInterval: time.Hour, SpoolMaxBytes: int64(len(frameOf(first)) + 10),
	}, sink)
	eventually(t, "the sink is seen down", func() bool { return !p.Status().SinkUp })
	submitN(t, p, 0, 10)
	eventually(t, "the first batch is spooled", func() bool { return p.Status().Spooled == 10 })
	if st := p.Status(); st.DropReason != "" {
		t.Fatalf("drop reason %q while the spool still takes batches", st.DropReason)
	}
	submitN(t, p, 10, 10)
	eventually(t, "the second batch is dropped", func() bool { return p.Status().Dropped == 10 })
	if st := p.Status(); st.DropReason != "spool_full" || !st.Spooling || st.SinkUp {
		t.Fatalf("status while dropping = %+v, want drop reason spool_full", st)
	}
	sink.setDown(nil)
	eventually(t, "the replay makes room and the drop reason clears", func() bool {
		st := p.Status()
		return st.Replayed == 10 && st.DropReason == ""
	})
}

func TestRejectedRecordDroppedAlone(t *testing.T) {
	sink := newMemSink()
	sink.reject = func(r *Record) bool { return r.RequestID == "req-00000013" }
	reg := prometheus.NewRegistry()
	p := newTestPipeline(t, Config{BatchSize: 20, FlushInterval: time.Hour, Registerer: reg}, sink)
	submitN(t, p, 0, 20)
	eventually(t, "the good records are written", func() bool { return p.Status().Written == 19 })
	if st := p.Status(); st.Dropped != 1 || st.Written != 19 || !st.SinkUp {
		t.Fatalf("status = %+v", st)
	}
	if got := metricValue(t, reg, "sluice_telemetry_dropped_total", "rejected"); got != 1 {
		t.Fatalf("dropped{rejected} = %v", got)
	}
}

// slowSink's writes block until their context ends (a slow database),
// then fail; pings succeed.
type slowSink struct{ *memSink }

func (s slowSink) Write(ctx context.Context, b []Record) error {
	<-ctx.Done()
	return fmt.Errorf("slow: %w", ctx.Err())
}

func TestSlowSinkSpools(t *testing.T) {
	sink := slowSink{newMemSink()}
	p := newTestPipeline(t, Config{BatchSize: 5, FlushInterval: time.Millisecond, SinkTimeout: 20 * time.Millisecond}, sink)
	submitN(t, p, 0, 50)
	closePipeline(t, p)
	if st := p.Status(); st.Spooled != 50 || st.Written != 0 {
		t.Fatalf("status = %+v, want all 50 spooled", st)
	}
}

func TestRetentionPrunes(t *testing.T) {
	sink := &pruneSink{memSink: newMemSink()}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	p := newTestPipeline(t, Config{Retention: 48 * time.Hour, Clock: func() time.Time { return now }}, sink)
	eventually(t, "retention runs once the sink is up", func() bool { return sink.before().Equal(now.Add(-48 * time.Hour)) })
	closePipeline(t, p)
}

type pruneSink struct {
	*memSink
	pmu sync.Mutex
	at  time.Time
}

func (s *pruneSink) Prune(_ context.Context, before time.Time) error {
	s.pmu.Lock()
	s.at = before
	s.pmu.Unlock()
	return nil
}

func (s *pruneSink) before() time.Time {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.at
}

// metricValue is the value of a gathered counter or gauge; reason selects
// the series of a labelled family ("" for an unlabelled one).
func metricValue(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{reason=%q} not found", name, reason)
	return 0
}

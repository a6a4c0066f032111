package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// memSink is an in-memory Sink whose health the test controls.
type memSink struct {
	mu      sync.Mutex
	rows    map[string]Record
	order   []string // request ids in the order first written
	writes  int      // successful Write calls
	dupes   int      // records written again (already present)
	down    error    // non-nil: Write and Ping fail with it
	hang    chan struct{}
	reject  func(*Record) bool
	written chan struct{} // signalled (non-blocking) after each successful Write
}

func newMemSink() *memSink {
	return &memSink{rows: map[string]Record{}, written: make(chan struct{}, 1)}
}

func (m *memSink) Name() string { return "mem" }

func (m *memSink) setDown(err error) {
	m.mu.Lock()
	m.down = err
	m.mu.Unlock()
}

// setHang makes Write block, ignoring its context, until release.
func (m *memSink) setHang() (release func()) {
	ch := make(chan struct{})
	m.mu.Lock()
	m.hang = ch
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			m.hang = nil
			m.mu.Unlock()
			close(ch)
		})
	}
}

func (m *memSink) Write(ctx context.Context, batch []Record) error {
	m.mu.Lock()
	hang, down, reject := m.hang, m.down, m.reject
	m.mu.Unlock()
	if hang != nil {
		<-hang
	}
	if down != nil {
		return down
	}
	if reject != nil {
		for i := range batch {
			if reject(&batch[i]) {
				return fmt.Errorf("%w: bad record", ErrRejected)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range batch {
		if _, ok := m.rows[r.RequestID]; ok {
			m.dupes++
			continue
		}
		m.rows[r.RequestID] = r
		m.order = append(m.order, r.RequestID)
	}
	m.writes++
	select {
	case m.written <- struct{}{}:
	default:
	}
	return nil
}

func (m *memSink) Ping(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down
}

func (m *memSink) Logs(context.Context, LogQuery) (LogPage, error) {
	return LogPage{}, errors.New("not implemented")
}

func (m *memSink) Usage(context.Context, UsageQuery) ([]UsageRow, error) {
	return nil, errors.New("not implemented")
}

func (m *memSink) Close() error { return nil }

func (m *memSink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

func (m *memSink) snapshot() (order []string, writes, dupes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.order...), m.writes, m.dupes
}

// sampleRecord is a typical record; i varies the id, key, model and time.
func sampleRecord(i int, t time.Time) Record {
	return Record{
		RequestID: fmt.Sprintf("req-%08d", i),
		Time:      t,
		KeyID:     fmt.Sprintf("key_%d", i%7),
		KeyName:   "team key",
		Team:      "platform",
		Tags:      map[string]string{"env": "prod", "app": fmt.Sprintf("app%d", i%3)},
		EndUser:   fmt.Sprintf("user-%d", i%11),
		ClientIP:  "10.1.2.3",
		UserAgent: "openai-python/1.40.0",
		Route:     "/v1/chat/completions",
		Format:    "openai",
		Model:     []string{"gpt-4o-mini", "claude-3-5-haiku"}[i%2],
		Provider:  "openai", UpstreamModel: "gpt-4o-mini-2024-07-18",
		Stream:           i%2 == 0,
		Status:           []int{200, 200, 200, 429, 502}[i%5],
		Attempts:         1,
		Latency:          time.Duration(300+i%100) * time.Millisecond,
		TTFT:             120 * time.Millisecond,
		UpstreamTime:     295 * time.Millisecond,
		Overhead:         180 * time.Microsecond,
		PromptTokens:     int64(100 + i%50),
		CompletionTokens: int64(20 + i%10),
		CachedTokens:     int64(i % 4),
		CacheWriteTokens: int64(i % 3),
		ReasoningTokens:  int64(i % 5),
		CostUSD:          0.000123,
		Guardrails:       []Verdict{{Rule: "email", Action: "redact", Scope: "input", Count: 1}},
	}
}

// eventually polls cond every 5ms until it holds or 20s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe log destination.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// newTestPipeline starts a pipeline on a temp spool dir, closed when the
// test ends.
func newTestPipeline(t *testing.T, cfg Config, sink Sink) *Pipeline {
	t.Helper()
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir()
	}
	p, err := New(cfg, sink)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func closePipeline(t *testing.T, p *Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

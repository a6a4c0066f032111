package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRedisLog: go-redis's lines come out as JSON through slog, the first
// at once, then at most one per interval carrying the suppressed count.
func TestRedisLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	now := time.Unix(1_700_000_000, 0)
	l := NewRedisLog(log, 10*time.Second, func() time.Time { return now })
	const dial = "redis: connection pool: failed to dial after %d attempts: %v"
	steps := []struct {
		name       string
		advance    time.Duration
		calls      int
		wantLines  int
		suppressed int // on the last line written in this step
	}{
		{"first line goes through at once", 0, 1, 1, 0},
		{"a burst within the interval is suppressed", 200 * time.Millisecond, 25, 0, 0},
		{"still inside the interval", 9 * time.Second, 5, 0, 0},
		{"after the interval one line with the count", time.Second, 3, 1, 30},
		{"the count starts again", 10 * time.Second, 1, 1, 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			buf.Reset()
			now = now.Add(s.advance)
			for range s.calls {
				l.Printf(context.Background(), dial, 1, "dial tcp 127.0.0.1:6379: connect: connection refused")
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if buf.Len() == 0 {
				lines = nil
			}
			if len(lines) != s.wantLines {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), s.wantLines, buf.String())
			}
			if len(lines) == 0 {
				return
			}
			var rec struct {
				Level, Msg, Message string
				Suppressed          int
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
				t.Fatalf("not a JSON line: %v: %s", err, lines[len(lines)-1])
			}
			if rec.Level != "WARN" || rec.Msg != "redis client" ||
				rec.Message != "redis: connection pool: failed to dial after 1 attempts: dial tcp 127.0.0.1:6379: connect: connection refused" {
				t.Errorf("line = %+v", rec)
			}
			if rec.Suppressed != s.suppressed {
				t.Errorf("suppressed = %d, want %d", rec.Suppressed, s.suppressed)
			}
		})
	}
}

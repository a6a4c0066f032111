package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultRedisLogEvery is how often RedisLog lets a line through.
const DefaultRedisLogEvery = 10 * time.Second

// Keys of RedisLog's log lines.
const (
	logKeyRedisMessage = "message"
	logKeySuppressed   = "suppressed"
)

// RedisLog is go-redis's logger (redis.SetLogger takes it) routed to slog
// at warn level, rate-limited. While Redis is down go-redis's connection
// pool logs a "failed to dial" line per failed dial, several a second, and
// by default writes them to stderr in its own format, past the configured
// log format. RedisLog lets the first line through at once, then at most
// one per Every; each line says how many were suppressed since the one
// before. The limiter logs Redis going down and coming back itself (with
// its fail mode), so little is lost.
//
// go-redis's logger is process-global: only main sets it, once.
type RedisLog struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	last       time.Time // when the last line went through; zero: none yet
	suppressed int
}

// NewRedisLog returns a RedisLog writing to log at most once per every
// (0: DefaultRedisLogEvery). now is the clock (nil: time.Now).
func NewRedisLog(log *slog.Logger, every time.Duration, now func() time.Time) *RedisLog {
	if every <= 0 {
		every = DefaultRedisLogEvery
	}
	if now == nil {
		now = time.Now
	}
	return &RedisLog{log: log, every: every, now: now}
}

// Printf implements go-redis's internal.Logging.
func (l *RedisLog) Printf(ctx context.Context, format string, v ...any) {
	l.mu.Lock()
	t := l.now()
	if !l.last.IsZero() && t.Sub(l.last) < l.every {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = t, 0
	l.mu.Unlock()
	attrs := []slog.Attr{slog.String(logKeyRedisMessage, fmt.Sprintf(format, v...))}
	if n > 0 {
		attrs = append(attrs, slog.Int(logKeySuppressed, n))
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, "redis client", attrs...)
}

// The --since and --until flags of "sluice logs" and "sluice usage".

package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// errWhen explains the forms parseWhen takes.
var errWhen = errors.New("want an RFC 3339 time (2026-01-02T15:04:05Z), a UTC day (2026-01-02), " +
	"or a time ago such as 90m, 24h or 7d")

// parseWhen reads a --since or --until value: an RFC 3339 time, a day
// (YYYY-MM-DD, its midnight UTC), or a duration before now: Go's form
// (90m, 1h30m, 24h) or whole days (7d). "" is the zero time (no bound).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*366 {
			return time.Time{}, errWhen
		}
		return now.UTC().AddDate(0, 0, -days), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, errWhen
	}
	return now.UTC().Add(-d), nil
}

// whenFlags are --since and --until.
type whenFlags struct {
	since, until string
}

func (w *whenFlags) declare(c *keysCommand, what string) {
	c.fs.StringVar(&w.since, "since", "", "only "+what+" at or after `TIME`: RFC 3339, a UTC day (2026-01-02), or a time ago (90m, 24h, 7d)")
	c.fs.StringVar(&w.until, "until", "", "only "+what+" before `TIME` (the same forms)")
}

// query sets since and until on q as RFC 3339 times, after checking them.
func (w *whenFlags) query(now time.Time, set func(name, value string)) error {
	since, err := parseWhen(w.since, now)
	if err != nil {
		return errors.New("--since: " + err.Error())
	}
	until, err := parseWhen(w.until, now)
	if err != nil {
		return errors.New("--until: " + err.Error())
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return errors.New("--until is before --since")
	}
	if !since.IsZero() {
		set("since", since.Format(time.RFC3339Nano))
	}
	if !until.IsZero() {
		set("until", until.Format(time.RFC3339Nano))
	}
	return nil
}

//go:build !linux

package bench

import (
	"errors"
	"time"
)

// timer is unavailable here; realClock falls back to time.Sleep.
type timer struct{}

func newTimer() (*timer, error) { return nil, errors.New("no timerfd on this system") }

func (t *timer) sleep(time.Duration) error { return errors.New("no timerfd") }

func (t *timer) close() error { return nil }

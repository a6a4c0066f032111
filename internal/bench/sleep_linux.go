package bench

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// timer sleeps on a Linux timerfd read through Go's network poller: the kernel's
// high-resolution timer wakes the poller within microseconds, the sleeping goroutine
// holds no OS thread, and nothing spins. (Go's own timers wake at millisecond
// granularity while the process is otherwise idle; a nanosleep in a syscall blocks a
// thread and keeps the runtime's monitor polling every 20 µs.)
type timer struct {
	f   *os.File
	buf [8]byte
}

// newTimer creates the timerfd, non-blocking so that os.File registers it with the
// poller.
func newTimer() (*timer, error) {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, uintptr(clockMonotonic),
		uintptr(syscall.O_NONBLOCK|syscall.O_CLOEXEC), 0)
	if errno != 0 {
		return nil, fmt.Errorf("timerfd_create: %w", errno)
	}
	return &timer{f: os.NewFile(fd, "bench-timerfd")}, nil
}

const clockMonotonic = 1 // CLOCK_MONOTONIC, the clock of Go's monotonic time

// itimerspec is struct itimerspec: interval, then value.
type itimerspec struct {
	interval, value syscall.Timespec
}

// sleep blocks the calling goroutine for d (> 0).
func (t *timer) sleep(d time.Duration) error {
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	if _, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, t.f.Fd(), 0,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("timerfd_settime: %w", errno)
	}
	if _, err := t.f.Read(t.buf[:]); err != nil {
		return fmt.Errorf("timerfd read: %w", err)
	}
	return nil
}

func (t *timer) close() error { return t.f.Close() }

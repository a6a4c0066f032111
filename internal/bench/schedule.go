package bench

import (
	"math"
	"sync/atomic"
	"time"
)

// schedule is the open-loop plan of one step for one target: request i is due at
// start + i/rate, for every i whose due time falls before end. It is not safe for
// concurrent use; one pacer owns it.
type schedule struct {
	start, end time.Duration
	rate       float64 // requests per second, > 0
	next       int64   // index of the first request not yet issued
}

// at returns the scheduled time of request i.
func (s *schedule) at(i int64) time.Duration {
	return s.start + time.Duration(math.Round(float64(i)*float64(time.Second)/s.rate))
}

// peek returns the scheduled time of the next request to issue, and false when every
// request of the schedule has been issued.
func (s *schedule) peek() (time.Duration, bool) {
	t := s.at(s.next)
	return t, t < s.end
}

// due appends to dst the scheduled times of every request due at now that has not been
// issued yet, marks them issued, and returns dst. After a stall it returns the whole
// backlog at once, each request keeping its own scheduled time.
func (s *schedule) due(now time.Duration, dst []time.Duration) []time.Duration {
	for {
		t, ok := s.peek()
		if !ok || t > now {
			return dst
		}
		dst = append(dst, t)
		s.next++
	}
}

// pace runs the schedule on clk: it sleeps until the next request is due, then hands
// every due request to dispatch, in order, with its scheduled time, until the schedule
// is done or stop is set. dispatch may block (a full queue): the requests that came due
// meanwhile are issued as soon as it returns. pace returns the number of requests
// dispatched.
func pace(clk Clock, s *schedule, stop *atomic.Bool, dispatch func(at time.Duration)) int64 {
	buf := make([]time.Duration, 0, 256)
	var n int64
	for !stop.Load() {
		next, ok := s.peek()
		if !ok {
			break
		}
		clk.SleepUntil(next)
		buf = s.due(clk.Now(), buf[:0])
		for _, at := range buf {
			dispatch(at)
		}
		n += int64(len(buf))
	}
	return n
}

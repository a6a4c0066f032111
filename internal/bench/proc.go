package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// cpuSample is the CPU time of a set of processes at one moment, measured two ways:
// the scheduler's nanosecond run time summed over every thread (precise, but a thread
// that exits takes its time with it) and utime+stime from /proc/PID/stat (10 ms
// resolution, but it keeps the time of exited threads).
type cpuSample struct {
	sched   time.Duration
	ticks   time.Duration
	threads map[string]bool // "pid/tid" of every thread summed into sched
}

// readCPU samples the CPU time of pids.
func readCPU(proc string, pids []int) (cpuSample, error) {
	s := cpuSample{threads: map[string]bool{}}
	for _, pid := range pids {
		stat, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
		if err != nil {
			return s, fmt.Errorf("read cpu of pid %d: %w", pid, err)
		}
		t, err := parseStatTicks(stat)
		if err != nil {
			return s, fmt.Errorf("pid %d: %w", pid, err)
		}
		s.ticks += t
		tasks, _ := filepath.Glob(filepath.Join(proc, strconv.Itoa(pid), "task", "*", "schedstat"))
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread exited between the glob and the read
			}
			ns, err := strconv.ParseInt(string(bytes.Fields(b)[0]), 10, 64)
			if err != nil {
				continue
			}
			s.sched += time.Duration(ns)
			s.threads[strconv.Itoa(pid)+"/"+filepath.Base(filepath.Dir(f))] = true
		}
	}
	return s, nil
}

// cpuBetween returns the CPU time spent between two samples: the precise figure when
// every thread of a is still in b, the tick-based one otherwise.
func cpuBetween(a, b cpuSample) time.Duration {
	precise := len(a.threads) > 0
	for t := range a.threads {
		if !b.threads[t] {
			precise = false
			break
		}
	}
	if precise && b.sched >= a.sched {
		return b.sched - a.sched
	}
	return max(b.ticks-a.ticks, 0)
}

// parseStatTicks returns utime+stime from the contents of /proc/PID/stat. The command
// name (field 2) may hold spaces and parentheses, so fields are counted from the last
// ')'.
func parseStatTicks(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	// After ')': state is field 3, so utime (14) and stime (15) are f[11] and f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc stat: %d fields", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc stat times %q %q", f[11], f[12])
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// readRSS returns the summed resident set size of pids in bytes (VmRSS).
func readRSS(proc string, pids []int) (int64, error) {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "status"))
		if err != nil {
			return 0, fmt.Errorf("read rss of pid %d: %w", pid, err)
		}
		kb, ok := statusField(b, "VmRSS:")
		if !ok {
			return 0, fmt.Errorf("pid %d: no VmRSS (a zombie?)", pid)
		}
		total += kb * 1024
	}
	return total, nil
}

// statusField returns the number (kB) of a "Name:  123 kB" line of /proc/PID/status.
func statusField(b []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// selfCPU returns the CPU time this process has used (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package config

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Overload defaults derived from the machine (docs/operations.md,
// "Overload protection"). They are computed when the config is loaded, so
// the effective config shows the numbers in force.
const (
	// InFlightPerCPU is the default in-flight cap per CPU Sluice may use
	// (GOMAXPROCS): far above what one core serves with a fast upstream
	// (a request takes ~50 µs of CPU, so ~20,000/s), it bounds only the
	// requests that wait on slow upstreams.
	InFlightPerCPU = 4096
	// MemoryPerInFlight is the memory one request in flight is allowed for
	// the default cap: connection buffers, the body and the reply being
	// relayed (typical chat requests hold 20–40 KiB).
	MemoryPerInFlight = 64 << 10
	// memoryShare is the part of the machine's memory (or the cgroup's
	// limit) the default memory ceiling takes.
	memoryShare = 0.75
)

// DefaultMemoryLimit is the soft memory ceiling when server.memory_limit is
// absent: GOMEMLIMIT when the environment sets it, else three quarters of
// the memory available to the process (the cgroup's limit when there is
// one, else the machine's RAM); 0 when neither can be read.
func DefaultMemoryLimit() ByteSize {
	if os.Getenv("GOMEMLIMIT") != "" {
		if l := debug.SetMemoryLimit(-1); l > 0 && l < 1<<62 {
			return ByteSize(l)
		}
	}
	return ByteSize(float64(availableMemory()) * memoryShare)
}

// DefaultMaxInFlight is the in-flight cap when server.max_in_flight is
// absent: InFlightPerCPU per CPU, at most one per MemoryPerInFlight of the
// memory ceiling (when there is one), and at least 64.
func DefaultMaxInFlight(memoryLimit ByteSize) int {
	n := InFlightPerCPU * runtime.GOMAXPROCS(0)
	if memoryLimit > 0 {
		n = min(n, int(memoryLimit/MemoryPerInFlight))
	}
	return max(n, 64)
}

// availableMemory is the cgroup's memory limit (v2, then v1) when one is
// set, else MemTotal from /proc/meminfo; 0 when none can be read.
func availableMemory() int64 {
	total := memTotal()
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		if err != nil || v <= 0 { // "max": no limit
			continue
		}
		if total == 0 || v < total { // v1 reports "no limit" as a huge number
			return v
		}
	}
	return total
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 2 && fields[1] == "kB" {
				if v, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return v << 10
				}
			}
		}
	}
	return 0
}

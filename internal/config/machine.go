package config

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path"
	"path/filepath"
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
//
// GOMEMLIMIT=off gives 0 (no ceiling), and so does a share under the
// smallest ceiling accepted (minMemoryLimit): a container that small is
// better off without load shedding on memory than shedding always.
func DefaultMemoryLimit() ByteSize {
	if os.Getenv("GOMEMLIMIT") != "" {
		if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
			return ByteSize(l)
		}
		return 0 // off
	}
	l := ByteSize(float64(availableMemory()) * memoryShare)
	if l < minMemoryLimit {
		return 0
	}
	return l
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

// DefaultMaxStreams is the stream cap when server.max_streams is absent:
// three quarters of the in-flight cap, so that short requests always keep
// a quarter of the slots.
func DefaultMaxStreams(maxInFlight int) int { return max(maxInFlight*3/4, 1) }

// availableMemory is the smallest memory limit of the process's cgroup and
// its parents (v2 memory.max: a systemd unit's MemoryMax= sits on its own
// cgroup; v1 memory.limit_in_bytes), when one is set and below MemTotal
// from /proc/meminfo, else MemTotal; 0 when none can be read.
func availableMemory() int64 {
	avail := memTotal()
	take := func(file string) {
		b, err := os.ReadFile(file)
		if err != nil {
			return
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		if err != nil || v <= 0 { // "max": no limit
			return
		}
		if avail == 0 || v < avail { // v1 reports "no limit" as a huge number
			avail = v
		}
	}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	for _, dir := range cgroupDirs(string(cg), "0::", "/sys/fs/cgroup") {
		take(filepath.Join(dir, "memory.max"))
	}
	for _, line := range strings.Split(string(cg), "\n") {
		if i := strings.Index(line, ":memory:"); i >= 0 {
			for _, dir := range cgroupDirs(line[i+1:], "memory:", "/sys/fs/cgroup/memory") {
				take(filepath.Join(dir, "memory.limit_in_bytes"))
			}
		}
	}
	return avail
}

// cgroupDirs are the directories under root of the cgroup that the line
// of /proc/self/cgroup starting with prefix names ("0::/a/b" for v2,
// "memory:/a/b" for v1's memory controller), and of its parents up to
// root itself.
func cgroupDirs(procCgroup, prefix, root string) []string {
	dirs := []string{root}
	for _, line := range strings.Split(procCgroup, "\n") {
		rel, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		for p := path.Clean("/" + rel); p != "/"; p = path.Dir(p) {
			dirs = append(dirs, filepath.Join(root, p))
		}
	}
	return dirs
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

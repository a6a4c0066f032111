package bench

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machineInfo describes this machine; fields it cannot read stay empty.
func machineInfo(sluiceVersion string) Machine {
	m := Machine{
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		SluiceVersion: sluiceVersion, LoadAvgStart: loadAvg(),
		Started: time.Now().UTC().Truncate(time.Second),
	}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, ok := statusField(b, "MemTotal:"); ok {
			m.MemTotalMB = float64(kb / 1024)
		}
	}
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages, zeros when unknown.
func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := bytes.Fields(b)
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(string(f[i]), 64)
	}
	return l
}

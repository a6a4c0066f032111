package config

import (
	"runtime"
	"strings"
	"testing"
)

func TestOverloadDefaults(t *testing.T) {
	t.Run("absent: derived from the machine", func(t *testing.T) {
		c := mustParse(t, minimal, nil)
		s := c.Server
		if want := DefaultMemoryLimit(); s.MemoryLimit != want {
			t.Errorf("memory_limit %s, want %s", s.MemoryLimit, want)
		}
		if s.MemoryLimit <= 0 {
			t.Errorf("memory_limit %s: this machine's memory was not read", s.MemoryLimit)
		}
		want := min(InFlightPerCPU*runtime.GOMAXPROCS(0), int(s.MemoryLimit/MemoryPerInFlight))
		if s.MaxInFlight != max(want, 64) {
			t.Errorf("max_in_flight %d, want %d", s.MaxInFlight, max(want, 64))
		}
		if s.MaxStreams != s.MaxInFlight*3/4 {
			t.Errorf("max_streams %d, want 3/4 of %d", s.MaxStreams, s.MaxInFlight)
		}
		if s.ShedLatency.D() != DefaultShedLatency || s.MaxConnsPerClient != 0 {
			t.Errorf("shed_latency %s, max_conns_per_client %d; want %s and 0", s.ShedLatency, s.MaxConnsPerClient, DefaultShedLatency)
		}
	})
	t.Run("an empty expansion is absent", func(t *testing.T) {
		c := mustParse(t, minimal+"server: {max_in_flight: \"${NOPE}\", memory_limit: \"${NOPE}\"}\n", nil)
		if s := c.Server; s.MaxInFlight == 0 || s.MemoryLimit == 0 {
			t.Errorf("max_in_flight %d, memory_limit %s: want the derived defaults", s.MaxInFlight, s.MemoryLimit)
		}
	})
	t.Run("explicit zero: off", func(t *testing.T) {
		c := mustParse(t, minimal+"server: {max_in_flight: 0, memory_limit: 0, shed_latency: 0s}\n", nil)
		s := c.Server
		if s.MaxInFlight != 0 || s.MemoryLimit != 0 || s.ShedLatency != 0 || s.MaxStreams != 0 {
			t.Errorf("got max_in_flight %d, memory_limit %s, shed_latency %s, max_streams %d; want all 0",
				s.MaxInFlight, s.MemoryLimit, s.ShedLatency, s.MaxStreams)
		}
	})
	t.Run("streams follow the in-flight cap; the cap follows the memory ceiling", func(t *testing.T) {
		c := mustParse(t, minimal+"server: {memory_limit: 64MiB}\n", nil)
		if s := c.Server; s.MaxInFlight != 1024 || s.MaxStreams != 768 {
			t.Errorf("max_in_flight %d, max_streams %d; want 1024 and 768 (64 MiB / 64 KiB)", s.MaxInFlight, s.MaxStreams)
		}
		c = mustParse(t, minimal+"server: {max_in_flight: 100, max_streams: 0}\n", nil)
		if s := c.Server; s.MaxInFlight != 100 || s.MaxStreams != 0 {
			t.Errorf("max_in_flight %d, max_streams %d; want 100 and 0", s.MaxInFlight, s.MaxStreams)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		src := minimal + "server:\n  max_in_flight: -1\n  max_streams: -2\n  max_conns_per_client: -3\n  memory_limit: 1MiB\n  shed_latency: -1ms\n"
		checkProblems(t, problems(t, src, nil), []string{
			`10:18: server.max_in_flight: must be 0 (off) or positive, got -1`,
			`11:16: server.max_streams: must be 0 (off) or positive, got -2`,
			`12:25: server.max_conns_per_client: must be 0 (off) or positive, got -3`,
			`13:17: server.memory_limit: 1MiB is too small: at least 32MiB, or 0 for no ceiling`,
			`14:17: server.shed_latency: must not be negative, got -1ms`,
		})
	})
}

// TestReloadKeepsDerivedCapsWithTheCeiling: a reload that changes the
// memory ceiling (restart-only) keeps the caps derived from the ceiling in
// force, not from the file's.
func TestReloadKeepsDerivedCapsWithTheCeiling(t *testing.T) {
	running := mustParse(t, minimal+"server: {memory_limit: 64MiB}\n", nil)
	next := mustParse(t, minimal+"server: {memory_limit: 1GiB}\n", nil)
	if next.Server.MaxInFlight == 1024 {
		t.Skip("this machine derives the same cap from both ceilings")
	}
	ch := Reconcile(running, next)
	s := next.Server
	if s.MemoryLimit != 64<<20 || s.MaxInFlight != 1024 || s.MaxStreams != 768 {
		t.Errorf("after reload: memory_limit %s, max_in_flight %d, max_streams %d; want 64MiB, 1024, 768", s.MemoryLimit, s.MaxInFlight, s.MaxStreams)
	}
	if len(ch.Changed) != 0 || len(ch.NeedsRestart) != 1 || ch.NeedsRestart[0] != "server.memory_limit" {
		t.Errorf("changed %q, needs_restart %q; want none and server.memory_limit", ch.Changed, ch.NeedsRestart)
	}
	// An explicit cap is kept.
	next = mustParse(t, minimal+"server: {memory_limit: 1GiB, max_in_flight: 5000}\n", nil)
	Reconcile(running, next)
	if next.Server.MaxInFlight != 5000 || next.Server.MaxStreams != 3750 {
		t.Errorf("explicit cap: max_in_flight %d, max_streams %d; want 5000 and 3750", next.Server.MaxInFlight, next.Server.MaxStreams)
	}
}

func TestCgroupDirs(t *testing.T) {
	got := cgroupDirs("4:memory:/a/b\n0::/system.slice/sluice.service\n", "0::", "/sys/fs/cgroup")
	want := []string{"/sys/fs/cgroup", "/sys/fs/cgroup/system.slice/sluice.service", "/sys/fs/cgroup/system.slice"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("v2: %q, want %q", got, want)
	}
	got = cgroupDirs("memory:/a/b", "memory:", "/sys/fs/cgroup/memory")
	want = []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/a/b", "/sys/fs/cgroup/memory/a"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("v1: %q, want %q", got, want)
	}
}

package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func writeProc(t *testing.T, root string, pid int, stat, status string, tasks map[string]string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	for tid, ss := range tasks {
		if err := os.MkdirAll(filepath.Join(dir, "task", tid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "task", tid, "schedstat"), []byte(ss), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
}

// statLine is a /proc/PID/stat line with a hostile command name and the given
// utime and stime (fields 14 and 15).
func statLine(pid, utime, stime int) string {
	return strconv.Itoa(pid) + " (we ird) (name) S 1 1 1 0 -1 4194560 100 0 0 0 " +
		strconv.Itoa(utime) + " " + strconv.Itoa(stime) + " 0 0 20 0 3 0 100 1000 50\n"
}

func TestReadCPUAndRSS(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, 10, statLine(10, 150, 50), "Name:\tx\nVmHWM:\t  9000 kB\nVmRSS:\t  2048 kB\n",
		map[string]string{"10": "1500000000 5 6\n", "11": "500000000 1 1\n"})
	writeProc(t, root, 20, statLine(20, 1, 2), "VmRSS:\t1024 kB\n", map[string]string{"20": "30000000 0 0\n"})
	a, err := readCPU(root, []int{10, 20})
	if err != nil {
		t.Fatal(err)
	}
	if a.ticks != 2030*time.Millisecond || a.sched != 2030*time.Millisecond {
		t.Errorf("ticks %v sched %v, want 2.03s both", a.ticks, a.sched)
	}
	rss, err := readRSS(root, []int{10, 20})
	if err != nil || rss != 3072*1024 {
		t.Errorf("rss %d (%v), want %d", rss, err, 3072*1024)
	}

	// Later: thread 11 still there and 1.25 ms busier; precise figure wins.
	writeProc(t, root, 10, statLine(10, 150, 51), "VmRSS:\t2048 kB\n",
		map[string]string{"10": "1500000000 5 6\n", "11": "501250000 1 1\n"})
	b, _ := readCPU(root, []int{10, 20})
	if d := cpuBetween(a, b); d != 1250*time.Microsecond {
		t.Errorf("cpu between = %v, want 1.25ms", d)
	}
	// Thread 11 exits: fall back to ticks (which kept its time).
	if err := os.RemoveAll(filepath.Join(root, "10", "task", "11")); err != nil {
		t.Fatal(err)
	}
	writeProc(t, root, 10, statLine(10, 152, 51), "VmRSS:\t2048 kB\n", map[string]string{"10": "1500000000 5 6\n"})
	c, _ := readCPU(root, []int{10, 20})
	if d := cpuBetween(a, c); d != 30*time.Millisecond {
		t.Errorf("cpu between after a thread exit = %v, want 30ms from ticks", d)
	}

	if _, err := readCPU(root, []int{99}); err == nil {
		t.Error("a missing pid gives no error")
	}
	if _, err := parseStatTicks([]byte("12 (x) S 1")); err == nil {
		t.Error("a short stat line gives no error")
	}
}

func TestReadCPUOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	a, err := readCPU("/proc", []int{pid})
	if err != nil {
		t.Fatal(err)
	}
	// Spin until getrusage says this process used 30 ms more CPU (however long a busy
	// machine makes that take), then /proc must agree within a tick.
	g0, x := selfCPU(), 0
	for deadline := time.Now().Add(10 * time.Second); selfCPU()-g0 < 30*time.Millisecond && time.Now().Before(deadline); {
		x++
	}
	b, _ := readCPU("/proc", []int{pid})
	if d := cpuBetween(a, b); d < 20*time.Millisecond {
		t.Errorf("30 ms of CPU (getrusage) measured from /proc as %v", d)
	}
	if rss, err := readRSS("/proc", []int{pid}); err != nil || rss < 1<<20 {
		t.Errorf("rss %d, %v", rss, err)
	}
	_ = x
}

package telemetry

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of the kill -9 child: it runs the test binary again with
// these set and serves as the process that gets killed.
const (
	envKillChild    = "SLUICE_TELEMETRY_KILL_CHILD"
	envKillSpoolDir = "SLUICE_TELEMETRY_KILL_SPOOL"
)

// TestSpoolSurvivesKill9 runs a child that submits records while its sink
// is down (so they spool) and reports how many are durable; the child is
// SIGKILLed mid-run; a new pipeline on the same spool directory then
// replays into a working sink. Every record the child reported durable
// must arrive exactly once.
func TestSpoolSurvivesKill9(t *testing.T) {
	if os.Getenv(envKillChild) == "1" {
		killChild()
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolSurvivesKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKillChild+"=1", envKillSpoolDir+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read "durable N" lines; kill once a good number are durable, while
	// the child is still submitting.
	durable := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "durable ")
		if !ok {
			continue
		}
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		durable = v
		if durable >= 3000 {
			break
		}
	}
	// A moment later, so the kill lands anywhere in the child's work
	// (often mid-append: the torn frame is then cut at the next open).
	time.Sleep(3 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines the child wrote before it died count too: they were durable.
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "durable "); ok {
			if v, err := strconv.Atoi(n); err == nil {
				durable = v
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
	if durable < 3000 {
		t.Fatalf("child reported only %d durable records", durable)
	}

	sink := newMemSink()
	p := newTestPipeline(t, Config{SpoolDir: dir}, sink)
	eventually(t, "the spool is replayed", func() bool { return p.Status().SpoolBytes == 0 })
	closePipeline(t, p)
	_, _, dupes := sink.snapshot()
	if dupes != 0 {
		t.Fatalf("%d records replayed twice", dupes)
	}
	for i := range durable {
		if _, ok := sink.rows[fmt.Sprintf("req-%08d", i)]; !ok {
			t.Fatalf("record %d of %d durable ones is missing (sink has %d)", i, durable, sink.count())
		}
	}
	t.Logf("child reported %d durable; %d replayed after kill -9", durable, sink.count())
}

// killChild is the child's side: spool records into a sink that is down,
// printing the durable count, until it is killed (or a minute passes).
func killChild() {
	sink := newMemSink()
	sink.setDown(errors.New("down on purpose"))
	p, err := New(Config{SpoolDir: os.Getenv(envKillSpoolDir), BatchSize: 50, FlushInterval: 5 * time.Millisecond}, sink)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	// Batches reach the spool in order once the sink is known to be down,
	// so N durable records are records 0..N-1.
	for p.Status().SinkUp {
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(time.Minute)
	reported := uint64(0)
	for i := 0; time.Now().Before(deadline); i++ {
		r := sampleRecord(i, time.Now())
		for !p.Submit(&r) {
			// The queue is full: it is never supposed to be in this test.
			fmt.Println("error dropped", i)
			os.Exit(2)
		}
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
		if st := p.Status(); st.Spooled != reported {
			reported = st.Spooled
			fmt.Printf("durable %d\n", reported)
		}
	}
	os.Exit(3)
}

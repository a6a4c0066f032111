package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Proc is one child process: its output goes to a log file through a pipe
// (so a file-size limit set on the child never stops its own log), and
// Wait's result is kept for whoever asks. Create it with StartProc.
type Proc struct {
	Name string
	Log  string // path of the file holding stdout and stderr

	cmd  *exec.Cmd
	logf *os.File
	done chan struct{}
	err  error // Wait's, once done is closed
}

// ProcSpec says how to start a Proc.
type ProcSpec struct {
	Name string
	Argv []string
	Env  []string // appended to the harness's own environment
	Dir  string   // working directory; "" = the harness's
	Log  string   // log file (appended to)
	// Cred, when set, runs the child as that user (the harness must be
	// root). The kernel then clears Pdeathsig, so such a child outlives a
	// harness that is killed.
	Cred *syscall.Credential
}

// StartProc starts spec's command.
func StartProc(spec ProcSpec) (*Proc, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("harness: empty command")
	}
	logf, err := os.OpenFile(spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("harness: %s: log: %w", spec.Name, err)
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	// Not *os.File: exec copies through a pipe, so the child never writes
	// the log file itself (RLIMIT_FSIZE on it must not touch the log).
	cmd.Stdout = onlyWriter{logf}
	cmd.Stderr = cmd.Stdout
	// Its own process group: a Ctrl-C at the terminal reaches the harness
	// only, which then stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if spec.Cred != nil {
		cmd.SysProcAttr.Credential = spec.Cred
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("harness: start %s: %w", spec.Name, err)
	}
	p := &Proc{Name: spec.Name, Log: spec.Log, cmd: cmd, logf: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// onlyWriter hides the *os.File behind an io.Writer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(b []byte) (int, error) { return o.w.Write(b) }

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed once the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process ended (nil for exit status 0); only meaningful
// once Done is closed.
func (p *Proc) Err() error { return p.err }

// Signal sends sig to the process (nothing once it has exited).
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("harness: signal %s: %w", p.Name, err)
	}
	return nil
}

// Kill sends SIGKILL and waits (up to 10 s) until the process is gone.
func (p *Proc) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	return p.WaitFor(10 * time.Second)
}

// Stop sends sig and waits up to grace for the process to exit, then
// kills it. It returns the process's own error when it exited in time
// with a failure status, or an error saying it had to be killed.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	if err := p.Signal(sig); err != nil {
		return err
	}
	if p.WaitFor(grace) == nil {
		return p.err
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("harness: %s did not exit within %v of %v; killed", p.Name, grace, sig)
}

// WaitFor waits up to d for the process to exit.
func (p *Proc) WaitFor(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return fmt.Errorf("harness: %s still runs after %v", p.Name, d)
	}
}

// Tail is the last n bytes of the process's log, for error messages.
func (p *Proc) Tail(n int) string { return tailFile(p.Log, n) }

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// OpenFDs counts the process's open file descriptors (/proc/PID/fd).
func OpenFDs(pid int) (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, fmt.Errorf("harness: open fds of %d: %w", pid, err)
	}
	return len(ents), nil
}

// RSS is the process's resident set size in bytes (VmRSS of
// /proc/PID/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("harness: rss of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("harness: no VmRSS in /proc/%d/status", pid)
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago (a
// process started on it may still race another; starts retry on a bind
// failure where they can).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("harness: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Group stops a set of processes in reverse start order; every start in
// a tool registers a stop here, so one deferred StopAll ends them all,
// on success, failure or interrupt.
type Group struct {
	mu    sync.Mutex
	stops []namedStop
}

type namedStop struct {
	name string
	stop func() error
}

// Add registers stop under name.
func (g *Group) Add(name string, stop func() error) {
	g.mu.Lock()
	g.stops = append(g.stops, namedStop{name, stop})
	g.mu.Unlock()
}

// StopAll runs every registered stop, last added first, once, and
// returns their errors joined.
func (g *Group) StopAll() error {
	g.mu.Lock()
	stops := g.stops
	g.stops = nil
	g.mu.Unlock()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i].stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", stops[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// SetFileSizeLimit sets RLIMIT_FSIZE of a running process (prlimit): a
// write that would take a file past n bytes fails with EFBIG (Go ignores
// SIGXFSZ). n < 0 lifts the limit.
func SetFileSizeLimit(pid int, n int64) error {
	lim := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if n >= 0 {
		lim.Cur = uint64(n)
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
		return fmt.Errorf("harness: RLIMIT_FSIZE of %d: %w", pid, err)
	}
	return nil
}

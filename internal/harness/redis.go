package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Redis is a private redis-server: loopback only, no persistence (a
// restart starts empty, as after a crash without AOF), its own port and
// directory. Create it with NewRedis; Start, Kill and Stop it as often as
// needed: the port stays the same.
type Redis struct {
	Dir  string
	Port int
	bin  string
	proc *Proc
}

// NewRedis prepares a Redis in dir (created) on a free port; it does not
// start it.
func NewRedis(dir string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("harness: redis-server not found (apt-get install redis-server): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("harness: redis: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	return &Redis{Dir: dir, Port: port, bin: bin}, nil
}

// URL is the server's redis:// URL (database 0).
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Pid is the running server's process id (0 when stopped).
func (r *Redis) Pid() int {
	if r.proc == nil || r.proc.Exited() {
		return 0
	}
	return r.proc.Pid()
}

// Start starts the server and waits until it answers PING.
func (r *Redis) Start(ctx context.Context) error {
	if r.Pid() != 0 {
		return nil
	}
	p, err := StartProc(ProcSpec{
		Name: "redis",
		Argv: []string{r.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.Port),
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", r.Dir, "--logfile", ""},
		Dir: r.Dir,
		Log: filepath.Join(r.Dir, "redis.log"),
	})
	if err != nil {
		return err
	}
	r.proc = p
	if err := poll(ctx, 15*time.Second, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, errors.New("exited")
		}
		return redisPing(r.Port) == nil, nil
	}); err != nil {
		_ = p.Kill()
		return fmt.Errorf("harness: redis on port %d not answering: %w\n%s", r.Port, err, p.Tail(2000))
	}
	return nil
}

// Kill SIGKILLs the server (its data is gone: no persistence).
func (r *Redis) Kill() error {
	if r.proc == nil {
		return nil
	}
	return r.proc.Kill()
}

// Stop shuts the server down (SIGTERM, SIGKILL after 10 s).
func (r *Redis) Stop() error {
	if r.proc == nil {
		return nil
	}
	return r.proc.Stop(syscall.SIGTERM, 10*time.Second)
}

// redisPing sends PING in the inline protocol and wants +PONG.
func redisPing(port int) error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// poll calls cond every interval until it says true, returns an error, ctx
// ends or limit passes.
func poll(ctx context.Context, limit, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// Poll is poll for the harness's users: it calls cond every interval until
// it holds, ctx ends or limit passes, and says how long it took.
func Poll(ctx context.Context, limit, interval time.Duration, cond func() bool) (time.Duration, error) {
	start := time.Now()
	err := poll(ctx, limit, interval, func() (bool, error) { return cond(), nil })
	return time.Since(start), err
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

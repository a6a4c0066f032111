package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BuildSluice builds ./cmd/sluice of the module at root into out (go
// build, the tree as it is) and returns out.
func BuildSluice(ctx context.Context, root, out string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/sluice")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: go build ./cmd/sluice: %w\n%s", err, b)
	}
	return out, nil
}

// Mock is `sluice mock` on a free port.
type Mock struct {
	URL  string // root, e.g. http://127.0.0.1:PORT (OpenAI paths under /v1)
	proc *Proc
}

// StartMock starts `bin mock` with extra flags (e.g. --journal 1000),
// logging to dir/mock.log, and waits until it answers.
func StartMock(ctx context.Context, bin, dir string, flags ...string) (*Mock, error) {
	var last error
	for range 3 { // the free port may be taken before the mock binds it
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p, err := StartProc(ProcSpec{
			Name: "mock",
			Argv: append([]string{bin, "mock", "--listen", addr, "--log-level", "warn"}, flags...),
			Log:  filepath.Join(dir, "mock.log"),
		})
		if err != nil {
			return nil, err
		}
		m := &Mock{URL: "http://" + addr, proc: p}
		err = poll(ctx, 15*time.Second, 20*time.Millisecond, func() (bool, error) {
			if p.Exited() {
				return false, errors.New("exited")
			}
			return httpStatus(ctx, m.URL+"/v1/models") == 200, nil
		})
		if err == nil {
			return m, nil
		}
		_ = p.Kill()
		last = fmt.Errorf("harness: mock on %s: %w\n%s", addr, err, p.Tail(2000))
	}
	return nil, last
}

// Stop stops the mock (SIGTERM, SIGKILL after 15 s).
func (m *Mock) Stop() error { return m.proc.Stop(syscall.SIGTERM, 15*time.Second) }

// Gateway is one `sluice serve` instance on its own port and data_dir,
// restartable (Kill9 then Start keeps both).
type Gateway struct {
	Name    string
	Port    int
	DataDir string
	Config  string   // config file
	Env     []string // besides SLUICE_LISTEN and SLUICE_DATA_DIR, which the harness sets
	Bin     string
	Token   string // admin token, for Reload
	LogFile string // stdout and stderr, appended at every start; "" = DataDir + ".log"

	proc *Proc
}

// URL is the instance's root URL.
func (g *Gateway) URL() string { return "http://127.0.0.1:" + strconv.Itoa(g.Port) }

// Pid is the running process's id (0 when not running).
func (g *Gateway) Pid() int {
	if g.proc == nil || g.proc.Exited() {
		return 0
	}
	return g.proc.Pid()
}

// Log is the instance's log file (every start appends to it).
func (g *Gateway) Log() string {
	if g.LogFile != "" {
		return g.LogFile
	}
	return filepath.Clean(g.DataDir) + ".log"
}

// Start starts the instance and waits (up to limit) until /readyz says
// ready. Port 0 picks a free one at the first start.
func (g *Gateway) Start(ctx context.Context, limit time.Duration) error {
	if g.Pid() != 0 {
		return nil
	}
	if g.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return err
		}
		g.Port = p
	}
	if err := os.MkdirAll(g.DataDir, 0o755); err != nil {
		return fmt.Errorf("harness: %s: %w", g.Name, err)
	}
	env := append([]string{
		"SLUICE_LISTEN=127.0.0.1:" + strconv.Itoa(g.Port),
		"SLUICE_DATA_DIR=" + g.DataDir,
	}, g.Env...)
	p, err := StartProc(ProcSpec{
		Name: g.Name,
		Argv: []string{g.Bin, "serve", "--config", g.Config},
		Env:  env,
		Log:  g.Log(),
	})
	if err != nil {
		return err
	}
	g.proc = p
	if err := poll(ctx, limit, 20*time.Millisecond, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("exited (%v)", p.Err())
		}
		return httpStatus(ctx, g.URL()+"/readyz") == 200, nil
	}); err != nil {
		_ = p.Kill()
		return fmt.Errorf("harness: %s on port %d not ready: %w\n%s", g.Name, g.Port, err, p.Tail(3000))
	}
	return nil
}

// Kill9 SIGKILLs the instance and waits until it is gone.
func (g *Gateway) Kill9() error {
	if g.proc == nil {
		return nil
	}
	return g.proc.Kill()
}

// Stop drains and stops the instance (SIGTERM; SIGKILL after grace).
func (g *Gateway) Stop(grace time.Duration) error {
	if g.proc == nil {
		return nil
	}
	return g.proc.Stop(syscall.SIGTERM, grace)
}

// Signal sends sig (SIGHUP: reload) to the running instance.
func (g *Gateway) Signal(sig syscall.Signal) error {
	if g.proc == nil {
		return errors.New("harness: " + g.Name + " not started")
	}
	return g.proc.Signal(sig)
}

// Reload asks the instance to reload its config through the admin API
// and returns the status and body of the answer.
func (g *Gateway) Reload(ctx context.Context) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", g.URL()+"/admin/v1/reload", nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// Metrics scrapes the instance's /metrics.
func (g *Gateway) Metrics(ctx context.Context) (Metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", g.URL()+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("harness: %s metrics: %w", g.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("harness: %s metrics: status %d", g.Name, resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// Get fetches path of the instance and returns the status and body
// (status 0 when there was no answer).
func (g *Gateway) Get(ctx context.Context, path string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", g.URL()+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// httpStatus is the status of GET url, 0 on any error.
func httpStatus(ctx context.Context, url string) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode
}

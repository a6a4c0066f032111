package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
)

func TestRunCommands(t *testing.T) {
	tests := []struct {
		args   []string
		status int
		out    string // substring of stdout+stderr
	}{
		{args: []string{"version"}, status: 0, out: "sluice "},
		{args: []string{"--help"}, status: 0, out: "Usage:"},
		{args: nil, status: 2, out: "Usage:"},
		{args: []string{"frobnicate"}, status: 2, out: `unknown command "frobnicate"`},
		{args: []string{"bench", "--direct", "x"}, status: 2, out: "want a root such as http://127.0.0.1:9000"},
		{args: []string{"keys", "list", "--admin-token", ""}, status: 2, out: "admin token"},
		{args: []string{"serve"}, status: 2, out: "Usage: sluice serve"},
		{args: []string{"serve", "--help"}, status: 0, out: "Usage: sluice serve"},
		{args: []string{"serve", "--config", "testdata/config-broken.yaml"}, status: 2, out: "config-broken.yaml:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			if got := run(tt.args, &out, &out); got != tt.status {
				t.Errorf("status %d, want %d; output:\n%s", got, tt.status, out.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("output lacks %q:\n%s", tt.out, out.String())
			}
		})
	}
}

// buildSluice builds the binary once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func sluiceBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "sluice")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

var listenRE = regexp.MustCompile(`msg="sluice listening" addr=(\S+)`)

// startProcess runs `sluice serve` on cfg and returns its address once it
// listens, and a channel with its exit error.
func startProcess(t *testing.T, cfg string, stderr io.Writer) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startProcessFile(t, path, stderr)
}

// startProcessFile is startProcess on a config file the test wrote.
func startProcessFile(t *testing.T, path string, stderr io.Writer) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	cmd := exec.Command(sluiceBinary(t), "serve", "--config", path)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(stderr, sc.Text())
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case addr := <-addrc:
		return cmd, addr, exited
	case err := <-exited:
		t.Fatalf("sluice exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("sluice did not start listening")
	}
	return nil, "", nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSIGTERMDrainsStreams starts the real binary, opens streams, sends
// SIGTERM while they are mid-way, and checks that readiness fails first,
// new connections are refused, every stream completes and the exit status
// is 0.
func TestSIGTERMDrainsStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mockAddr := startMock(t)

	cfg := fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
  shutdown_grace: 20s
  shutdown_delay: 400ms
log:
  level: info
providers:
  - name: openai
    kind: openai
    base_url: http://%s/v1
models:
  - name: gpt-4o-mini
    targets: [{provider: openai}]
`, mockAddr)
	var logs syncBuffer
	cmd, addr, exited := startProcess(t, cfg, &logs)
	base := "http://" + addr

	const streams = 5
	type result struct {
		body string
		err  error
	}
	results := make(chan result, streams)
	started := make(chan struct{}, streams)
	for i := 0; i < streams; i++ {
		go func() {
			body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"drain me"}]}`
			req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Mock-ITL", "40")
			req.Header.Set("X-Mock-Tokens", "40") // ≈ 1.6 s per stream
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{err: err}
				started <- struct{}{}
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			first, err := br.ReadString('\n')
			started <- struct{}{}
			if err != nil {
				results <- result{err: err}
				return
			}
			rest, err := io.ReadAll(br)
			results <- result{body: first + string(rest), err: err}
		}()
	}
	for i := 0; i < streams; i++ {
		<-started
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Readiness fails first, during shutdown_delay, while the listener is
	// still open.
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 503 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never reported not ready (last err %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Then the listener closes: new connections are refused while the
	// streams are still running.
	deadline = time.Now().Add(3 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown_delay")
		}
		time.Sleep(20 * time.Millisecond)
	}

	for i := 0; i < streams; i++ {
		r := <-results
		if r.err != nil {
			t.Errorf("stream %d: %v", i, r.err)
			continue
		}
		if !strings.HasSuffix(r.body, "data: [DONE]\n\n") || strings.Count(r.body, "data: ") < 40 {
			t.Errorf("stream %d cut short by shutdown:\n%s", i, r.body)
		}
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("exit: %v\nlogs:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sluice did not exit after draining\nlogs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", logs.String())
	}
}

// startMock serves an in-process mock on an ephemeral loopback port for the
// test and returns its address.
func startMock(t *testing.T) string {
	t.Helper()
	m, err := mock.New(mock.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})
	return ln.Addr().String()
}

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's logger and the test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCmdMockFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string // substring of stdout (status 0) or stderr
	}{
		{[]string{"--help"}, 0, "Usage: sluice mock"},
		{[]string{"-h"}, 0, "--journal N"},
		{[]string{"--ttft", "fast"}, 2, "invalid value"},
		{[]string{"--tokens", "0"}, 2, "--tokens must be at least 1"},
		{[]string{"--tokens", "-3"}, 2, "tokens -3 out of range"},
		{[]string{"--journal", "-1"}, 2, "negative journal"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--log-level", "loud"}, 2, "--log-level"},
		{[]string{"--listen", "256.0.0.1:bad"}, 1, "mock cannot listen"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := cmdMock(tc.args, &stdout, &stderr)
			out := stderr.String()
			if tc.status == 0 {
				out = stdout.String()
			}
			if got != tc.status || !strings.Contains(out, tc.out) {
				t.Errorf("status %d, stdout %q, stderr %q; want %d and %q", got, stdout.String(), stderr.String(), tc.status, tc.out)
			}
		})
	}
}

// TestCmdMockServes runs the command until its context ends, as a signal would end it.
func TestCmdMockServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	addrc := make(chan string, 1)
	done := make(chan int, 1)
	procs := make(chan int, 1)
	go func() {
		done <- runMock(ctx, []string{"--listen", "127.0.0.1:0", "--tokens", "3", "--seed", "9", "--journal", "5", "--ttft", "1ms", "--procs", "3"},
			io.Discard, &stderr, func(addr string) { addrc <- addr }, func(n int) { procs <- n })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case status := <-done:
		t.Fatalf("exited %d: %s", status, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("mock never listened")
	}
	select {
	case n := <-procs:
		if n != 3 && os.Getenv("GOMAXPROCS") == "" {
			t.Errorf("--procs 3 set GOMAXPROCS %d", n)
		}
	default:
		if os.Getenv("GOMAXPROCS") == "" {
			t.Error("--procs 3 was not applied")
		}
	}
	if !strings.Contains(stderr.String(), "mock listening on "+addr) {
		t.Errorf("stderr %q lacks the listening line", stderr.String())
	}
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"completion_tokens":3`) {
		t.Errorf("reply %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + addr + "/_mock/requests")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"path":"/v1/chat/completions"`) {
		t.Errorf("journal %s", body)
	}
	cancel()
	select {
	case status := <-done:
		if status != 0 {
			t.Errorf("exit status %d: %s", status, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("mock did not shut down")
	}
}

func TestMockProcs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flag    int
		flagSet bool
		env     string
		def     int // the runtime's default GOMAXPROCS
		want    int // 0: leave the runtime's
	}{
		{"default on 2 CPUs", 0, false, "", 2, 1},
		{"default on 1 CPU", 0, false, "", 1, 1},
		{"default on 16 CPUs", 0, false, "", 16, 8},
		{"default on 3 CPUs", 0, false, "", 3, 1},
		{"default under a 2-CPU quota", 0, false, "", 2, 1},
		{"--procs 0 is the runtime's default", 0, true, "", 16, 0},
		{"--procs 4", 4, true, "", 2, 4},
		{"GOMAXPROCS wins over the default", 0, false, "2", 16, 0},
		{"GOMAXPROCS wins over --procs", 4, true, "2", 16, 0},
		{"an invalid GOMAXPROCS is not set", 4, true, "abc", 16, 4},
		{"GOMAXPROCS=0 is not set", 0, false, "0", 16, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mockProcs(tc.flag, tc.flagSet, tc.env, tc.def); got != tc.want {
				t.Errorf("mockProcs(%d, %v, %q, %d) = %d, want %d", tc.flag, tc.flagSet, tc.env, tc.def, got, tc.want)
			}
		})
	}
}

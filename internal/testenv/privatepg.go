package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// PrivatePG is a PostgreSQL server of one test's own, on an ephemeral
// loopback port, for tests that stop or kill the server (the shared one
// is never touched). Create it with PrivatePostgres.
type PrivatePG struct {
	t      testing.TB
	bin    string   // directory of initdb and pg_ctl
	prefix []string // runs a command as the server's OS user ("runuser -u postgres --")
	dir    string   // temporary root: data/, the socket, server.log
	port   int

	mu      sync.Mutex
	running bool
}

// PrivatePostgres initializes a fresh cluster in a temporary directory
// (initdb, trust auth, user postgres) and starts it on an ephemeral port.
// When the test ends the server is stopped and the directory removed.
// The test is skipped when initdb cannot be found, or fails when
// SLUICE_TEST_REQUIRE_SERVICES=1.
//
// PostgreSQL refuses to run as root, so as root the binaries run as the
// postgres OS user (runuser, or setpriv) on a directory chowned to it.
func PrivatePostgres(t testing.TB) *PrivatePG {
	t.Helper()
	unavailable := func(msg string) {
		t.Helper()
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("private PostgreSQL: %s, and SLUICE_TEST_REQUIRE_SERVICES=1 requires this test to run", msg)
		}
		t.Skipf("private PostgreSQL: %s: skipping (install the PostgreSQL server binaries to run it)", msg)
	}
	bin := findPostgresBin()
	if bin == "" {
		unavailable("initdb not found in /usr/lib/postgresql/*/bin or on PATH")
	}
	p := &PrivatePG{t: t, bin: bin}
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable("running as root and there is no postgres OS user to run the server as")
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		switch {
		case lookPath("runuser") != "":
			p.prefix = []string{lookPath("runuser"), "-u", "postgres", "--"}
		case lookPath("setpriv") != "":
			p.prefix = []string{lookPath("setpriv"), "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups"}
		default:
			unavailable("running as root and neither runuser nor setpriv is available to drop to the postgres user")
		}
	}
	dir, err := os.MkdirTemp("", "sluice-pg-")
	if err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	p.dir = dir
	t.Cleanup(p.cleanup)
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("private PostgreSQL: chown %s: %v", dir, err)
		}
	}
	if out, err := p.run(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("private PostgreSQL: initdb: %v\n%s", err, out)
	}
	// The port is picked free and could be taken before the server binds
	// it; try a few.
	for attempt := 0; ; attempt++ {
		p.port = freePort(t)
		err := p.start()
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("private PostgreSQL: start: %v", err)
		}
	}
	return p
}

// URL is the server's postgres:// URL (database postgres, user postgres).
func (p *PrivatePG) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Port is the server's TCP port; it stays the same across Stop and Start.
func (p *PrivatePG) Port() int { return p.port }

// Stop shuts the server down (fast mode: sessions are disconnected) and
// waits until it is gone.
func (p *PrivatePG) Stop() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return
	}
	if out, err := p.run(filepath.Join(p.bin, "pg_ctl"), "-D", p.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		p.t.Fatalf("private PostgreSQL: stop: %v\n%s", err, out)
	}
	p.running = false
}

// Start starts the server again on the same port and waits until it
// accepts connections.
func (p *PrivatePG) Start() {
	p.t.Helper()
	if err := p.start(); err != nil {
		p.t.Fatalf("private PostgreSQL: start: %v", err)
	}
}

func (p *PrivatePG) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return nil
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c max_connections=50", p.port, p.dir)
	out, err := p.run(filepath.Join(p.bin, "pg_ctl"), "-D", p.data(), "-l", filepath.Join(p.dir, "server.log"),
		"-o", opts, "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		return fmt.Errorf("%w\n%s\nserver.log:\n%s", err, out, tail(log, 2000))
	}
	p.running = true
	return nil
}

func (p *PrivatePG) cleanup() {
	p.mu.Lock()
	if p.running {
		_, _ = p.run(filepath.Join(p.bin, "pg_ctl"), "-D", p.data(), "-m", "immediate", "-w", "-t", "30", "stop")
		p.running = false
	}
	p.mu.Unlock()
	if err := os.RemoveAll(p.dir); err != nil {
		p.t.Errorf("private PostgreSQL: remove %s: %v", p.dir, err)
	}
}

func (p *PrivatePG) data() string { return filepath.Join(p.dir, "data") }

// run runs a server binary as the server's OS user, in the temporary
// directory (the test's own working directory may be closed to it).
func (p *PrivatePG) run(name string, args ...string) ([]byte, error) {
	argv := append(slices.Clone(p.prefix), name)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.dir
	return cmd.CombinedOutput()
}

// findPostgresBin returns the directory of the newest initdb under
// /usr/lib/postgresql, or of the one on PATH, or "".
func findPostgresBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestVer := "", -1.0
	for _, m := range matches {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(m))), 64)
		if err == nil && v > bestVer {
			best, bestVer = filepath.Dir(m), v
		}
	}
	if best != "" {
		return best
	}
	if p := lookPath("initdb"); p != "" {
		return filepath.Dir(p)
	}
	return ""
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("private PostgreSQL: pick a port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(b []byte, n int) string {
	s := string(b)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a private PostgreSQL cluster: initdb'd fresh in its own
// directory (trust auth, user postgres, fsync off), the postmaster run as
// a direct child on its own loopback port. Create it with NewPostgres;
// Start and Stop it as often as needed: the port stays the same.
//
// PostgreSQL refuses to run as root, so as root its binaries run as the
// postgres OS user (the directory is chowned to it).
type Postgres struct {
	Dir  string // data/, the socket, server.log
	Port int    // picked free by NewPostgres; may be changed before a Start
	bin  string
	cred *syscall.Credential
	proc *Proc
}

// PostgresBin returns the directory of the newest initdb under
// /usr/lib/postgresql, or of the one on PATH, or "".
func PostgresBin() string {
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
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// PostgresUser is the OS user PostgreSQL must run as when the caller is
// root (uid and gid of "postgres"), or nil when the caller is not root.
func PostgresUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("harness: running as root and there is no postgres OS user to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("harness: postgres user has uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// NewPostgres runs initdb in dir (created; it must not hold a cluster
// yet) and picks a free port. It does not start the server.
func NewPostgres(ctx context.Context, dir string) (*Postgres, error) {
	bin := PostgresBin()
	if bin == "" {
		return nil, errors.New("harness: initdb not found in /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)")
	}
	cred, err := PostgresUser()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("harness: postgres: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("harness: postgres: chown %s: %w", dir, err)
		}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, Port: port, bin: bin, cred: cred}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir = dir
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("harness: initdb: %w\n%s", err, out)
	}
	return p, nil
}

func (p *Postgres) data() string { return filepath.Join(p.Dir, "data") }

// URL is the postgres:// URL of database db as user postgres.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Pid is the postmaster's process id (0 when stopped).
func (p *Postgres) Pid() int {
	if p.proc == nil || p.proc.Exited() {
		return 0
	}
	return p.proc.Pid()
}

// Start starts the postmaster and waits until it accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	if p.Pid() != 0 {
		return nil
	}
	proc, err := StartProc(ProcSpec{
		Name: "postgres",
		Argv: []string{filepath.Join(p.bin, "postgres"), "-D", p.data(), "-p", strconv.Itoa(p.Port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + p.Dir,
			"-c", "fsync=off", "-c", "max_connections=100"},
		Dir:  p.Dir,
		Log:  filepath.Join(p.Dir, "server.log"),
		Cred: p.cred,
	})
	if err != nil {
		return err
	}
	p.proc = proc
	if err := poll(ctx, 60*time.Second, 50*time.Millisecond, func() (bool, error) {
		if proc.Exited() {
			return false, errors.New("exited")
		}
		return p.ping(ctx) == nil, nil
	}); err != nil {
		_ = proc.Stop(syscall.SIGQUIT, 5*time.Second)
		return fmt.Errorf("harness: postgres on port %d not accepting connections: %w\n%s", p.Port, err, proc.Tail(2000))
	}
	return nil
}

func (p *Postgres) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return c.Ping(ctx)
}

// Stop shuts the server down in fast mode (SIGINT: sessions are
// disconnected, a clean checkpoint is written) and waits; immediate mode
// (SIGQUIT) after 30 s, SIGKILL after 10 more.
func (p *Postgres) Stop() error {
	if p.proc == nil || p.proc.Exited() {
		return nil
	}
	if err := p.proc.Signal(syscall.SIGINT); err != nil {
		return err
	}
	if p.proc.WaitFor(30*time.Second) == nil {
		return nil
	}
	return p.proc.Stop(syscall.SIGQUIT, 10*time.Second)
}

// CreateDB creates database name.
func (p *Postgres) CreateDB(ctx context.Context, name string) error {
	c, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("harness: postgres: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("harness: create database %s: %w", name, err)
	}
	return nil
}

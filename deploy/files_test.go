package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	line      int
}

func readDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// goVersion is go.mod's go line.
func goVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t, "Dockerfile")
	// Split into stages at each FROM.
	type stage struct {
		from string
		ins  []instruction
	}
	var stages []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			var image []string
			for _, f := range strings.Fields(in.args) {
				if !strings.HasPrefix(f, "--") {
					image = append(image, f)
				}
			}
			stages = append(stages, stage{from: image[0]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a multi-stage build (a Go builder, then a minimal image)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	if want := "golang:" + goVersion(t); build.from != want && !strings.HasPrefix(build.from, want+"-") {
		t.Errorf("the builder is %s, want %s (go.mod's go line)", build.from, want)
	}
	var goBuild string
	for _, in := range build.ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/sluice"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build step lacks %q: %q", want, goBuild)
		}
	}

	if final.from != "scratch" && !regexp.MustCompile(`^gcr\.io/distroless/static[-a-z0-9]*:[a-z0-9.-]+(@sha256:[0-9a-f]{64})?$`).MatchString(final.from) {
		t.Errorf("the final image is %s: want distroless static (pinned by tag) or scratch", final.from)
	}
	var user, entry, cmd string
	var exposed []string
	for _, in := range final.ins {
		switch in.cmd {
		case "RUN":
			t.Errorf("Dockerfile:%d: RUN in the final stage (it has no shell)", in.line)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "CMD":
			cmd = in.args
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("the final stage runs as %q: want a non-root USER", user)
	}
	var argv []string
	if err := json.Unmarshal([]byte(entry), &argv); err != nil || len(argv) != 1 {
		t.Errorf("ENTRYPOINT %s: want the exec form with the binary alone (no shell)", entry)
	}
	var args []string
	if err := json.Unmarshal([]byte(cmd), &args); err != nil {
		t.Errorf("CMD %s: want the exec form", cmd)
	}

	// The image and the Kubernetes manifests agree on the config path and
	// the ports.
	b := loadBundle(t)
	if !slices.Equal(args, b.c.Args) {
		t.Errorf("the image's CMD %q and the Deployment's args %q differ", args, b.c.Args)
	}
	for _, p := range b.c.Ports {
		if !slices.Contains(exposed, strconv.Itoa(p.ContainerPort)) {
			t.Errorf("container port %s (%d) is not EXPOSEd", p.Name, p.ContainerPort)
		}
	}

	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	for _, want := range []string{".git", "bin/", "data/"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

// unit is a systemd unit file: each section's keys and their values, in
// order (a key may repeat).
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n+1, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// timespan parses the systemd time spans used here ("90s", "2min", "1min 30s").
func timespan(t *testing.T, s string) time.Duration {
	t.Helper()
	var d time.Duration
	for _, f := range strings.Fields(s) {
		unit := time.Second
		for _, u := range []struct {
			suffix string
			d      time.Duration
		}{{"min", time.Minute}, {"ms", time.Millisecond}, {"s", time.Second}} {
			if n, ok := strings.CutSuffix(f, u.suffix); ok {
				f, unit = n, u.d
				break
			}
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("time span %q", s)
		}
		d += time.Duration(n) * unit
	}
	return d
}

func TestSystemdUnit(t *testing.T) {
	const path = "systemd/sluice.service"
	u := readUnit(t, path)
	svc := u["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	last := func(k string) string {
		if v := svc[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	for k, want := range map[string]string{
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictNamespaces":      "yes",
		"LockPersonality":         "yes",
		"SystemCallArchitectures": "native",
		"KillSignal":              "SIGTERM",
		"CapabilityBoundingSet":   "", // empty: no capabilities at all
	} {
		if v, ok := svc[k]; !ok || last(k) != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	for _, k := range []string{"RestrictAddressFamilies", "LimitNOFILE", "EnvironmentFile", "StateDirectory"} {
		if last(k) == "" {
			t.Errorf("%s is not set", k)
		}
	}
	if !slices.Contains(svc["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter %q lacks @system-service", svc["SystemCallFilter"])
	}
	if last("DynamicUser") != "yes" && (last("User") == "" || last("User") == "root") {
		t.Errorf("runs as root: set DynamicUser=yes or a dedicated User=")
	}
	if exec := last("ExecStart"); !strings.Contains(exec, " serve --config ") {
		t.Errorf("ExecStart %q does not run sluice serve --config", exec)
	}
	// With the config's defaults (no shutdown_delay), stopping takes up to
	// shutdown_grace plus the close budget.
	if need := config.DefaultShutdownGrace + closeBudget; timespan(t, last("TimeoutStopSec")) <= need {
		t.Errorf("TimeoutStopSec=%s: must exceed shutdown_grace + %s = %s", last("TimeoutStopSec"), closeBudget, need)
	}

	// systemd's own parser, where it is installed: unknown keys and bad
	// values are warnings there, so any line naming the unit fails.
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's keys were not checked by systemd")
	}
	bin, err := os.Executable() // ExecStart must name an existing executable
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "sluice.service")
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/sluice", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(sa, "verify", tmp).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, tmp) {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

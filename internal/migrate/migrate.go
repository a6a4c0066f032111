package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one SQL file. Version orders the files of a component and
// keys its schema_migrations row; Name is the file name (0001_keys.sql),
// recorded in that row; SQL is the file's content, run as one Exec.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations in directory dir of fsys (for example
// "migrations/postgres" of a package's embed.FS), ordered by version.
// Every entry must be a file named NNNN_name.sql; no two may share a
// version.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	out := make([]Migration, 0, len(entries))
	for _, e := range entries {
		v, ok := parseName(e.Name())
		if !ok || e.IsDir() {
			return nil, fmt.Errorf("migrate: %s: %q is not a file named NNNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrate: %s: %s and %s have the same version %d",
				dir, out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// parseName returns the version of a file named NNNN_name.sql: NNNN is
// one or more decimal digits worth 1 to MaxInt32 (schema_migrations.version
// is an INTEGER), name is not empty.
func parseName(file string) (int, bool) {
	num, rest, ok := strings.Cut(file, "_")
	if !ok || num == "" || strings.TrimLeft(num, "0123456789") != "" {
		return 0, false
	}
	if name, ok := strings.CutSuffix(rest, ".sql"); !ok || name == "" {
		return 0, false
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 1 || v > math.MaxInt32 {
		return 0, false
	}
	return v, true
}

// checkArgs validates what Postgres and SQLite are given: a component
// name and migrations in strictly increasing version order, as Load
// returns them.
func checkArgs(component string, ms []Migration) error {
	if component == "" {
		return errors.New("migrate: a component name is required")
	}
	for i, m := range ms {
		if m.Version < 1 || m.Version > math.MaxInt32 {
			return fmt.Errorf("migrate: %s: version %d is out of range", m.Name, m.Version)
		}
		if i > 0 && m.Version <= ms[i-1].Version {
			return fmt.Errorf("migrate: %s: versions must increase (%d after %d)", m.Name, m.Version, ms[i-1].Version)
		}
	}
	return nil
}

// applyPending runs, in order, every migration whose version is not in
// done, each followed by its schema_migrations row. exec runs a statement
// in the caller's transaction; appliedAt is the time of the run as the
// dialect stores it.
func applyPending(ms []Migration, done map[int]bool, component string, appliedAt any,
	exec func(query string, args ...any) error) (int, error) {
	applied := 0
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if err := exec(m.SQL); err != nil {
			return 0, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if err := exec(insertRow, component, m.Version, m.Name, appliedAt); err != nil {
			return 0, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		applied++
	}
	return applied, nil
}

// Statements both dialects run ($n placeholders work in both).
const (
	selectDone = `SELECT version FROM schema_migrations WHERE component = $1`
	insertRow  = `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)`
)

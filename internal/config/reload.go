package config

import (
	"reflect"
	"slices"
	"strings"
	"time"
)

// Change is how a newly loaded config differs from the running one.
type Change struct {
	// Changed lists the settings that differ and take effect at once, as
	// YAML paths ("models", "server.max_in_flight", "auth.keys").
	Changed []string
	// NeedsRestart lists the settings that differ but that a running
	// process cannot change (listeners, storage, data_dir); the new config
	// keeps the running values of these until a restart.
	NeedsRestart []string
}

// Empty reports whether nothing differs.
func (c Change) Empty() bool { return len(c.Changed) == 0 && len(c.NeedsRestart) == 0 }

// restartOnly lists the settings a reload cannot apply, as YAML paths: the
// listeners and what the HTTP server reads once per connection, where state
// lives (storage, data_dir, the request-log pipeline), whether keys and
// limits exist at all, and the log format and tracing exporter that are
// built once. Everything else reloads.
var restartOnly = []string{
	"server.listen",
	"server.tls",
	"server.max_request_body",
	"server.max_header_bytes",
	"server.read_timeout",
	"server.write_timeout",
	"server.idle_timeout",
	"server.memory_limit",
	"server.max_conns_per_client",
	"admin.listen",
	"admin.token",
	"log.format",
	"data_dir",
	"mock",
	"storage",
	"auth.enabled",
	"auth.sync_interval",
	"auth.rotation_grace",
	"limits.redis",
	"telemetry.enabled",
	"telemetry.sink",
	"telemetry.queue_size",
	"telemetry.batch_size",
	"telemetry.flush_interval",
	"telemetry.sink_timeout",
	"telemetry.spool_max",
	"telemetry.retention",
	"telemetry.dedup",
	"tracing",
}

// Reconcile compares next, a config just loaded, with running, the config
// in use, and makes next keep running's value of every restart-only
// setting, so that next describes exactly what the process will run with
// after the reload. It reports what differs. running is not modified.
func Reconcile(running, next *Config) Change {
	var ch Change
	fileMemory := next.Server.MemoryLimit
	rv, nv := reflect.ValueOf(running).Elem(), reflect.ValueOf(next).Elem()
	for _, path := range restartOnly {
		r, n := fieldAt(rv, path), fieldAt(nv, path)
		if !r.IsValid() || !n.IsValid() {
			panic("config: restart-only path " + path + " does not name a field") // a bug here, caught by tests
		}
		if !equal(r, n) {
			ch.NeedsRestart = append(ch.NeedsRestart, path)
			n.Set(r)
		}
	}
	rederiveOverload(&next.Server, fileMemory)
	diff(rv, nv, "", 2, &ch.Changed)
	return ch
}

// rederiveOverload derives max_in_flight and max_streams again from the
// memory ceiling in force when a reload kept the running memory_limit
// (restart-only) over fileMemory, the file's: the file's caps were derived
// from a ceiling that does not apply. A cap equal to what the file's
// ceiling derives is taken as derived.
func rederiveOverload(s *Server, fileMemory ByteSize) {
	if s.MemoryLimit == fileMemory {
		return
	}
	inFlight := s.MaxInFlight
	if inFlight > 0 && inFlight == DefaultMaxInFlight(fileMemory) {
		s.MaxInFlight = DefaultMaxInFlight(s.MemoryLimit)
	}
	if inFlight > 0 && s.MaxStreams == DefaultMaxStreams(inFlight) {
		s.MaxStreams = DefaultMaxStreams(s.MaxInFlight)
	}
}

// Hold makes next keep running's value at path, a YAML path of a setting
// this process cannot apply now (one whose feature was not started, or
// that depends on a restart-only switch), and, when the two differed,
// reports path under NeedsRestart instead of Changed.
func (c *Change) Hold(running, next *Config, path string) {
	r, n := fieldAt(reflect.ValueOf(running).Elem(), path), fieldAt(reflect.ValueOf(next).Elem(), path)
	if !r.IsValid() || !n.IsValid() {
		panic("config: Hold: path " + path + " does not name a field") // a bug in the caller
	}
	if equal(r, n) {
		return
	}
	n.Set(r)
	c.NeedsRestart = append(c.NeedsRestart, path)
	c.Changed = slices.DeleteFunc(c.Changed, func(p string) bool { return p == path || strings.HasPrefix(p, path+".") })
}

// Restarting reports whether path is listed under NeedsRestart.
func (c *Change) Restarting(path string) bool { return slices.Contains(c.NeedsRestart, path) }

// fieldAt returns the field of struct v at a dotted YAML path (settable
// when v is); the zero Value when there is none.
func fieldAt(v reflect.Value, path string) reflect.Value {
	for _, name := range strings.Split(path, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}
		}
		i := fieldIndex(v.Type(), name)
		if i < 0 {
			return reflect.Value{}
		}
		v = v.Field(i)
	}
	return v
}

func fieldIndex(t reflect.Type, yamlName string) int {
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == yamlName {
			return i
		}
	}
	return -1
}

var timeType = reflect.TypeFor[time.Time]()

// diff appends the YAML paths at which a and b differ, descending into
// struct sections up to depth levels (lists and maps are reported whole).
func diff(a, b reflect.Value, prefix string, depth int, out *[]string) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		fa, fb := a.Field(i), b.Field(i)
		if equal(fa, fb) {
			continue
		}
		if depth > 1 && fa.Kind() == reflect.Struct && fa.Type() != timeType && fa.NumField() > 1 {
			diff(fa, fb, path+".", depth-1, out)
			continue
		}
		*out = append(*out, path)
	}
}

// equal is reflect.DeepEqual except that times compare by instant (a time
// parsed twice from the same text may carry distinct *Location values) and
// a nil slice or map equals an empty one.
func equal(a, b reflect.Value) bool {
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		it := a.MapRange()
		for it.Next() {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !equal(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	}
	if !a.CanInterface() {
		// Unexported fields: compare through their kinds' values.
		return reflect.DeepEqual(valueOf(a), valueOf(b))
	}
	return a.Interface() == b.Interface()
}

func valueOf(v reflect.Value) any {
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return nil
}

package config

import (
	"fmt"
	"slices"
	"strings"
)

// Limits that validation enforces beyond "not negative".
const (
	// minHeaderBytes and maxHeaderBytes bound server.max_header_bytes: below
	// 1KiB ordinary requests fail; the limit is also a per-connection read
	// buffer, so gigabytes would be a memory hazard.
	minHeaderBytes = 1 << 10
	maxHeaderBytes = 16 << 20
	// minMemoryLimit is the smallest server.memory_limit: below it the Go
	// runtime alone would keep the gateway shedding.
	minMemoryLimit = 32 << 20
	// maxWeight keeps the sum of a model's target weights far from overflow.
	maxWeight = 1_000_000
)

// Validate checks c and returns Errors listing every problem, or nil. Load
// and Parse call it themselves (and their errors carry file positions); call
// it on a Config built in code, after ApplyDefaults.
//
// It checks each field's syntax (addresses, URLs, names, enums), that
// references resolve (targets and passthrough name existing providers), that
// names are unique, and that files named by the config (TLS pair, CA
// bundle) exist and parse. Relative file paths are relative to the working
// directory, as data_dir is.
func (c *Config) Validate() error {
	v := validator{}
	v.validate(c)
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs.sorted()
}

// validator collects problems with the positions the decoder recorded.
// Without a decoder (Validate on a Config built in code) pos is empty and
// errors carry only their path.
type validator struct {
	file    string
	pos     map[string]pos    // path → position, from the decoder
	bad     map[string]bool   // paths that failed to decode: no further checks there
	emptied map[string]string // path → text that expanded to ""
	errs    Errors
	dropped int
}

// parentPath strips the last key or index from path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// posOf returns the position of path, or of its nearest ancestor present in
// the file when the value itself is absent.
func (v *validator) posOf(path string) pos {
	for {
		if p, ok := v.pos[path]; ok {
			return p
		}
		if path == "" {
			return pos{}
		}
		path = parentPath(path)
	}
}

// where names a location for "first at ..." messages: LINE:COL when known,
// else the path.
func (v *validator) where(path string) string {
	if p := v.posOf(path); p.line > 0 {
		return fmt.Sprintf("%d:%d", p.line, p.col)
	}
	return path
}

// isBad reports whether path or one of its ancestors failed to decode; the
// decoder already said what is wrong there.
func (v *validator) isBad(path string) bool {
	for {
		if v.bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

func (v *validator) errf(path, format string, args ...any) {
	if v.isBad(path) {
		return
	}
	if len(v.errs) >= maxErrors {
		v.dropped++
		return
	}
	p := v.posOf(path)
	v.errs = append(v.errs, Error{File: v.file, Line: p.line, Col: p.col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// required reports a missing value; hint (may be "") says what is wanted.
// When the value was written but expanded to "", the message says so.
func (v *validator) required(path, hint string) {
	if raw, ok := v.emptied[path]; ok {
		v.errf(path, "required, but %q expanded to an empty string%s", raw, hint)
		return
	}
	v.errf(path, "required%s", hint)
}

func (v *validator) notNegative(path string, d Duration) {
	if d < 0 {
		v.errf(path, "must not be negative, got %s", d)
	}
}

func (v *validator) validate(c *Config) {
	v.server(&c.Server)
	v.admin(&c.Admin)
	if c.Admin.Listen != "" {
		v.adminListen(c)
	}
	v.adminExposure(c)
	v.metrics(&c.Metrics)
	v.storage(&c.Storage)
	v.auth(&c.Auth)
	v.log(&c.Log)
	if c.DataDir == "" {
		v.required("data_dir", "")
	} else if msg := dirProblem(c.DataDir); msg != "" {
		v.errf("data_dir", "%s", msg)
	}
	if c.Mock.Listen != "" {
		if msg := hostPortProblem(c.Mock.Listen); msg != "" {
			v.errf("mock.listen", "%s", msg)
		} else if c.Mock.Listen == c.Server.Listen {
			v.errf("mock.listen", "%q is also server.listen; the mock needs its own address", c.Mock.Listen)
		}
	}
	names, complete := v.providers(c.Providers)
	v.models(c.Models, names, complete)
	v.routing(c)
	v.passthrough(c, names, complete)
	v.limits(c)
	v.pricing(c.Pricing)
	v.guardrails(c)
	v.telemetry(&c.Telemetry, &c.Storage)
	v.tracing(&c.Tracing)
}

func (v *validator) server(s *Server) {
	if s.Listen == "" {
		v.required("server.listen", ": want host:port")
	} else if msg := hostPortProblem(s.Listen); msg != "" {
		v.errf("server.listen", "%s", msg)
	}
	v.tls(&s.TLS)
	if s.MaxRequestBody <= 0 {
		v.errf("server.max_request_body", "must be positive, got %d", s.MaxRequestBody)
	}
	switch {
	case s.MaxHeaderBytes < minHeaderBytes:
		v.errf("server.max_header_bytes", "%s is too small: at least %s", s.MaxHeaderBytes, ByteSize(minHeaderBytes))
	case s.MaxHeaderBytes > maxHeaderBytes:
		v.errf("server.max_header_bytes", "%s is too large: at most %s", s.MaxHeaderBytes, ByteSize(maxHeaderBytes))
	}
	v.notNegative("server.read_timeout", s.ReadTimeout)
	v.notNegative("server.write_timeout", s.WriteTimeout)
	v.notNegative("server.idle_timeout", s.IdleTimeout)
	v.notNegative("server.shutdown_grace", s.ShutdownGrace)
	v.notNegative("server.shutdown_delay", s.ShutdownDelay)
	v.notNegative("server.shed_latency", s.ShedLatency)
	for _, f := range []struct {
		path string
		n    int64
	}{
		{"server.max_in_flight", int64(s.MaxInFlight)},
		{"server.max_streams", int64(s.MaxStreams)},
		{"server.max_conns_per_client", int64(s.MaxConnsPerClient)},
		{"server.memory_limit", int64(s.MemoryLimit)},
	} {
		if f.n < 0 {
			v.errf(f.path, "must be 0 (off) or positive, got %d", f.n)
		}
	}
	if s.MemoryLimit > 0 && s.MemoryLimit < minMemoryLimit {
		v.errf("server.memory_limit", "%s is too small: at least %s, or 0 for no ceiling", s.MemoryLimit, ByteSize(minMemoryLimit))
	}
}

func (v *validator) tls(t *TLS) {
	if t.CertFile == "" && t.KeyFile == "" {
		return
	}
	ok := true
	for _, f := range []struct{ path, file, other string }{
		{"server.tls.cert_file", t.CertFile, "key_file"},
		{"server.tls.key_file", t.KeyFile, "cert_file"},
	} {
		if f.file == "" {
			v.required(f.path, " when "+f.other+" is set")
			ok = false
		} else if msg := fileProblem(f.file); msg != "" {
			v.errf(f.path, "%s", msg)
			ok = false
		}
	}
	if ok {
		if msg := keyPairProblem(t.CertFile, t.KeyFile); msg != "" {
			v.errf("server.tls", "%s", msg)
		}
	}
}

func (v *validator) admin(a *Admin) {
	if a.Token != "" && !printableASCII(a.Token.Reveal()) {
		v.errf("admin.token", "contains whitespace, control or non-ASCII characters")
	}
}

func (v *validator) log(l *Log) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	case "":
		v.required("log.level", ": want debug, info, warn or error")
	default:
		v.errf("log.level", "unknown level %q: want debug, info, warn or error", l.Level)
	}
	switch l.Format {
	case "text", "json":
	case "":
		v.required("log.format", ": want text or json")
	default:
		v.errf("log.format", "unknown format %q: want text or json", l.Format)
	}
}

// providers checks each provider and returns the index of each name. complete
// is false when some provider's name could not be decoded, so that references
// to providers are not reported as unknown because of an earlier problem.
func (v *validator) providers(ps []Provider) (names map[string]int, complete bool) {
	names = make(map[string]int, len(ps))
	complete = !v.isBad("providers")
	if len(ps) == 0 {
		v.errf("providers", "no providers configured: want at least one")
	}
	for i := range ps {
		p := &ps[i]
		base := fmt.Sprintf("providers[%d]", i)
		if v.isBad(base + ".name") {
			complete = false
		}
		switch first, dup := names[p.Name]; {
		case p.Name == "":
			v.required(base+".name", "")
		case dup:
			v.errf(base+".name", "duplicate provider name %q (first at %s)", p.Name, v.where(fmt.Sprintf("providers[%d].name", first)))
		default:
			// An invalid name is still registered, so that references
			// to it are not reported a second time as unknown.
			names[p.Name] = i
			if !validName(p.Name) {
				v.errf(base+".name", "invalid provider name %q: use letters, digits, \".\", \"_\" and \"-\"", p.Name)
			}
		}
		switch {
		case slices.Contains(Kinds, p.Kind):
		case p.Kind == "":
			v.required(base+".kind", ": want "+kindList)
		default:
			v.errf(base+".kind", "unknown kind %q: want %s", p.Kind, kindList)
		}
		switch {
		case p.BaseURL == "" && p.Kind != KindBedrock:
			v.required(base+".base_url", ": "+baseURLHint(p.Kind))
		case p.BaseURL != "":
			if msg := urlProblem(p.BaseURL, true); msg != "" {
				v.errf(base+".base_url", "%s", msg)
			}
		}
		v.kindFields(base, p)
		for j, k := range p.APIKeys {
			if !printableASCII(k.Key.Reveal()) {
				v.errf(fmt.Sprintf("%s.api_keys[%d]", base, j), "contains whitespace, control or non-ASCII characters")
			}
			if k.Weight != nil && (*k.Weight < 0 || *k.Weight > maxWeight) {
				v.errf(fmt.Sprintf("%s.api_keys[%d].weight", base, j), "must be between 0 and %d, got %d", maxWeight, *k.Weight)
			}
		}
		for j, h := range p.Headers.Allow {
			if !validHeaderName(h) {
				v.errf(fmt.Sprintf("%s.headers.allow[%d]", base, j), "invalid header name %q", h)
			}
		}
		for j, h := range p.Headers.Deny {
			if !validHeaderName(h) {
				v.errf(fmt.Sprintf("%s.headers.deny[%d]", base, j), "invalid header name %q", h)
			}
		}
		v.notNegative(base+".timeouts.connect", p.Timeouts.Connect)
		v.notNegative(base+".timeouts.first_byte", p.Timeouts.FirstByte)
		v.notNegative(base+".timeouts.idle", p.Timeouts.Idle)
		v.notNegative(base+".timeouts.total", p.Timeouts.Total)
		if p.CAFile != "" {
			if msg := caFileProblem(p.CAFile); msg != "" {
				v.errf(base+".ca_file", "%s", msg)
			}
		}
		if p.Proxy != "" {
			if msg := urlProblem(p.Proxy, false); msg != "" {
				v.errf(base+".proxy", "%s", msg)
			}
		}
		if p.MaxConns < 0 {
			v.errf(base+".max_conns", "must not be negative, got %d", p.MaxConns)
		}
	}
	return names, complete
}

func (v *validator) models(ms []Model, providers map[string]int, checkRefs bool) {
	first := make(map[string]int, len(ms))
	for i := range ms {
		m := &ms[i]
		base := fmt.Sprintf("models[%d]", i)
		switch j, dup := first[m.Name]; {
		case m.Name == "":
			v.required(base+".name", "")
		case !printableASCII(m.Name):
			v.errf(base+".name", "invalid model name %q: no spaces, control or non-ASCII characters", m.Name)
		case PatternProblem(m.Name) != "":
			v.errf(base+".name", "invalid model name %q: %s", m.Name, PatternProblem(m.Name))
		case dup:
			v.errf(base+".name", "duplicate model name %q (first at %s)", m.Name, v.where(fmt.Sprintf("models[%d].name", j)))
		default:
			first[m.Name] = i
		}
		if len(m.Targets) == 0 {
			v.errf(base+".targets", "no targets: want at least one")
			continue
		}
		_, pattern := ModelPattern(m.Name)
		positive, negative := false, false
		for j := range m.Targets {
			t := &m.Targets[j]
			tp := fmt.Sprintf("%s.targets[%d]", base, j)
			if t.Provider == "" {
				v.required(tp+".provider", ": the name of a provider")
			} else if _, ok := providers[t.Provider]; !ok && checkRefs {
				v.errf(tp+".provider", "unknown provider %q", t.Provider)
			}
			// Else it defaults to the missing name; a pattern's target
			// without a model forwards the requested name.
			if t.Model == "" && m.Name != "" && !pattern {
				v.required(tp+".model", "")
			}
			switch {
			case t.Weight < 0:
				negative = true
				v.errf(tp+".weight", "must not be negative, got %d", t.Weight)
			case t.Weight > maxWeight:
				positive = true
				v.errf(tp+".weight", "must be at most %d, got %d", maxWeight, t.Weight)
			case t.Weight > 0:
				positive = true
			}
		}
		if !positive && !negative {
			v.errf(base+".targets", "every target has weight 0: at least one needs a positive weight")
		}
	}
}

func (v *validator) passthrough(c *Config, providers map[string]int, checkRefs bool) {
	name := c.Passthrough.Provider
	if name == "" || !checkRefs {
		return
	}
	i, ok := providers[name]
	switch {
	case !ok:
		v.errf("passthrough.provider", "unknown provider %q", name)
	case c.Providers[i].Kind == KindAnthropic:
		v.errf("passthrough.provider", "provider %q is of kind %s: passthrough needs a provider of kind openai", name, c.Providers[i].Kind)
	}
}

package bench

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Baseline is the name of the target every other target is compared with: the mock,
// addressed directly.
const Baseline = "direct"

// DefaultModel is the model every target is asked for unless Target.Model says otherwise.
const DefaultModel = "gpt-4o-mini"

// Defaults of Config's zero fields.
const (
	DefaultStep          = 10 * time.Second
	DefaultWarmup        = 2 * time.Second
	DefaultSLO           = 50 * time.Millisecond // the seed benchmark's threshold
	DefaultMaxErrorRate  = 0.001                 // the knee allows under 0.1 % errors
	DefaultStopErrorRate = 0.5
	DefaultTimeout       = 10 * time.Second
	DefaultMaxConns      = 4096
)

// SeedRates returns the seed benchmark's steps (`--rates seed`).
func SeedRates() []int { return []int{500, 1000, 2000, 5000, 8000, 10000, 12000} }

// Automatic rate ladder (Config.Rates empty): double from autoStart up to autoMax,
// stopping after the first step at which the baseline misses the knee criteria.
const (
	autoStart = 500
	autoMax   = 64000
)

// Target is one endpoint under load.
type Target struct {
	// Name labels the target in results; Baseline marks the mock addressed directly.
	Name string
	// URL is the target's root, such as http://127.0.0.1:9000; requests go to
	// URL + /v1/chat/completions.
	URL string
	// Model is the model requested; empty means DefaultModel.
	Model string
	// Headers are sent with every request to this target, after the profile's.
	Headers []Header
	// PIDs are the processes whose CPU time and memory are charged to this target;
	// none means cpu_us_per_req and peak_rss_mb are null.
	PIDs []int
}

// Header is one request header.
type Header struct{ Name, Value string }

// Config is what Run measures and how. The zero values of the optional fields select
// the defaults above.
type Config struct {
	// Targets are measured side by side; exactly one must be named Baseline.
	Targets []Target
	// Rates are the steps in requests per second, in the order given. Empty means the
	// automatic ladder: 500, 1000, 2000, ... until the baseline misses the knee.
	Rates []int
	// Step is the measured window of each target at each step (zero: DefaultStep).
	Step time.Duration
	// Warmup is the discarded load before each window: zero means DefaultWarmup, a
	// negative value none.
	Warmup time.Duration
	// SLO is the p99 latency the knee allows.
	SLO time.Duration
	// MaxErrorRate is the error rate the knee allows (exclusive).
	MaxErrorRate float64
	// StopErrorRate: a target whose error rate exceeds it at one step is not run at
	// higher steps.
	StopErrorRate float64
	// Closed turns the load into a closed loop: each value of Rates is then a number of
	// requests (streams) kept open at once, each worker sending its next request as soon
	// as the last one ends, and latency counts from the actual send. Rates must be set.
	Closed bool
	// Stream asks for streamed replies and measures time to first token and the gaps
	// between tokens.
	Stream bool
	// Profile names the backend profile: throughput (default), fast, slow, payload or
	// chaos.
	Profile string
	// Timeout bounds each request (connect, each read and write), and the time a step
	// waits for its stragglers.
	Timeout time.Duration
	// MaxConns bounds the connections (and workers) of one target at one step.
	MaxConns int
	// Clock is the time source; nil means the wall clock.
	Clock Clock
	// Progress, when set, is told about each step as it runs.
	Progress func(Event)
	// Logger gets debug lines; nil discards them.
	Logger *slog.Logger
	// SluiceVersion is recorded in the results' machine section.
	SluiceVersion string
	// Args is the command line, recorded in the results' settings.
	Args []string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ErrConfig wraps every configuration problem Run reports.
var ErrConfig = errors.New("bench: bad configuration")

// withDefaults validates c and returns a copy with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	seen := map[string]bool{}
	base := 0
	c.Targets = append([]Target(nil), c.Targets...)
	for i := range c.Targets {
		t := &c.Targets[i]
		if !nameRE.MatchString(t.Name) {
			bad("target %q: name must be 1-64 letters, digits, '.', '_' or '-'", t.Name)
		}
		if seen[t.Name] {
			bad("target %q given twice", t.Name)
		}
		seen[t.Name] = true
		if t.Name == Baseline {
			base++
		}
		if _, _, _, err := splitURL(t.URL); err != nil {
			bad("target %q: %v", t.Name, err)
		}
		if t.Model == "" {
			t.Model = DefaultModel
		}
		for _, h := range t.Headers {
			if h.Name == "" || strings.ContainsAny(h.Name, " :\r\n") || strings.ContainsAny(h.Value, "\r\n") {
				bad("target %q: bad header %q", t.Name, h.Name)
			}
		}
		for _, p := range t.PIDs {
			if p <= 0 {
				bad("target %q: bad pid %d", t.Name, p)
			}
		}
	}
	if c.Closed && len(c.Rates) == 0 {
		bad("a closed loop needs its concurrency levels in Rates")
	}
	if base != 1 {
		bad("exactly one target must be named %q (the baseline), got %d", Baseline, base)
	}
	for _, r := range c.Rates {
		if r <= 0 || r > 1_000_000 {
			bad("rate %d out of range 1-1000000", r)
		}
	}
	if c.Step == 0 {
		c.Step = DefaultStep
	}
	if c.Step < 100*time.Millisecond {
		bad("step %v is shorter than 100ms", c.Step)
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Warmup < 0 {
		c.Warmup = 0 // explicitly none
	}
	if c.SLO == 0 {
		c.SLO = DefaultSLO
	}
	if c.MaxErrorRate == 0 {
		c.MaxErrorRate = DefaultMaxErrorRate
	}
	if c.StopErrorRate == 0 {
		c.StopErrorRate = DefaultStopErrorRate
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	switch {
	case c.SLO < 0:
		bad("negative SLO %v", c.SLO)
	case c.MaxErrorRate < 0 || c.MaxErrorRate > 1:
		bad("max error rate %v out of range 0-1", c.MaxErrorRate)
	case c.StopErrorRate < 0 || c.StopErrorRate > 1:
		bad("stop error rate %v out of range 0-1", c.StopErrorRate)
	case c.Timeout < 0:
		bad("negative timeout %v", c.Timeout)
	case c.MaxConns < 1:
		bad("max conns %d below 1", c.MaxConns)
	}
	if c.Profile == "" {
		c.Profile = "throughput"
	}
	if _, err := profileVariants(c.Profile); err != nil {
		errs = append(errs, err)
	}
	if c.Clock == nil {
		c.Clock = NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return c, nil
}

// splitURL checks a target root and returns its scheme's TLS flag, the host:port to
// dial, and the full request URL.
func splitURL(root string) (tls bool, addr, full string, err error) {
	u, err := url.Parse(root)
	if err != nil {
		return false, "", "", fmt.Errorf("bad URL %q (want a root such as http://127.0.0.1:9000): %w", root, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return false, "", "", fmt.Errorf("URL %q: want a root such as http://127.0.0.1:9000 (http or https, with a host)", root)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return false, "", "", fmt.Errorf("URL %q: want a root without query or fragment", root)
	}
	tls = u.Scheme == "https"
	addr = u.Host
	if u.Port() == "" {
		if tls {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	return tls, addr, strings.TrimRight(root, "/") + "/v1/chat/completions", nil
}

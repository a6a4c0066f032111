package bench

import (
	"cmp"
	"slices"
	"time"
)

// SchemaVersion is the version of the results.json layout.
const SchemaVersion = 1

// Results is what a run measured: results.json. The contract fixes version, machine,
// steps and knee; settings and warnings are added beside them.
type Results struct {
	Version  int      `json:"version"`
	Machine  Machine  `json:"machine"`
	Settings Settings `json:"settings"`
	Steps    []Step   `json:"steps"`
	Knee     Knee     `json:"knee"`
	Warnings []string `json:"warnings"`
}

// Machine describes where the run happened.
type Machine struct {
	Hostname      string     `json:"hostname"`
	OS            string     `json:"os"`
	Arch          string     `json:"arch"`
	Kernel        string     `json:"kernel,omitempty"`
	CPUModel      string     `json:"cpu_model,omitempty"`
	CPUs          int        `json:"cpus"`
	GOMAXPROCS    int        `json:"gomaxprocs"`
	MemTotalMB    float64    `json:"mem_total_mb,omitempty"`
	GoVersion     string     `json:"go_version"`
	SluiceVersion string     `json:"sluice_version,omitempty"`
	LoadAvgStart  [3]float64 `json:"loadavg_start"`
	LoadAvgEnd    [3]float64 `json:"loadavg_end"`
	Started       time.Time  `json:"started"`
	Finished      time.Time  `json:"finished"`
}

// Settings records how the run was configured. Header values are never recorded
// (they may hold keys), only their names.
type Settings struct {
	Args          []string `json:"args,omitempty"`
	Rates         []int    `json:"rates"`
	AutoRates     bool     `json:"auto_rates"`
	StepS         float64  `json:"step_s"`
	WarmupS       float64  `json:"warmup_s"`
	SLOMs         float64  `json:"slo_ms"`
	MaxErrorRate  float64  `json:"max_error_rate"`
	StopErrorRate float64  `json:"stop_error_rate"`
	TimeoutS      float64  `json:"timeout_s"`
	MaxConns      int      `json:"max_conns"`
	Stream        bool     `json:"stream"`
	Profile       string   `json:"profile"`
	// Closed marks a closed-loop run: each step's rate is then the number of requests
	// (streams) kept open at once.
	Closed  bool           `json:"closed,omitempty"`
	Targets []TargetRecord `json:"targets"`
}

// TargetRecord is a target as recorded in the settings.
type TargetRecord struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Model       string   `json:"model"`
	HeaderNames []string `json:"header_names,omitempty"`
	PIDs        []int    `json:"pids,omitempty"`
}

// Step is one target measured at one rate (and profile variant).
type Step struct {
	Target  string `json:"target"`
	Variant string `json:"variant,omitempty"`
	Rate    int    `json:"rate"`
	// WindowS is the measured window in seconds.
	WindowS float64 `json:"window_s"`
	// Scheduled: requests scheduled in the window (the measured population); Sent: of
	// all requests, those sent during the window; OK: measured requests that succeeded.
	Scheduled   int64   `json:"scheduled"`
	Sent        int64   `json:"sent"`
	OK          int64   `json:"ok"`
	AchievedRPS float64 `json:"achieved_rps"`
	// Latency percentiles of the successful measured requests, from scheduled send time
	// to the last byte (for streams: to the end of the stream).
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	// Errors of the measured requests, by kind (see the Kind constants).
	Errors       int64            `json:"errors"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	ErrorRate    float64          `json:"error_rate"`
	// Overhead against the baseline at the same rate and variant; null for the
	// baseline itself or when it has no such step.
	OverheadP50Ms *float64 `json:"overhead_p50_ms"`
	OverheadP99Ms *float64 `json:"overhead_p99_ms"`
	// CPU time of the target's processes over the window per request sent, and the
	// largest resident set seen (MiB); null without PIDs.
	CPUUsPerReq *float64 `json:"cpu_us_per_req"`
	PeakRSSMB   *float64 `json:"peak_rss_mb"`
	// The generator's own health: its CPU per request and how late it sent requests
	// compared with their schedule.
	GenCPUUsPerReq float64 `json:"gen_cpu_us_per_req"`
	SendLagP50Ms   float64 `json:"send_lag_p50_ms"`
	SendLagP99Ms   float64 `json:"send_lag_p99_ms"`
	SendLagMaxMs   float64 `json:"send_lag_max_ms"`
	// Conns is the number of workers (each with at most one connection) the step used.
	Conns int `json:"conns"`
	// Stream holds the streaming metrics in stream mode.
	Stream *StreamStats `json:"stream,omitempty"`
}

// StreamStats are the streaming metrics of a step.
type StreamStats struct {
	// Time to first token (first non-empty content delta), from scheduled send time.
	TTFTP50Ms float64 `json:"ttft_p50_ms"`
	TTFTP90Ms float64 `json:"ttft_p90_ms"`
	TTFTP99Ms float64 `json:"ttft_p99_ms"`
	TTFTMaxMs float64 `json:"ttft_max_ms"`
	// Gaps between consecutive content tokens of a stream.
	ITLP50Ms float64 `json:"itl_p50_ms"`
	ITLP90Ms float64 `json:"itl_p90_ms"`
	ITLP99Ms float64 `json:"itl_p99_ms"`
	ITLMaxMs float64 `json:"itl_max_ms"`
	// Tokens counts content tokens of successful streams; TokensPerS is tokens per
	// second of stream time (scheduled send to end), summed over streams.
	Tokens     int64   `json:"tokens"`
	TokensPerS float64 `json:"tokens_per_s"`
	// Overhead of TTFT and of the inter-token gap against the baseline.
	OverheadTTFTP50Ms *float64 `json:"overhead_ttft_p50_ms"`
	OverheadTTFTP99Ms *float64 `json:"overhead_ttft_p99_ms"`
	OverheadITLP99Ms  *float64 `json:"overhead_itl_p99_ms"`
}

// Knee is, per target (and variant, as "target@variant"), the highest rate of the
// unbroken run of passing steps from the lowest rate up; null when even the lowest
// step failed. A step passes when its p99 is at most SLOMs plus BackendMs (the latency
// the profile asks of the mock, so that the SLO bounds what the path adds), its error
// rate is below MaxErrorRate and the generator sent at least MinAchieved of the rate.
type Knee struct {
	SLOMs        float64         `json:"slo_ms"`
	BackendMs    float64         `json:"backend_ms"`
	MaxErrorRate float64         `json:"max_error_rate"`
	MinAchieved  float64         `json:"min_achieved"`
	Targets      map[string]*int `json:"targets"`
}

// minAchieved is the fraction of the scheduled rate a step must send to count as
// measured at that rate.
const minAchieved = 0.9

// Error kinds.
const (
	KindHTTP4xx          = "http_4xx"
	KindHTTP5xx          = "http_5xx"
	KindHTTPOther        = "http_other" // 1xx or 3xx
	KindTimeout          = "timeout"
	KindReset            = "reset"   // connection closed or reset mid-request
	KindRefused          = "refused" // connection refused
	KindStreamIncomplete = "stream_incomplete"
	KindStreamError      = "stream_error" // an error event inside a 2xx stream
	KindNotSent          = "not_sent"     // the generator could not send it in time
	KindOther            = "other"
)

// seriesKey names the series a step belongs to: its target, and its variant if any.
func seriesKey(target, variant string) string {
	if variant == "" {
		return target
	}
	return target + "@" + variant
}

// passes reports whether s meets the knee criteria.
func (k *Knee) passes(s *Step) bool {
	return s.OK > 0 && s.P99Ms <= k.SLOMs+k.BackendMs && s.ErrorRate < k.MaxErrorRate &&
		s.AchievedRPS >= k.MinAchieved*float64(s.Rate)
}

// computeKnee fills k.Targets from steps.
func computeKnee(k *Knee, steps []Step) {
	k.Targets = map[string]*int{}
	bySeries := map[string][]*Step{}
	for i := range steps {
		key := seriesKey(steps[i].Target, steps[i].Variant)
		bySeries[key] = append(bySeries[key], &steps[i])
	}
	for key, ss := range bySeries {
		slices.SortStableFunc(ss, func(a, b *Step) int { return cmp.Compare(a.Rate, b.Rate) })
		var knee *int
		for _, s := range ss {
			if !k.passes(s) {
				break
			}
			r := s.Rate
			knee = &r
		}
		k.Targets[key] = knee
	}
}

// computeOverhead sets the overhead fields of every non-baseline step that has a
// baseline step at the same rate and variant.
func computeOverhead(steps []Step) {
	type key struct {
		rate    int
		variant string
	}
	base := map[key]*Step{}
	for i := range steps {
		if s := &steps[i]; s.Target == Baseline {
			base[key{s.Rate, s.Variant}] = s
		}
	}
	for i := range steps {
		s := &steps[i]
		s.OverheadP50Ms, s.OverheadP99Ms = nil, nil
		if s.Stream != nil {
			s.Stream.OverheadTTFTP50Ms, s.Stream.OverheadTTFTP99Ms, s.Stream.OverheadITLP99Ms = nil, nil, nil
		}
		b := base[key{s.Rate, s.Variant}]
		if s.Target == Baseline || b == nil || b.OK == 0 || s.OK == 0 {
			continue
		}
		s.OverheadP50Ms = diff(s.P50Ms, b.P50Ms)
		s.OverheadP99Ms = diff(s.P99Ms, b.P99Ms)
		if s.Stream != nil && b.Stream != nil {
			s.Stream.OverheadTTFTP50Ms = diff(s.Stream.TTFTP50Ms, b.Stream.TTFTP50Ms)
			s.Stream.OverheadTTFTP99Ms = diff(s.Stream.TTFTP99Ms, b.Stream.TTFTP99Ms)
			s.Stream.OverheadITLP99Ms = diff(s.Stream.ITLP99Ms, b.Stream.ITLP99Ms)
		}
	}
}

func diff(a, b float64) *float64 {
	d := roundMs(a - b)
	return &d
}

// ms converts a duration to milliseconds rounded to the microsecond.
func ms(d time.Duration) float64 { return roundMs(float64(d) / float64(time.Millisecond)) }

// roundMs rounds milliseconds to three decimals (a microsecond).
func roundMs(v float64) float64 {
	if v < 0 {
		return -roundMs(-v)
	}
	return float64(int64(v*1000+0.5)) / 1000
}

package bench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Run measures cfg's targets through the rate ladder and returns the results. On a
// cancelled context it returns what it measured so far together with the context's
// error; a configuration problem returns an error wrapping ErrConfig and no results.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil { // ours to close
		if cl, ok := c.Clock.(interface{ Close() error }); ok {
			defer func() { _ = cl.Close() }()
		}
	}
	variants, _ := profileVariants(c.Profile)
	res := &Results{
		Version:  SchemaVersion,
		Machine:  machineInfo(c.SluiceVersion),
		Settings: settingsOf(&c),
		Knee:     Knee{SLOMs: ms(c.SLO), MaxErrorRate: c.MaxErrorRate, MinAchieved: minAchieved},
		Steps:    []Step{},
		Warnings: []string{},
	}
	res.Knee.BackendMs = ms(time.Duration(variants[0].expect * float64(time.Second)))
	if c.Closed {
		res.Knee.MinAchieved = 0 // a closed loop sends what the target lets it
	}
	if l, n := res.Machine.LoadAvgStart[0], res.Machine.CPUs; n > 0 && l >= 0.5*float64(n) {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the machine was busy before the run (load average %.2f on %d CPUs): other processes competed for the CPU, so latency tails and knees reflect them too; CPU per request is the steadier figure", l, n))
	}
	rates := c.Rates
	auto := len(rates) == 0
	if auto {
		for r := autoStart; r <= autoMax; r *= 2 {
			rates = append(rates, r)
		}
	}
	total := 0
	if !auto {
		total = len(rates) * len(variants) * len(c.Targets)
	}
	stopped := map[string]bool{}
	index, group := 0, 0
	var runErr error
ladder:
	for _, rate := range rates {
		baseFailed := true
		for vi := range variants {
			v := &variants[vi]
			order := slices.Clone(c.Targets)
			if group%2 == 1 {
				slices.Reverse(order)
			}
			group++
			for ti := range order {
				t := &order[ti]
				key := seriesKey(t.Name, v.name)
				if stopped[key] {
					continue
				}
				index++
				emit := func(ev Event) {
					if c.Progress != nil {
						ev.Index, ev.Total = index, total
						c.Progress(ev)
					}
				}
				emit(Event{Kind: EventStepStart, Target: t.Name, Variant: v.name, Rate: rate, Window: c.Step})
				c.Logger.Debug("bench step", "target", t.Name, "variant", v.name, "rate", rate)
				st, err := runStep(ctx, &c, t, v, rate, emit)
				if ctx.Err() != nil {
					runErr = ctx.Err()
					break ladder // a step cut short is not a measurement
				}
				if err != nil {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s at %d/s: %v", key, rate, err))
				}
				res.Steps = append(res.Steps, st)
				computeOverhead(res.Steps) // so that progress can show it
				emit(Event{Kind: EventStepDone, Target: t.Name, Variant: v.name, Rate: rate, Step: &res.Steps[len(res.Steps)-1]})
				res.Warnings = append(res.Warnings, stepWarnings(&c, &st)...)
				if t.Name == Baseline && res.Knee.passes(&st) {
					baseFailed = false
				}
				if st.ErrorRate > c.StopErrorRate {
					stopped[key] = true
					reason := fmt.Sprintf("%s: error rate %.1f%% at %d/s is above %.1f%%; not run at higher rates",
						key, st.ErrorRate*100, rate, c.StopErrorRate*100)
					res.Warnings = append(res.Warnings, reason)
					emit(Event{Kind: EventSkip, Target: t.Name, Variant: v.name, Rate: rate, Reason: reason})
				}
			}
		}
		if auto && baseFailed {
			break
		}
	}
	if auto {
		res.Settings.Rates = ratesRun(res.Steps)
	}
	computeOverhead(res.Steps)
	computeKnee(&res.Knee, res.Steps)
	res.Machine.LoadAvgEnd = loadAvg()
	res.Machine.Finished = time.Now().UTC().Truncate(time.Second)
	return res, runErr
}

// stepWarnings flags a step whose numbers describe the generator rather than the
// target.
func stepWarnings(c *Config, s *Step) []string {
	key := seriesKey(s.Target, s.Variant)
	var w []string
	if n := s.ErrorsByKind[KindNotSent]; n > 0 {
		w = append(w, fmt.Sprintf("%s at %d/s: %d requests could not be sent before the deadline (all %d connections busy)",
			key, s.Rate, n, s.Conns))
	}
	if c.Closed {
		return w
	}
	if s.AchievedRPS < minAchieved*float64(s.Rate) {
		w = append(w, fmt.Sprintf("%s at %d/s: the generator fell behind its schedule (sent %.0f/s); this step does not measure the target at its rate",
			key, s.Rate, s.AchievedRPS))
	} else if lag := s.SendLagP99Ms; lag > 1 && lag > 0.2*s.P99Ms {
		w = append(w, fmt.Sprintf("%s at %d/s: the generator sent late (p99 lag %.2f ms against p99 latency %.2f ms); the machine may be saturated",
			key, s.Rate, lag, s.P99Ms))
	}
	return w
}

// ratesRun returns the distinct rates of steps, in order.
func ratesRun(steps []Step) []int {
	var rates []int
	for _, s := range steps {
		if !slices.Contains(rates, s.Rate) {
			rates = append(rates, s.Rate)
		}
	}
	return rates
}

// settingsOf records c without secrets.
func settingsOf(c *Config) Settings {
	s := Settings{
		Args: c.Args, Rates: c.Rates, AutoRates: len(c.Rates) == 0,
		StepS: c.Step.Seconds(), WarmupS: c.Warmup.Seconds(), SLOMs: ms(c.SLO),
		MaxErrorRate: c.MaxErrorRate, StopErrorRate: c.StopErrorRate, TimeoutS: c.Timeout.Seconds(),
		MaxConns: c.MaxConns, Stream: c.Stream, Profile: c.Profile, Closed: c.Closed,
	}
	for _, t := range c.Targets {
		r := TargetRecord{Name: t.Name, URL: t.URL, Model: t.Model, PIDs: t.PIDs}
		for _, h := range t.Headers {
			r.HeaderNames = append(r.HeaderNames, h.Name)
		}
		s.Targets = append(s.Targets, r)
	}
	return s
}

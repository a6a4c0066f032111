package bench

import "time"

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	EventStepStart EventKind = iota // a target starts a step
	EventTick                       // twice a second while it runs
	EventStepDone                   // the step is measured; Step is set
	EventSkip                       // a target is left out of the higher steps; Reason is set
)

// Phases of a step, in Event.Phase.
const (
	PhaseWarmup  = "warmup"
	PhaseMeasure = "measure"
	PhaseDrain   = "drain"
)

// Event is a progress report from Run to Config.Progress, which is called from one
// goroutine at a time.
type Event struct {
	Kind EventKind
	// Index counts the target-steps of the run from 1; Total is their number, 0 with
	// automatic rates (the ladder's length is not known in advance).
	Index, Total int
	Target       string
	Variant      string
	Rate         int
	// Phase, Elapsed (into the measured window), Window, Sent (in the window),
	// AchievedRPS, P99 (so far) and Errors (so far) describe a running step.
	Phase       string
	Elapsed     time.Duration
	Window      time.Duration
	Sent        int64
	AchievedRPS float64
	P99         time.Duration
	Errors      int64
	// Step is the measured step (EventStepDone).
	Step *Step
	// Reason says why a target is skipped (EventSkip).
	Reason string
}

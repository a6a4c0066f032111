package route

import "strconv"

// Retry is a model's retry policy: how often a target is tried again, how
// long to wait in between, and which outcomes trigger another try.
type Retry struct {
	// Attempts is how many times one target is retried after its first
	// attempt failed with a trigger. 0: never (the model's other targets
	// and its fallbacks are still tried).
	Attempts int
	// Backoff sets the waits between retries of a target.
	Backoff Backoff
	// On is what triggers another try. Zero: nothing does.
	On Triggers
}

// Failure is why an attempt got no reply at all, as far as triggers care.
type Failure int8

const (
	// FailConnect: could not connect, TLS failed, the connection broke
	// before a reply, or the reply was not HTTP (the trigger "connect").
	FailConnect Failure = iota
	// FailTimeout: no reply headers within the first-byte timeout (the
	// trigger "timeout").
	FailTimeout
	// FailShed: Sluice's own connection limit refused the attempt; another
	// try would hit it too, so no trigger covers it.
	FailShed
)

// Triggers is the set of attempt outcomes that make a request try again:
// the same target (within Retry.Attempts), then the next target, then the
// fallbacks. Build it with NewTriggers.
type Triggers struct {
	connect, timeout, s429, s4xx, s5xx bool
	codes                              map[int]bool
}

// NewTriggers reads a retry.on list: "connect", "timeout", "429", "4xx",
// "5xx" and status codes such as "408". Config validation has refused
// anything else; an unknown entry is ignored.
func NewTriggers(on []string) Triggers {
	var t Triggers
	for _, s := range on {
		switch s {
		case "connect":
			t.connect = true
		case "timeout":
			t.timeout = true
		case "429":
			t.s429 = true
		case "4xx":
			t.s4xx = true
		case "5xx":
			t.s5xx = true
		default:
			if n, err := strconv.Atoi(s); err == nil {
				if t.codes == nil {
					t.codes = map[int]bool{}
				}
				t.codes[n] = true
			}
		}
	}
	return t
}

// Status reports whether an upstream reply with this status triggers
// another try.
func (t *Triggers) Status(code int) bool {
	switch {
	case code == 429 && t.s429, code >= 500 && t.s5xx, code >= 400 && code < 500 && t.s4xx:
		return true
	}
	return t.codes != nil && t.codes[code]
}

// NoReply reports whether an attempt that got no reply for reason f
// triggers another try.
func (t *Triggers) NoReply(f Failure) bool {
	switch f {
	case FailTimeout:
		return t.timeout
	case FailShed:
		return false
	}
	return t.connect
}

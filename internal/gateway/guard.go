package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/guard"
	"github.com/sluice-gw/sluice/internal/provider"
)

// guardState is the exchange's guardrails (stage 6, and the output
// scanner of a relayed stream).
type guardState struct {
	gpol      *guard.Policy   // the request's policy; nil: none
	gbuf      []byte          // redacted body
	verdicts  []guard.Verdict // every verdict, input and output
	gs        *guard.Stream   // output scanner of a relayed stream
	gsCounted bool            // the scanner's verdicts were collected
}

func (s *guardState) reset() {
	s.gpol = nil
	s.gbuf, s.verdicts = reuse(s.gbuf), s.verdicts[:0]
	if s.gs != nil {
		s.gs.Release()
		s.gs = nil
	}
	s.gsCounted = false
}

// guards selects the guardrail policy of each request: the model's sets,
// or, for a key that names sets of its own, those sets plus the model's
// sets that keys may not override (config.GuardrailSet.Overridable).
// Policies are compiled once per combination of sets and cached.
type guards struct {
	eng         *guard.Engine
	overridable map[string]bool
	defaults    []string // sets of models that name none (and provider/model names)

	mu    sync.RWMutex
	cache map[string]*guard.Policy // joined set names → policy; nil: no rules
	log   *slog.Logger
}

// maxGuardPolicies bounds the cache of set combinations keys can ask for.
const maxGuardPolicies = 1024

func newGuards(c *config.Guardrails, log *slog.Logger) (*guards, error) {
	if len(c.Sets) == 0 {
		return nil, nil
	}
	sets := make([]guard.Set, 0, len(c.Sets))
	gs := &guards{overridable: map[string]bool{}, cache: map[string]*guard.Policy{}, log: log}
	for _, s := range c.Sets {
		gs.overridable[s.Name] = s.Overridable
		set := guard.Set{Name: s.Name}
		for _, r := range s.Rules {
			set.Rules = append(set.Rules, guardRule(&r))
		}
		sets = append(sets, set)
	}
	eng, err := guard.New(sets, guard.Options{ScanLimit: c.ScanLimit.Int()})
	if err != nil {
		return nil, fmt.Errorf("gateway: guardrails: %w", err)
	}
	gs.eng = eng
	gs.defaults = c.Default
	return gs, nil
}

func guardRule(r *config.GuardrailRule) guard.Rule {
	out := guard.Rule{Name: r.Name, Kind: r.Kind, Pattern: r.Pattern, MaxLen: r.MaxLen, Words: r.Words, Limit: r.Limit}
	if r.WholeWords != nil {
		out.WholeWords = *r.WholeWords
	}
	switch r.Action {
	case config.GuardRedact:
		out.Action = guard.Redact
	case config.GuardFlag:
		out.Action = guard.Flag
	default:
		out.Action = guard.Block
	}
	switch r.Scope {
	case config.GuardInput:
		out.Scope = guard.Input
	case config.GuardOutput:
		out.Scope = guard.Output
	default:
		out.Scope = guard.Input | guard.Output
	}
	return out
}

// policy returns the compiled policy of the named sets; nil when they hold
// no rules.
func (gs *guards) policy(names []string) (*guard.Policy, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var buf [256]byte
	key := buf[:0]
	for i, n := range names {
		if i > 0 {
			key = append(key, ',')
		}
		key = append(key, n...)
	}
	gs.mu.RLock()
	p, ok := gs.cache[string(key)]
	gs.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := gs.eng.Policy(names...)
	if err != nil {
		return nil, err
	}
	gs.mu.Lock()
	if len(gs.cache) < maxGuardPolicies {
		gs.cache[string(key)] = p
	}
	gs.mu.Unlock()
	return p, nil
}

// providerSets returns the sets for a "provider/model" name, which has no
// model entry: guardrails.default when set, else every set of the models
// that have a target at that provider, so that naming the provider
// directly is no way around a model's guardrails.
func (gs *guards) providerSets(cfg *config.Config, provider string) []string {
	if len(gs.defaults) > 0 {
		return gs.defaults
	}
	var out []string
	for i := range cfg.Models {
		m := &cfg.Models[i]
		for _, t := range m.Targets {
			if t.Provider == provider {
				for _, n := range m.Guardrails {
					if !contains(out, n) {
						out = append(out, n)
					}
				}
				break
			}
		}
	}
	return out
}

// modelSets returns the sets a model applies when the key names none.
func (gs *guards) modelSets(m *config.Model) []string {
	if m != nil && len(m.Guardrails) > 0 {
		return m.Guardrails
	}
	return gs.defaults
}

// forRequest picks the policy of one request: the model's, unless the key
// names sets of its own.
func (x *exchange) guardPolicy(m *model) (*guard.Policy, *HTTPError) {
	gs := x.s.guards
	if x.pol == nil || len(x.pol.Guardrails) == 0 {
		if gs == nil {
			return nil, nil
		}
		return m.guard, nil
	}
	if gs == nil {
		// The key asks for guardrails and there are none: fail closed.
		return nil, &HTTPError{Status: 500, Code: CodeInternal,
			Msg: "this key names guardrail sets (" + strings.Join(x.pol.Guardrails, ", ") +
				") but this gateway has none configured; ask the operator to fix the key's guardrails"}
	}
	// The model's sets that keys may not override come first: when two
	// sets hold a rule of the same name, the first one's rule is kept, so
	// a key's set can never weaken a mandatory rule by reusing its name.
	var arr [8]string
	names := arr[:0]
	for _, n := range m.guardSets {
		if !gs.overridable[n] {
			names = append(names, n)
		}
	}
	for _, n := range x.pol.Guardrails {
		if !contains(names, n) {
			names = append(names, n)
		}
	}
	p, err := gs.policy(names)
	if err != nil {
		gs.log.LogAttrs(context.Background(), slog.LevelWarn, "guardrail sets of a key are not configured",
			slog.String("key_id", x.pol.ID), slog.String("error", err.Error()))
		return nil, &HTTPError{Status: 500, Code: CodeInternal, Err: err,
			Msg: "this key names guardrail sets that are not configured on this gateway (" + strings.Join(x.pol.Guardrails, ", ") +
				"); ask the operator to fix the key's guardrails"}
	}
	return p, nil
}

// violatedRule names the rule of a guard violation.
func violatedRule(err error) string {
	var ve *guard.Violation
	if errors.As(err, &ve) {
		return ve.Rule
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkInput is stage 6: the request's text against the input rules. It
// returns the body to send upstream (redacted, or body itself).
func (x *exchange) checkInput(body []byte) ([]byte, *HTTPError) {
	out, v, err := x.gpol.CheckRequest(x.format, x.op, body, x.gbuf[:0], x.verdicts[:0])
	x.verdicts = v
	x.countVerdicts(0)
	if err != nil {
		return nil, guardError(err, "request")
	}
	x.keepGuardBuf(body, out)
	return out, nil
}

// keepGuardBuf keeps out, when a check wrote it into a buffer of its own
// (a redaction), as the exchange's buffer for the next check.
func (x *exchange) keepGuardBuf(body, out []byte) {
	if len(out) > 0 && (len(body) == 0 || &out[0] != &body[0]) {
		x.gbuf = out
	}
}

// checkOutput applies the output rules to a buffered reply.
func (x *exchange) checkOutput(body []byte) ([]byte, *HTTPError) {
	n := len(x.verdicts)
	out, v, err := x.gpol.CheckResponse(x.format, x.op, body, x.gbuf[:0], x.verdicts)
	x.verdicts = v
	x.countVerdicts(n)
	if err == nil {
		x.keepGuardBuf(body, out)
		return out, nil
	}
	var ve *guard.Violation // escapes to the heap: only on the error path
	if !errors.As(err, &ve) {
		// Not a JSON object in the route's format: the upstream's fault.
		name := ""
		if x.up != nil {
			name = x.up.Name()
		}
		x.g.met.UpstreamError(name, provider.KindMalformed)
		return nil, &HTTPError{Status: 502, Code: CodeUpstreamUnreachable, Err: err,
			Msg: "provider " + name + " sent a reply that is not valid JSON in the route's format; guardrails cannot check it, so it was withheld"}
	}
	return nil, guardError(err, "reply")
}

// countVerdicts counts the verdicts from index from on in the metrics.
func (x *exchange) countVerdicts(from int) {
	for _, v := range x.verdicts[from:] {
		x.g.met.GuardrailVerdict(v.Rule, v.Action.String(), v.Scope.String(), v.Count)
	}
}

// guardError maps a guard error to the contract's answer. Messages name the
// rule, never the text that matched.
func guardError(err error, what string) *HTTPError {
	var ve *guard.Violation
	var le *guard.LimitError
	switch {
	case errors.As(err, &ve):
		if what == "request" {
			return &HTTPError{Status: 400, Code: CodeGuardrailViolation, Err: err,
				Msg: "the request was blocked by guardrail rule " + quote(ve.Rule) + "; remove the matching content and retry"}
		}
		return &HTTPError{Status: 400, Code: CodeGuardrailViolation, Err: err,
			Msg: "the model's reply was withheld: it matched guardrail rule " + quote(ve.Rule)}
	case errors.As(err, &le):
		return &HTTPError{Status: 413, Code: CodeRequestTooLarge, Err: err,
			Msg: fmt.Sprintf("the request holds %d bytes of text, more than the %d that guardrails scan; send less text", le.Size, le.Limit)}
	}
	return &HTTPError{Status: 400, Code: CodeInvalidRequest, Err: err,
		Msg: "the request body could not be read for guardrails; send valid JSON in the route's format"}
}

package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// Bounds on key fields, so that one key cannot bloat every instance's cache.
const (
	maxTextLen  = 256  // name, team, a model or tag name
	maxTagValue = 1024 // a tag's value
	maxListLen  = 1000 // models, guardrails, tags, model_limits entries
)

// fieldRole says what a client may do with a key object field.
func fieldRole(name string) (writable bool, hint string, known bool) {
	switch name {
	case "name", "models", "rpm", "tpm", "max_concurrent", "budget_usd", "budget_period", "expires_at",
		"disabled", "team", "team_id", "end_user_limits", "tags", "model_limits", "allow_routing_headers", "guardrails", "priority":
		return true, "", true
	case "revoked":
		return false, "is read-only: DELETE the key to revoke it", true
	case "key", "prefix":
		return false, "is read-only: rotate the key for a new secret", true
	case "id", "spend_usd", "created_at", "updated_at", "static":
		return false, "is read-only", true
	}
	return false, "", false
}

// DecodeKeyInput parses the body of a create request: a JSON object with
// the writable fields of a key object, all optional. Unknown fields, read-
// only fields, wrong types and invalid values are a *FieldError naming the
// field. The result is normalized (see Service.Create).
func DecodeKeyInput(body []byte) (KeyInput, error) {
	return applyPatch(KeyInput{}, body)
}

// applyPatch applies a JSON merge patch (RFC 7386) to cur and returns the
// validated, normalized result: null deletes a field (back to its zero
// value) or a map entry (tags, model_limits); objects merge recursively;
// anything else replaces.
func applyPatch(cur KeyInput, patch []byte) (KeyInput, error) {
	fields, err := patchFields(cur, patch, fieldRole)
	if err != nil {
		return KeyInput{}, err
	}
	in, err := decodeFields(fields)
	if err != nil {
		return KeyInput{}, err
	}
	normalize(&in)
	if err := validateInput(&in); err != nil {
		return KeyInput{}, err
	}
	return in, nil
}

// patchFields checks the field names of patch, a JSON object, against
// role (unknown and read-only fields are a *FieldError naming them),
// merges it into cur's JSON form (RFC 7386) and returns the merged
// object's fields.
func patchFields(cur any, patch []byte, role func(string) (bool, string, bool)) (map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(patch, &top); err != nil || top == nil {
		return nil, &FieldError{Msg: "the body must be a JSON object"}
	}
	var unknown, readOnly []string
	for _, name := range slices.Sorted(maps.Keys(top)) {
		switch writable, _, known := role(name); {
		case !known:
			unknown = append(unknown, name)
		case !writable:
			readOnly = append(readOnly, name)
		}
	}
	switch {
	case len(unknown) == 1:
		return nil, &FieldError{Field: unknown[0], Msg: "unknown field"}
	case len(unknown) > 1:
		return nil, &FieldError{Field: strings.Join(unknown, ", "), Msg: "unknown fields"}
	case len(readOnly) > 0:
		_, hint, _ := role(readOnly[0])
		return nil, &FieldError{Field: readOnly[0], Msg: hint}
	}

	base, err := toTree(cur)
	if err != nil {
		return nil, err
	}
	p, err := decodeTree(patch)
	if err != nil {
		return nil, &FieldError{Msg: "the body must be a JSON object"}
	}
	merged, err := json.Marshal(mergePatch(base, p))
	if err != nil {
		return nil, fmt.Errorf("auth: merge patch: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(merged, &fields); err != nil {
		return nil, fmt.Errorf("auth: merge patch: %w", err)
	}
	return fields, nil
}

// mergePatch is RFC 7386's MergePatch on decoded JSON. It may modify target.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergePatch(t[k], v)
		}
	}
	return t
}

// toTree turns in into decoded JSON (numbers kept exact).
func toTree(in any) (any, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	return decodeTree(b)
}

func decodeTree(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// decodeFields decodes the fields of a merged key object, naming the field
// of any type error.
func decodeFields(fields map[string]json.RawMessage) (KeyInput, error) {
	var in KeyInput
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		raw := fields[name]
		if string(raw) == "null" {
			continue // the zero value
		}
		var err error
		var want string
		switch name {
		case "name":
			err, want = json.Unmarshal(raw, &in.Name), "a string"
		case "team":
			err, want = json.Unmarshal(raw, &in.Team), "a string"
		case "team_id":
			err, want = json.Unmarshal(raw, &in.TeamID), "a team id (a string)"
		case "end_user_limits":
			if in.EndUserLimits, err = decodeEndUserLimits(raw); err != nil {
				return KeyInput{}, err
			}
		case "budget_period":
			err, want = json.Unmarshal(raw, &in.BudgetPeriod), `"day", "month" or "total"`
		case "models":
			err, want = json.Unmarshal(raw, &in.Models), "a list of model names"
		case "guardrails":
			err, want = json.Unmarshal(raw, &in.Guardrails), "a list of guardrail set names"
		case "rpm":
			err, want = json.Unmarshal(raw, &in.RPM), "a whole number"
		case "tpm":
			err, want = json.Unmarshal(raw, &in.TPM), "a whole number"
		case "max_concurrent":
			err, want = json.Unmarshal(raw, &in.MaxConcurrent), "a whole number"
		case "budget_usd":
			err, want = json.Unmarshal(raw, &in.BudgetUSD), "a number"
		case "disabled":
			err, want = json.Unmarshal(raw, &in.Disabled), "true or false"
		case "allow_routing_headers":
			err, want = json.Unmarshal(raw, &in.AllowRoutingHeaders), "true or false"
		case "tags":
			err, want = json.Unmarshal(raw, &in.Tags), "an object of strings"
		case "priority":
			// Stricter than the zero value: "" is not a priority here
			// (null resets to normal).
			if err = json.Unmarshal(raw, &in.Priority); err == nil && !validPriority(in.Priority) {
				err = errBadPriority
			}
			want = priorityWant
		case "expires_at":
			var s string
			if err = json.Unmarshal(raw, &s); err == nil {
				var t time.Time
				if t, err = time.Parse(time.RFC3339, s); err == nil {
					in.ExpiresAt = &t
				}
			}
			want = `an RFC 3339 time such as "2026-12-31T23:59:59Z", or null`
		case "model_limits":
			if in.ModelLimits, err = decodeModelLimits(raw); err != nil {
				return KeyInput{}, err
			}
		}
		if err != nil {
			return KeyInput{}, &FieldError{Field: name, Msg: "must be " + want}
		}
	}
	return in, nil
}

// decodeModelLimits decodes model_limits strictly, naming nested fields.
func decodeModelLimits(raw json.RawMessage) (map[string]ModelLimit, error) {
	var models map[string]json.RawMessage
	if err := json.Unmarshal(raw, &models); err != nil {
		return nil, &FieldError{Field: "model_limits", Msg: `must be an object of model names to {"rpm", "tpm"}`}
	}
	out := make(map[string]ModelLimit, len(models))
	for _, m := range slices.Sorted(maps.Keys(models)) {
		base := "model_limits." + m
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(models[m], &fields); err != nil || fields == nil {
			return nil, &FieldError{Field: base, Msg: `must be an object such as {"rpm": 60, "tpm": 100000}`}
		}
		var l ModelLimit
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			var dst *int64
			switch f {
			case "rpm":
				dst = &l.RPM
			case "tpm":
				dst = &l.TPM
			default:
				return nil, &FieldError{Field: base + "." + f, Msg: "unknown field"}
			}
			if err := json.Unmarshal(fields[f], dst); err != nil {
				return nil, &FieldError{Field: base + "." + f, Msg: "must be a whole number"}
			}
		}
		out[m] = l
	}
	return out, nil
}

// normalize gives equal inputs one form: no nil slices or maps, no
// duplicate list entries, a budget period when there is a budget, normal
// priority when none is set, and expiry in UTC at the microsecond
// precision both stores keep.
func normalize(in *KeyInput) {
	in.Models = dedupe(in.Models)
	in.Guardrails = dedupe(in.Guardrails)
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	if in.ModelLimits == nil {
		in.ModelLimits = map[string]ModelLimit{}
	}
	if in.BudgetUSD > 0 && in.BudgetPeriod == "" {
		in.BudgetPeriod = PeriodTotal
	}
	normalizeEndUsers(&in.EndUserLimits)
	if in.Priority == "" {
		in.Priority = PriorityNormal
	}
	if in.ExpiresAt != nil {
		t := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		in.ExpiresAt = &t
	}
}

func dedupe(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// validateInput checks the values of a normalized input.
func validateInput(in *KeyInput) error {
	if len(in.Name) > maxTextLen {
		return &FieldError{Field: "name", Msg: fmt.Sprintf("must be at most %d bytes", maxTextLen)}
	}
	if len(in.Team) > maxTextLen {
		return &FieldError{Field: "team", Msg: fmt.Sprintf("must be at most %d bytes", maxTextLen)}
	}
	if in.TeamID != "" {
		if msg := teamIDProblem(in.TeamID); msg != "" {
			return &FieldError{Field: "team_id", Msg: msg}
		}
	}
	if err := validateModels(in.Models); err != nil {
		return err
	}
	if err := validateLimits("", "0 means the default", in.RPM, in.TPM, in.MaxConcurrent); err != nil {
		return err
	}
	if err := validateBudget("", in.BudgetUSD, in.BudgetPeriod); err != nil {
		return err
	}
	if err := validateEndUsers(&in.EndUserLimits); err != nil {
		return err
	}
	if err := validateTags(in.Tags); err != nil {
		return err
	}
	if len(in.ModelLimits) > maxListLen {
		return &FieldError{Field: "model_limits", Msg: fmt.Sprintf("at most %d models", maxListLen)}
	}
	for _, m := range slices.Sorted(maps.Keys(in.ModelLimits)) {
		if !modelName(m) {
			return &FieldError{Field: "model_limits", Msg: "keys must be model names: visible ASCII without spaces, at most 256 bytes"}
		}
		l := in.ModelLimits[m]
		if l.RPM < 0 {
			return &FieldError{Field: "model_limits." + m + ".rpm", Msg: "must not be negative"}
		}
		if l.TPM < 0 {
			return &FieldError{Field: "model_limits." + m + ".tpm", Msg: "must not be negative"}
		}
	}
	if len(in.Guardrails) > maxListLen {
		return &FieldError{Field: "guardrails", Msg: fmt.Sprintf("at most %d names", maxListLen)}
	}
	if !validPriority(in.Priority) {
		return &FieldError{Field: "priority", Msg: "must be " + priorityWant}
	}
	for i, g := range in.Guardrails {
		if !setName(g) {
			return &FieldError{Field: fmt.Sprintf("guardrails[%d]", i), Msg: `must be a guardrail set name: letters, digits, ".", "_" and "-"`}
		}
	}
	return nil
}

// priorityWant is what a priority must be, as error messages say it.
const priorityWant = `"normal" or "high"`

var errBadPriority = errors.New("not a priority")

// validPriority reports whether s is a key priority.
func validPriority(s string) bool {
	return s == PriorityNormal || s == PriorityHigh
}

// validateModels checks a models allowlist.
func validateModels(models []string) error {
	if len(models) > maxListLen {
		return &FieldError{Field: "models", Msg: fmt.Sprintf("at most %d models", maxListLen)}
	}
	for i, m := range models {
		if !modelName(m) {
			return &FieldError{Field: fmt.Sprintf("models[%d]", i), Msg: "must be a model name: visible ASCII without spaces, at most 256 bytes"}
		}
		if msg := config.PatternProblem(m); msg != "" {
			return &FieldError{Field: fmt.Sprintf("models[%d]", i), Msg: msg}
		}
	}
	return nil
}

// validateLimits checks rpm, tpm and (when given) max_concurrent; base
// prefixes the field names ("end_user_limits."), zero says what 0 means.
func validateLimits(base, zero string, rpm, tpm int64, maxConcurrent ...int64) error {
	fields := []struct {
		name string
		n    int64
	}{{"rpm", rpm}, {"tpm", tpm}}
	for _, n := range maxConcurrent {
		fields = append(fields, struct {
			name string
			n    int64
		}{"max_concurrent", n})
	}
	for _, f := range fields {
		if f.n < 0 {
			return &FieldError{Field: base + f.name, Msg: "must not be negative (" + zero + ")"}
		}
	}
	return nil
}

// validateBudget checks a budget and its period.
func validateBudget(base string, usd float64, period string) error {
	if usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return &FieldError{Field: base + "budget_usd", Msg: "must not be negative (0 means no budget)"}
	}
	switch period {
	case "", PeriodDay, PeriodMonth, PeriodTotal:
	default:
		return &FieldError{Field: base + "budget_period", Msg: `must be "day", "month" or "total"`}
	}
	return nil
}

// validateTags checks tag names and values.
func validateTags(tags map[string]string) error {
	if len(tags) > maxListLen {
		return &FieldError{Field: "tags", Msg: fmt.Sprintf("at most %d tags", maxListLen)}
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if k == "" || len(k) > maxTextLen {
			return &FieldError{Field: "tags", Msg: fmt.Sprintf("tag names must be 1 to %d bytes", maxTextLen)}
		}
		if len(tags[k]) > maxTagValue {
			return &FieldError{Field: "tags." + k, Msg: fmt.Sprintf("must be at most %d bytes", maxTagValue)}
		}
	}
	return nil
}

// decodeEndUserLimits decodes end_user_limits strictly, naming nested
// fields.
func decodeEndUserLimits(raw json.RawMessage) (EndUserLimits, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return EndUserLimits{}, &FieldError{Field: "end_user_limits",
			Msg: `must be an object such as {"rpm": 10, "tpm": 20000, "budget_usd": 1, "budget_period": "day"}`}
	}
	var e EndUserLimits
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		raw := fields[f]
		if string(raw) == "null" {
			continue
		}
		var err error
		var want string
		switch f {
		case "rpm":
			err, want = json.Unmarshal(raw, &e.RPM), "a whole number"
		case "tpm":
			err, want = json.Unmarshal(raw, &e.TPM), "a whole number"
		case "budget_usd":
			err, want = json.Unmarshal(raw, &e.BudgetUSD), "a number"
		case "budget_period":
			err, want = json.Unmarshal(raw, &e.BudgetPeriod), `"day", "month" or "total"`
		default:
			return EndUserLimits{}, &FieldError{Field: "end_user_limits." + f, Msg: "unknown field"}
		}
		if err != nil {
			return EndUserLimits{}, &FieldError{Field: "end_user_limits." + f, Msg: "must be " + want}
		}
	}
	return e, nil
}

// normalizeEndUsers gives a budget without a period the period total.
func normalizeEndUsers(e *EndUserLimits) {
	if e.BudgetUSD > 0 && e.BudgetPeriod == "" {
		e.BudgetPeriod = PeriodTotal
	}
}

// validateEndUsers checks normalized end-user limits.
func validateEndUsers(e *EndUserLimits) error {
	const base = "end_user_limits."
	if err := validateLimits(base, "0 means no limit", e.RPM, e.TPM); err != nil {
		return err
	}
	return validateBudget(base, e.BudgetUSD, e.BudgetPeriod)
}

// modelName reports whether s is a model name: 1 to maxTextLen visible
// ASCII characters.
func modelName(s string) bool {
	if s == "" || len(s) > maxTextLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// setName reports whether s is a guardrail set name, as config names are.
func setName(s string) bool {
	if s == "" || len(s) > maxTextLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// changes returns the fields whose JSON differs between old and new, with
// their new values: what an audit entry records.
func changes(old, next KeyInput) (map[string]json.RawMessage, error) {
	return jsonChanges(old, next)
}

// jsonChanges compares the JSON objects of two values field by field.
func jsonChanges(old, next any) (map[string]json.RawMessage, error) {
	var a, b map[string]json.RawMessage
	ob, err := json.Marshal(old)
	if err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	nb, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	if err := json.Unmarshal(ob, &a); err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	if err := json.Unmarshal(nb, &b); err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	out := map[string]json.RawMessage{}
	for k, v := range b {
		if !bytes.Equal(a[k], v) {
			out[k] = v
		}
	}
	return out, nil
}

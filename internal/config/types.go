package config

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// redacted is what a non-empty Secret prints as, everywhere.
const redacted = "[REDACTED]"

// Secret is a string that must never be printed: a provider key or the
// admin token. Every way of printing, logging or marshalling it yields
// "[REDACTED]" (or "" for an empty Secret, so that "not configured" stays
// visible); only Reveal returns the value, for the one place that sends it.
type Secret string

// Reveal returns the secret value. Call it only where the value is sent on
// the wire or compared, never to print it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter so that every verb (%v, %s, %q, %x, %d,
// %#v, ...) prints the redacted form, never the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, strconv.Quote(s.String()))
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML implements the YAML marshaler interfaces of goccy/go-yaml and
// yaml.v3 (both accept this signature).
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Duration is a time.Duration written in YAML as a Go duration string with
// a unit, such as "30s", "1m30s" or "250ms". A bare number is rejected:
// seconds or milliseconds would be a guess.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler ("1m30s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the rules of
// ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses a duration with a unit ("30s", "1m30s", "-5ms").
// Plain numbers, even 0, are rejected with a message that asks for a unit.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("expected a duration such as \"30s\", got %q", s)
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("duration %q needs a unit, such as \"30s\" or \"500ms\" (a bare number is not accepted)", s)
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("expected a duration such as \"30s\", got %q", s)
	}
	return Duration(v), nil
}

// ByteSize is a size in bytes. In YAML it is a plain integer (bytes) or an
// integer with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB,
// TiB (powers of 1024), optionally separated by a space: "64KiB", "32MiB",
// "10 MB". Negative sizes and fractions are rejected.
type ByteSize int64

// Int returns b as an int, saturating at math.MaxInt.
func (b ByteSize) Int() int {
	if int64(b) > math.MaxInt {
		return math.MaxInt
	}
	return int(b)
}

type byteUnit struct {
	name string
	mult int64
}

// byteUnits lists the size units. It returns an array (a copy), so there is
// no shared table.
func byteUnits() [9]byteUnit {
	return [9]byteUnit{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"B", 1},
	}
}

// String formats b with the largest unit that divides it exactly, such as
// "32MiB", "10MB" or "1500B"; 0 is "0B".
func (b ByteSize) String() string {
	if b == 0 {
		return "0B"
	}
	best := byteUnit{"B", 1}
	for _, u := range byteUnits() {
		if int64(b)%u.mult == 0 && u.mult > best.mult {
			best = u
		}
	}
	return strconv.FormatInt(int64(b)/best.mult, 10) + best.name
}

// MarshalText implements encoding.TextMarshaler ("32MiB").
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the rules of
// ParseByteSize.
func (b *ByteSize) UnmarshalText(p []byte) error {
	v, err := ParseByteSize(string(p))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseByteSize parses a size: a plain number of bytes or an integer with one
// of the units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (case as written).
func ParseByteSize(s string) (ByteSize, error) {
	bad := func() (ByteSize, error) {
		return 0, fmt.Errorf("expected a size in bytes or with a unit such as \"64KiB\", \"32MiB\" or \"10MB\", got %q", s)
	}
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return bad()
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	unit := strings.TrimLeft(t[i:], " ")
	if unit == "" {
		return ByteSize(n), nil
	}
	for _, u := range byteUnits() {
		if unit == u.name {
			if n > math.MaxInt64/u.mult {
				return 0, fmt.Errorf("size %q is too large", s)
			}
			return ByteSize(n * u.mult), nil
		}
	}
	return bad()
}

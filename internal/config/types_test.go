package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

const testSecret = "sk-live-THIS-MUST-NOT-LEAK-0123456789"

func TestSecretNeverPrints(t *testing.T) {
	s := Secret(testSecret)
	p := Provider{Name: "openai", APIKeys: []APIKey{{Key: s}}}
	c := Config{Admin: Admin{Token: s}, Providers: []Provider{p}}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%-20v", "%T"} {
		outputs["Secret "+verb] = fmt.Sprintf(verb, s)
		outputs["*Secret "+verb] = fmt.Sprintf(verb, &s)
		outputs["Provider "+verb] = fmt.Sprintf(verb, p)
		outputs["Config "+verb] = fmt.Sprintf(verb, c)
	}
	outputs["Sprint"] = fmt.Sprint(s, p, c)
	outputs["Sprintln"] = fmt.Sprintln(s, p, &c)
	outputs["String"] = s.String()
	outputs["GoString"] = s.GoString()
	for name, v := range map[string]any{"secret": s, "provider": p, "config": c, "map": map[string]Secret{"k": s}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal %s: %v", name, err)
		}
		outputs["json "+name] = string(b)
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatalf("yaml.Marshal %s: %v", name, err)
		}
		outputs["yaml "+name] = string(y)
	}
	txt, _ := s.MarshalText()
	outputs["MarshalText"] = string(txt)

	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(h.new(&buf))
		log.Info("secret", "key", s, "ptr", &s, "provider", p, "config", c, slog.Any("any", s), slog.Group("g", "k", s))
		log.With("key", s).Info(fmt.Sprint(s))
		outputs["slog "+h.name] = buf.String()
	}

	for name, out := range outputs {
		if strings.Contains(out, testSecret) || strings.Contains(out, "THIS-MUST-NOT-LEAK") {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.HasSuffix(name, "%T") && !strings.Contains(out, redacted) {
			t.Errorf("%s = %q, want it to show %s", name, out, redacted)
		}
	}
	if got := s.Reveal(); got != testSecret {
		t.Errorf("Reveal() = %q", got)
	}
}

func TestSecretEmpty(t *testing.T) {
	var s Secret
	for name, got := range map[string]string{
		"String": s.String(),
		"%v":     fmt.Sprintf("%v", s),
		"%q":     fmt.Sprintf("%q", s),
		"json":   mustJSON(t, s),
		"slog":   s.LogValue().String(),
	} {
		want := ""
		switch name {
		case "%q", "json":
			want = `""`
		}
		if got != want {
			t.Errorf("%s of empty Secret = %q, want %q", name, got, want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"30s", 30 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"0s", 0, ""},
		{"-5s", -5 * time.Second, ""},
		{" 2h ", 2 * time.Hour, ""},
		{"30", 0, `duration "30" needs a unit`},
		{"0", 0, `duration "0" needs a unit`},
		{"1.5", 0, `needs a unit`},
		{"abc", 0, `expected a duration such as "30s", got "abc"`},
		{"", 0, `expected a duration such as "30s", got ""`},
		{"10 s", 0, `expected a duration such as "30s", got "10 s"`},
		{"5d", 0, `expected a duration such as "30s", got "5d"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDuration(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.D() != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			var u Duration
			if err := u.UnmarshalText([]byte(tt.in)); err != nil || u != got {
				t.Fatalf("UnmarshalText(%q) = %v, %v", tt.in, u, err)
			}
			txt, _ := got.MarshalText()
			if back, err := ParseDuration(string(txt)); err != nil || back != got {
				t.Fatalf("round trip of %v through %q = %v, %v", got, txt, back, err)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		str     string
		wantErr string
	}{
		{"0", 0, "0B", ""},
		{"1500", 1500, "1500B", ""},
		{"64KiB", 64 << 10, "64KiB", ""},
		{"32MiB", 32 << 20, "32MiB", ""},
		{"1GiB", 1 << 30, "1GiB", ""},
		{"2TiB", 2 << 40, "2TiB", ""},
		{"10KB", 10_000, "10KB", ""},
		{"5MB", 5_000_000, "5MB", ""},
		{"3GB", 3_000_000_000, "3GB", ""},
		{"1TB", 1_000_000_000_000, "1TB", ""},
		{"12B", 12, "12B", ""},
		{"32 MiB", 32 << 20, "32MiB", ""},
		{"1024", 1024, "1KiB", ""},
		{"1000", 1000, "1KB", ""},
		{"", 0, "", `expected a size in bytes or with a unit`},
		{"MiB", 0, "", `got "MiB"`},
		{"-1", 0, "", `got "-1"`},
		{"1.5MiB", 0, "", `got "1.5MiB"`},
		{"10mb", 0, "", `got "10mb"`},
		{"10QB", 0, "", `got "10QB"`},
		{"10 MiB extra", 0, "", `got "10 MiB extra"`},
		{"99999999999999999999", 0, "", `is too large`},
		{"9000000TiB", 0, "", `is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseByteSize(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || int64(got) != tt.want {
				t.Fatalf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			if got.Int() != int(tt.want) {
				t.Errorf("Int() = %d", got.Int())
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			var u ByteSize
			if err := u.UnmarshalText([]byte(got.String())); err != nil || u != got {
				t.Errorf("round trip through %q = %d, %v", got.String(), u, err)
			}
		})
	}
}

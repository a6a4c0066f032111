package provider

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/config"
)

// Every format in the registry provides every required hook, under a name
// config accepts as a provider kind, and the formats' routes do not
// overlap.
func TestRegistry(t *testing.T) {
	paths := map[string]Format{}
	ops := map[Operation]Format{}
	for f := Format(1); int(f) < NumFormats; f++ {
		h := f.Hooks()
		switch {
		case h.Name == "" || f.String() != h.Name:
			t.Errorf("format %d: name %q, String %q", f, h.Name, f)
		case h.UpstreamOnly:
			if h.KeyValue == nil || h.Authorize == nil || len(h.Routes) > 0 || h.PathPrefix != "" || h.Caller != nil {
				t.Errorf("format %s: upstream-only, but with client routes or without its upstream hooks", f)
			}
		case h.KeyValue == nil || h.Authorize == nil || h.Usage == nil || h.StreamEvent == nil ||
			h.AppendError == nil || h.AppendStreamError == nil || h.AppendModel == nil || h.AppendModels == nil:
			t.Errorf("format %s: a required hook is nil: %+v", f, h)
		case len(h.Routes) == 0 && h.PathPrefix == "":
			// Gemini's routes name the model in the path: the gateway
			// routes its PathPrefix.
			t.Errorf("format %s: no routes", f)
		}
		if g, ok := ParseFormat(h.Name); !ok || g != f {
			t.Errorf("ParseFormat(%q) = %d, %v", h.Name, g, ok)
		}
		for _, r := range h.Routes {
			if g, dup := paths[r.Path]; dup {
				t.Errorf("route %s: formats %s and %s", r.Path, g, f)
			}
			if g, dup := ops[r.Op]; dup && g != f {
				t.Errorf("operation %s: formats %s and %s", r.Op, g, f)
			}
			paths[r.Path], ops[r.Op] = f, f
		}
	}
	// The kinds config accepts are the registry's names (a list kept in
	// config too, which cannot import this package).
	for _, kind := range config.Kinds {
		if _, ok := ParseFormat(kindFormat(kind)); !ok {
			t.Errorf("config kind %q has no format", kind)
		}
	}
	// Azure speaks OpenAI's format.
	if NumFormats-1 != len(config.Kinds)-1 {
		t.Errorf("%d formats; config lists %d provider kinds, one of them (azure) OpenAI's format", NumFormats-1, len(config.Kinds))
	}
	if _, ok := ParseFormat("unknown"); ok {
		t.Error("ParseFormat accepts an unknown kind")
	}
	// No format yet: the default's hooks, under no name.
	if Format(0).String() != "unknown" || Format(0).Hooks().AppendError == nil {
		t.Error("format 0 has no hooks or a name")
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]Format{
		"/v1/chat/completions":   FormatOpenAI,
		"/v1/models":             FormatOpenAI,
		"/v1/files/x":            FormatOpenAI,
		"/v1/messages":           FormatAnthropic,
		"/v1/messages/batches/x": FormatAnthropic,
		"/v1/mess":               FormatOpenAI,
	} {
		if got := FormatOf([]byte(path)); got != want {
			t.Errorf("FormatOf(%s) = %s, want %s", path, got, want)
		}
	}
}

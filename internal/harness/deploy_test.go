package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeploymentTeardown checks what Teardown does without processes:
// the logs that exist are copied to out/logs, the state directory goes
// unless kept, and a Deployment whose Setup never ran tears down cleanly.
func TestDeploymentTeardown(t *testing.T) {
	if err := (&Deployment{Tool: "tool"}).Teardown(t.TempDir(), false); err != nil {
		t.Fatalf("teardown before setup: %v", err)
	}
	for _, keep := range []bool{false, true} {
		state, out := t.TempDir(), t.TempDir()
		if err := os.WriteFile(filepath.Join(state, "mock.log"), []byte("mock says"), 0o644); err != nil {
			t.Fatal(err)
		}
		var said strings.Builder
		d := &Deployment{Tool: "tool", State: state, Out: &said}
		if err := d.Teardown(out, keep); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(out, "logs", "mock.log")); err != nil || string(b) != "mock says" {
			t.Errorf("keep %v: logs/mock.log %q %v", keep, b, err)
		}
		_, err := os.Stat(state)
		if kept := err == nil; kept != keep {
			t.Errorf("keep %v: state directory kept %v", keep, kept)
		}
		if want := "tool: state kept in " + state + "\n"; keep && said.String() != want {
			t.Errorf("said %q, want %q", said.String(), want)
		}
	}
}

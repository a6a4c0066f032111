package harness

import "testing"

func TestStatusLine(t *testing.T) {
	got := StatusLine(map[string]int{"200": 800, "502": 3, "refused": 3, "504": 10})
	if want := "200×800 504×10 502×3 refused×3"; got != want {
		t.Errorf("statusLine = %q, want %q", got, want)
	}
}

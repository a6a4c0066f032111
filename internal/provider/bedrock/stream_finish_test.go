package bedrock

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// A stream that ends after messageStop, without its metadata event, is
// complete: Finish closes it; one cut before messageStop is not.
func TestDecoderFinish(t *testing.T) {
	d := NewDecoder().(*decoder)
	var evs []canon.Event
	var err error
	for _, e := range [][2]string{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi"}}`},
		{"messageStop", `{"stopReason":"end_turn"}`},
	} {
		if evs, err = d.Decode([]byte(e[0]), []byte(e[1]), evs); err != nil {
			t.Fatal(err)
		}
	}
	evs = d.Finish(evs[:0])
	if len(evs) != 1 || evs[0].Kind != canon.EvEnd {
		t.Fatalf("Finish after messageStop: %+v, want EvEnd", evs)
	}
	if evs = d.Finish(evs[:0]); len(evs) != 0 {
		t.Errorf("a second Finish: %+v", evs)
	}

	cut := NewDecoder().(*decoder)
	evs, _ = cut.Decode([]byte("messageStart"), []byte(`{"role":"assistant"}`), nil)
	evs, _ = cut.Decode([]byte("contentBlockDelta"), []byte(`{"contentBlockIndex":0,"delta":{"text":"hi"}}`), evs)
	if evs = cut.Finish(evs[:0]); len(evs) != 0 {
		t.Errorf("Finish of a cut stream: %+v, want nothing", evs)
	}
}

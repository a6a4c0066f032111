package provider

import (
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

func TestWeightedKeysAndCooldown(t *testing.T) {
	three, zero := 3, 0
	up, err := NewUpstream(&config.Provider{Name: "p", Kind: "openai", BaseURL: "http://127.0.0.1:1/v1",
		APIKeys: []config.APIKey{{Key: "a"}, {Key: "b", Weight: &three}, {Key: "z", Weight: &zero}}})
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for i := 0; i < 400; i++ {
		count[up.pickKey()]++
	}
	if count[0] != 100 || count[1] != 300 || count[2] != 0 {
		t.Fatalf("split %v, want 100/300/0", count)
	}
	// b answered 429: a serves, and z only when a is set aside too.
	up.CoolKey(1, time.Minute)
	for i := 0; i < 40; i++ {
		if k := up.pickKey(); k == 1 {
			t.Fatal("a cooling key was used")
		}
	}
	up.CoolKey(0, time.Minute)
	if k := up.pickKey(); k != 2 {
		t.Fatalf("with a and b set aside got key %d, want the weight-0 key", k)
	}
}

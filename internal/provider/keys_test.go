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

func TestOtherKeyReady(t *testing.T) {
	keys := func(n int) []config.APIKey {
		ks := make([]config.APIKey, n)
		for i := range ks {
			ks[i] = config.APIKey{Key: config.Secret("k" + string(rune('a'+i)))}
		}
		return ks
	}
	for _, tc := range []struct {
		name   string
		keys   int
		cooled []int // keys set aside before the question
		refuse int   // the key just refused
		want   bool
	}{
		{name: "no keys", keys: 0, refuse: -1, want: false},
		{name: "one key", keys: 1, refuse: 0, want: false},
		{name: "another key in service", keys: 2, refuse: 0, cooled: []int{0}, want: true},
		{name: "every other key set aside", keys: 3, refuse: 0, cooled: []int{0, 1, 2}, want: false},
		{name: "one of two others in service", keys: 3, refuse: 1, cooled: []int{1, 2}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, err := NewUpstream(&config.Provider{Name: "p", Kind: "openai", BaseURL: "http://127.0.0.1:1/v1", APIKeys: keys(tc.keys)})
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range tc.cooled {
				up.CoolKey(i, time.Minute)
			}
			if got := up.OtherKeyReady(tc.refuse); got != tc.want {
				t.Fatalf("OtherKeyReady(%d) = %v, want %v", tc.refuse, got, tc.want)
			}
		})
	}
}

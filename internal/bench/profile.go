package bench

import "fmt"

// Profiles returns the names of the seed benchmark's backend profiles, made by steering
// the mock through its headers (which every gateway must forward).
func Profiles() []string { return []string{"throughput", "fast", "slow", "payload", "chaos"} }

// variant is one backend behaviour of a profile. Profiles with several variants
// (payload) run every step once per variant.
type variant struct {
	name    string   // "" when the profile has one variant
	headers []Header // steering headers
	expect  float64  // expected backend latency in seconds, for sizing the pool
}

// profileVariants returns the variants of profile name.
func profileVariants(name string) ([]variant, error) {
	switch name {
	case "throughput":
		return []variant{{}}, nil
	case "fast":
		return []variant{{headers: []Header{{"X-Mock-Latency", "50"}}, expect: 0.05}}, nil
	case "slow":
		return []variant{{headers: []Header{{"X-Mock-Latency", "500"}}, expect: 0.5}}, nil
	case "payload":
		return []variant{
			{name: "1KB", headers: []Header{{"X-Response-Size", "1024"}}},
			{name: "10KB", headers: []Header{{"X-Response-Size", "10240"}}},
			{name: "100KB", headers: []Header{{"X-Response-Size", "102400"}}},
		}, nil
	case "chaos":
		// 5 % of replies fail with a 500 and 1 % of connections are dropped: a gateway
		// should retry or fall back, and must not turn them into something worse.
		return []variant{{headers: []Header{{"X-Mock-Error-Rate", "5"}, {"X-Mock-Drop-Rate", "1"}}}}, nil
	}
	return nil, fmt.Errorf("unknown profile %q (want throughput, fast, slow, payload or chaos)", name)
}

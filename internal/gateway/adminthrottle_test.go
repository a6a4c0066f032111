package gateway

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
)

// fakeClock is a settable clock for the throttle.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestAdminThrottle(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	th := newAdminThrottle(clock.now)
	a := netip.MustParseAddr("203.0.113.7")
	b := netip.MustParseAddr("203.0.113.8")
	steps := []struct {
		name      string
		run       func()
		src       netip.Addr
		wantWait  time.Duration
		wantTable int
	}{
		{"nine failures: still allowed", func() {
			for range adminMaxFailures - 1 {
				th.fail(a)
				clock.advance(time.Second)
			}
		}, a, 0, 1},
		{"the tenth refuses for the rest of the window", func() {
			if n, throttled := th.fail(a); n != adminMaxFailures || !throttled {
				t.Errorf("tenth failure: n=%d throttled=%v", n, throttled)
			}
		}, a, adminFailWindow - 9*time.Second, 1},
		{"another source is not affected", func() {}, b, 0, 1},
		{"the wait shrinks with time", func() { clock.advance(20 * time.Second) }, a, adminFailWindow - 29*time.Second, 1},
		{"the window ends: allowed again, entry dropped", func() { clock.advance(31 * time.Second) }, a, 0, 0},
		{"a success clears the count", func() {
			for range adminMaxFailures - 1 {
				th.fail(b)
			}
			th.succeed(b)
			th.fail(b)
		}, b, 0, 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.run()
			if got := th.wait(s.src); got != s.wantWait {
				t.Errorf("wait(%s) = %v, want %v", s.src, got, s.wantWait)
			}
			if got := len(th.sources); got != s.wantTable {
				t.Errorf("table holds %d sources, want %d", got, s.wantTable)
			}
		})
	}
}

// TestAdminThrottleBounded: the table never outgrows adminMaxSources;
// expired windows go first, then the oldest.
func TestAdminThrottleBounded(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	th := newAdminThrottle(clock.now)
	addr := func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	for i := range adminMaxSources {
		th.fail(addr(i))
	}
	clock.advance(time.Second)
	th.fail(addr(adminMaxSources)) // full: evicts the oldest (all started together: one of them)
	if n := len(th.sources); n != adminMaxSources {
		t.Fatalf("table holds %d, want %d", n, adminMaxSources)
	}
	clock.advance(adminFailWindow - time.Second)
	th.fail(addr(adminMaxSources + 1)) // full: every window but the last one's has expired
	if n := len(th.sources); n != 2 {
		t.Fatalf("table holds %d after expiry, want 2", n)
	}
	// IPv6 sources count per /64.
	th.fail(netip.MustParseAddr("2001:db8:1:2::1"))
	th.fail(netip.MustParseAddr("2001:db8:1:2:ffff::9"))
	if n, _ := th.fail(netip.MustParseAddr("2001:db8:1:2::abcd")); n != 3 {
		t.Fatalf("one /64 counted as %d failures, want 3", n)
	}
}

func TestAdminSource(t *testing.T) {
	trusted := func(rs ...string) []config.IPRange {
		var out []config.IPRange
		for _, r := range rs {
			v, err := config.ParseIPRange(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	tests := []struct {
		name       string
		peer       string
		xff        []string
		trusted    []config.IPRange
		wantSrc    string
		wantExempt bool
	}{
		{"remote peer", "198.51.100.4", nil, nil, "198.51.100.4", false},
		{"loopback peer is exempt", "127.0.0.1", nil, nil, "127.0.0.1", true},
		{"::1 is exempt", "::1", nil, nil, "::1", true},
		{"X-Forwarded-For from an untrusted peer is ignored", "198.51.100.4", []string{"203.0.113.7"}, nil, "198.51.100.4", false},
		{"local load balancer not trusted: exempt", "127.0.0.1", []string{"203.0.113.7"}, nil, "127.0.0.1", true},
		{"local load balancer trusted: the client counts", "127.0.0.1", []string{"203.0.113.7"}, trusted("127.0.0.1"), "203.0.113.7", false},
		{"rightmost untrusted entry wins", "10.0.0.2", []string{"192.0.2.66, 203.0.113.7, 10.0.0.1"}, trusted("10.0.0.0/8"), "203.0.113.7", false},
		{"several headers read right to left", "10.0.0.2", []string{"192.0.2.66", "203.0.113.7, 10.0.0.1"}, trusted("10.0.0.0/8"), "203.0.113.7", false},
		{"every entry trusted: the leftmost", "10.0.0.2", []string{"10.0.0.9, 10.0.0.1"}, trusted("10.0.0.0/8"), "10.0.0.9", false},
		{"entry with a port", "10.0.0.2", []string{"203.0.113.7:5555"}, trusted("10.0.0.0/8"), "203.0.113.7", false},
		{"garbage stops at the last good entry", "10.0.0.2", []string{"bogus, 10.0.0.1"}, trusted("10.0.0.0/8"), "10.0.0.1", false},
		{"garbage only: the peer", "10.0.0.2", []string{"bogus"}, trusted("10.0.0.0/8"), "10.0.0.2", false},
		{"trusted proxy forwarding a local client", "10.0.0.2", []string{"127.0.0.1"}, trusted("10.0.0.0/8"), "127.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req fasthttp.Request
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			var ctx fasthttp.RequestCtx
			ip := net.ParseIP(tt.peer)
			ctx.Init(&req, &net.TCPAddr{IP: ip, Port: 40000}, nil)
			src, _, exempt := clientSource(&ctx, tt.trusted)
			if src.String() != tt.wantSrc || exempt != tt.wantExempt {
				t.Errorf("source %s exempt %v, want %s %v", src, exempt, tt.wantSrc, tt.wantExempt)
			}
		})
	}
}

package config

import (
	"net/netip"
	"strings"
	"testing"
)

// TestAdminTokenExposure: an admin API that listens beyond loopback needs
// a token of MinAdminTokenLen characters; on loopback any token will do.
func TestAdminTokenExposure(t *testing.T) {
	long := strings.Repeat("k", MinAdminTokenLen)
	short := long[1:]
	tests := []struct {
		name   string
		server string // server.listen
		admin  string // admin.listen ("" = served on server.listen)
		token  string
		want   []string
	}{
		{"one character on all interfaces", "0.0.0.0:8080", "", "Q",
			[]string{`12:10: admin.token: too short for an admin API listening on "0.0.0.0:8080" (server.listen, not loopback): use at least 24 characters, such as the output of "openssl rand -hex 24"`}},
		{"23 characters on an empty host", ":8080", "", short,
			[]string{`12:10: admin.token: too short for an admin API listening on ":8080" (server.listen, not loopback): use at least 24 characters, such as the output of "openssl rand -hex 24"`}},
		{"short on ::", "[::]:8080", "", short,
			[]string{`12:10: admin.token: too short for an admin API listening on "[::]:8080" (server.listen, not loopback): use at least 24 characters, such as the output of "openssl rand -hex 24"`}},
		{"short on a host name", "gateway.internal:8080", "", short,
			[]string{`12:10: admin.token: too short for an admin API listening on "gateway.internal:8080" (server.listen, not loopback): use at least 24 characters, such as the output of "openssl rand -hex 24"`}},
		{"short on a public admin listener", "127.0.0.1:8080", "0.0.0.0:9090", short,
			[]string{`12:10: admin.token: too short for an admin API listening on "0.0.0.0:9090" (admin.listen, not loopback): use at least 24 characters, such as the output of "openssl rand -hex 24"`}},
		{"24 characters on all interfaces", "0.0.0.0:8080", "", long, nil},
		{"short on a loopback admin listener, public client listener", "0.0.0.0:8080", "127.0.0.1:9090", short, nil},
		{"short on 127.0.0.1", "127.0.0.1:8080", "", "x", nil},
		{"short on 127.0.0.2", "127.0.0.2:8080", "", "x", nil},
		{"short on ::1", "[::1]:8080", "", "x", nil},
		{"short on localhost", "localhost:8080", "", "x", nil},
		{"short on LOCALHOST", "LOCALHOST:8080", "", "x", nil},
		{"no token: admin API off", "0.0.0.0:8080", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal + "server:\n  listen: \"" + tt.server + "\"\nadmin:\n  token: ${TOKEN}\n"
			if tt.admin != "" {
				src += "  listen: \"" + tt.admin + "\"\n"
			}
			got := problems(t, src, map[string]string{"TOKEN": tt.token})
			checkProblems(t, got, tt.want)
			for _, p := range got {
				if tt.token != "" && strings.Contains(p, tt.token) {
					t.Errorf("the problem shows the token: %s", p)
				}
			}
		})
	}
}

func TestTrustedProxiesAndMetricsToken(t *testing.T) {
	t.Run("parsed", func(t *testing.T) {
		c, err := Parse("t.yaml", []byte(minimal+"server:\n  trusted_proxies: [10.0.0.0/8, 127.0.0.1, \"::1\", \"fd00::1/8\"]\nmetrics:\n  token: scrape-secret\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range c.Server.TrustedProxies {
			got = append(got, r.String())
		}
		if strings.Join(got, " ") != "10.0.0.0/8 127.0.0.1/32 ::1/128 fd00::/8" {
			t.Errorf("trusted_proxies = %v", got)
		}
		if c.Metrics.Token.Reveal() != "scrape-secret" {
			t.Errorf("metrics.token not read")
		}
		for _, tc := range []struct {
			addr string
			in   bool
		}{{"10.1.2.3", true}, {"11.0.0.1", false}, {"127.0.0.1", true}, {"127.0.0.2", false}, {"::1", true}, {"::ffff:10.9.9.9", true}, {"fd12::7", true}} {
			in := false
			for _, r := range c.Server.TrustedProxies {
				in = in || r.Contains(netip.MustParseAddr(tc.addr))
			}
			if in != tc.in {
				t.Errorf("%s trusted = %v, want %v", tc.addr, in, tc.in)
			}
		}
	})
	tests := []struct {
		name, src string
		want      []string
	}{
		{"bad range", minimal + "server:\n  trusted_proxies: [10.0.0.0/33, proxy.internal]\n",
			[]string{`10:21: server.trusted_proxies[0]: expected an IP address or a CIDR range such as "10.0.0.1" or "10.0.0.0/8", got "10.0.0.0/33"`,
				`10:34: server.trusted_proxies[1]: expected an IP address or a CIDR range such as "10.0.0.1" or "10.0.0.0/8", got "proxy.internal"`}},
		{"metrics token with a space", minimal + "metrics:\n  token: \"a b\"\n",
			[]string{`10:10: metrics.token: contains whitespace, control or non-ASCII characters`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, problems(t, tt.src, nil), tt.want)
		})
	}
}

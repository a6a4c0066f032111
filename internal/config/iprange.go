package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// IPRange is an IP address or a CIDR range. In YAML it is written
// "10.0.0.1", "10.0.0.0/8", "::1" or "fd00::/8"; an address alone is a
// range of one.
type IPRange netip.Prefix

// ParseIPRange parses an address or a CIDR range.
func ParseIPRange(s string) (IPRange, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "/") {
		p, err := netip.ParsePrefix(t)
		if err == nil {
			return IPRange(p.Masked()), nil
		}
	} else if a, err := netip.ParseAddr(t); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return IPRange(netip.PrefixFrom(a, a.BitLen())), nil
	}
	return IPRange{}, fmt.Errorf("expected an IP address or a CIDR range such as \"10.0.0.1\" or \"10.0.0.0/8\", got %q", s)
}

// Contains reports whether a is in r. IPv4-mapped IPv6 addresses count as
// their IPv4 address.
func (r IPRange) Contains(a netip.Addr) bool {
	p := netip.Prefix(r)
	return p.IsValid() && p.Contains(a.Unmap())
}

// String formats r as a CIDR range ("10.0.0.1/32").
func (r IPRange) String() string { return netip.Prefix(r).String() }

// MarshalText implements encoding.TextMarshaler.
func (r IPRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the rules of
// ParseIPRange.
func (r *IPRange) UnmarshalText(b []byte) error {
	v, err := ParseIPRange(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// loopbackListen reports whether a listen address accepts only local
// connections: its host is "localhost", in 127.0.0.0/8 or ::1. An empty
// host, 0.0.0.0, :: and any other name listen beyond the machine.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

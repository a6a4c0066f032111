package config

// adminExposure checks the admin token against where the admin API
// listens: admin.listen, or server.listen when that is empty. Beyond
// loopback a short token can be guessed from the network, so it needs
// MinAdminTokenLen characters.
func (v *validator) adminExposure(c *Config) {
	tok := c.Admin.Token.Reveal()
	if tok == "" || !printableASCII(tok) {
		return // off, or already reported
	}
	addr, from := c.Admin.Listen, "admin.listen"
	if addr == "" {
		addr, from = c.Server.Listen, "server.listen"
	}
	if addr == "" || hostPortProblem(addr) != "" || loopbackListen(addr) {
		return
	}
	if len(tok) < MinAdminTokenLen {
		v.errf("admin.token", "too short for an admin API listening on %q (%s, not loopback): use at least %d characters, such as the output of \"openssl rand -hex 24\"",
			addr, from, MinAdminTokenLen)
	}
}

func (v *validator) metrics(m *Metrics) {
	if m.Token != "" && !printableASCII(m.Token.Reveal()) {
		v.errf("metrics.token", "contains whitespace, control or non-ASCII characters")
	}
}

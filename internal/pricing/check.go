package pricing

import (
	"strings"

	"github.com/sluice-gw/sluice/internal/config"
)

// Missing is a configured model's target whose requests would cost 0: no
// price for the public model nor for the target's upstream model.
type Missing struct {
	Model    string // public model
	Provider string // the target's provider
	Upstream string // the target's upstream model
}

// Unpriced lists, in config order, the targets of cfg's models that have
// no price, by the rule the gateway charges with: the public model's
// price, else the upstream model's. Pattern models (names ending in '*')
// are skipped: their names are only known per request.
func (t *Table) Unpriced(cfg *config.Config) []Missing {
	var out []Missing
	for i := range cfg.Models {
		m := &cfg.Models[i]
		if strings.HasSuffix(m.Name, "*") {
			continue
		}
		_, public := t.Lookup(m.Name)
		for _, tg := range m.Targets {
			up := tg.Model
			if up == "" {
				up = m.Name
			}
			if _, ok := t.Lookup(up); public || ok {
				continue
			}
			out = append(out, Missing{Model: m.Name, Provider: tg.Provider, Upstream: up})
		}
	}
	return out
}

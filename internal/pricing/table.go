package pricing

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/sluice-gw/sluice/internal/config"
)

//go:embed catalog.yaml
var catalogYAML []byte

// ProviderConfig is the provider of a model the config's pricing section
// adds to the catalog.
const ProviderConfig = "config"

// Entry is one model's row of a Table.
type Entry struct {
	Model    string // the id the provider bills
	Provider string // openai, anthropic, gemini, bedrock; "config" when only the config prices it
	Price    Price
	Aliases  []string // other ids of the same price
	// Overridden: the config's pricing section set this price.
	Overridden bool
	// Unconfirmed: the catalog's figure could not be checked against the
	// vendor's page at the catalog's date.
	Unconfirmed bool
	Note        string
}

// Source is where a provider's catalog prices come from.
type Source struct{ Provider, URL string }

// Table is the catalog with the config's overrides applied: model id →
// price. Build one with New; it is immutable and safe for concurrent use.
// A nil *Table prices nothing.
type Table struct {
	m       map[string]*Entry // ids and aliases
	rows    []*Entry          // sorted by provider, then model
	date    string
	sources []Source
}

// catalogFile is catalog.yaml.
type catalogFile struct {
	Date    string            `yaml:"date"`
	Sources map[string]string `yaml:"sources"`
	Models  []catalogRow      `yaml:"models"`
}

type catalogRow struct {
	Model        string   `yaml:"model"`
	Provider     string   `yaml:"provider"`
	Aliases      []string `yaml:"aliases"`
	Unconfirmed  bool     `yaml:"unconfirmed"`
	Note         string   `yaml:"note"`
	config.Price `yaml:",inline"`
}

// New builds the table of the embedded catalog with overrides (the config's
// pricing section) applied: an override replaces the catalog's price of
// that model id whole, or adds the id.
func New(overrides map[string]config.Price) (*Table, error) {
	var f catalogFile
	if err := yaml.UnmarshalWithOptions(catalogYAML, &f, yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("pricing: catalog.yaml: %w", err)
	}
	t := &Table{m: make(map[string]*Entry, len(f.Models)+len(overrides)), date: f.Date}
	for _, p := range slices.Sorted(maps.Keys(f.Sources)) {
		t.sources = append(t.sources, Source{Provider: p, URL: f.Sources[p]})
	}
	byID := make(map[string]*Entry, len(f.Models)+len(overrides))
	for i := range f.Models {
		r := &f.Models[i]
		if r.Model == "" || f.Sources[r.Provider] == "" {
			return nil, fmt.Errorf("pricing: catalog.yaml: models[%d] %q: a model id and a provider with a source are required", i, r.Model)
		}
		p, err := fromConfig(&r.Price)
		if err != nil {
			return nil, fmt.Errorf("pricing: catalog.yaml: %s: %w", r.Model, err)
		}
		if byID[r.Model] != nil {
			return nil, fmt.Errorf("pricing: catalog.yaml: %s: listed twice", r.Model)
		}
		byID[r.Model] = &Entry{Model: r.Model, Provider: r.Provider, Price: p, Aliases: r.Aliases, Unconfirmed: r.Unconfirmed, Note: r.Note}
	}
	for _, id := range slices.Sorted(maps.Keys(overrides)) {
		c := overrides[id]
		p, err := fromConfig(&c)
		if err != nil {
			return nil, fmt.Errorf("pricing: pricing.%s: %w", id, err)
		}
		e := &Entry{Model: id, Provider: ProviderConfig, Price: p, Overridden: true}
		if old := byID[id]; old != nil {
			e.Provider, e.Aliases = old.Provider, old.Aliases
		}
		byID[id] = e
	}
	for _, e := range byID {
		t.rows = append(t.rows, e)
		for _, a := range e.Aliases {
			if byID[a] == nil {
				t.m[a] = e
			}
		}
	}
	for id, e := range byID { // ids win over aliases
		t.m[id] = e
	}
	slices.SortFunc(t.rows, func(a, b *Entry) int {
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
	return t, nil
}

// Date is the catalog's date (YYYY-MM-DD).
func (t *Table) Date() string { return t.date }

// Sources are the pages the catalog's prices come from, by provider.
func (t *Table) Sources() []Source { return t.sources }

// Entries are the table's rows, sorted by provider, then model id. The
// caller must not modify them.
func (t *Table) Entries() []*Entry { return t.rows }

// Cost returns what u costs on model in USD, and whether model has a
// price (one without costs 0). It does not allocate.
func (t *Table) Cost(model string, u Usage) (float64, bool) {
	e, ok := t.Lookup(model)
	if !ok {
		return 0, false
	}
	return e.Price.Cost(u), true
}

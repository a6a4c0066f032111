// Package pricing owns what a model costs: the price catalog embedded in
// the binary (catalog.yaml, dated, with its sources), the lookup of a
// model id in it (exact id, then the aliases and id rewrites of Lookup),
// and the arithmetic that turns a provider's usage into USD by that
// provider's rules (uncached input, cache reads, 5-minute and 1-hour
// cache writes, output, separately billed reasoning, long-context tiers).
//
// The config's pricing section (config.Price) overrides or extends the
// catalog per model; config owns that syntax and its validation with file
// positions, this package owns the rules. A Table is immutable and safe for
// concurrent use; a model it has no price for costs 0 and Cost says so,
// so that callers can count it. New fails only on an invalid override or
// a broken embedded catalog (a build defect, caught by the tests).
package pricing

// Package auth holds Sluice's virtual keys: secret generation and hashing,
// the in-memory cache the request path authenticates against, the key
// store (SQLite by default, PostgreSQL when configured) and the Service
// that the gateway's admin API and auth stage call.
//
// # Request path
//
// A request's key is checked by Cache.Authenticate: one SHA-256 of the
// presented secret and one lookup in an immutable map from hash to *Policy,
// swapped atomically whenever keys change. It never touches the store, never
// allocates and never fails with an error: a key is OK, missing, unknown
// (unknown and revoked read the same), expired or disabled.
//
// # Secrets
//
// Generated secrets are "sk-sluice-" + 43 base62 characters (32 random
// bytes). Only their SHA-256 and a short display prefix are stored; the
// secret itself is returned once, by Create or Rotate, and appears in no
// log, error, audit entry or key object. Static keys from the config file
// are hashed when the Service starts and are read-only to the admin API.
//
// # Propagation
//
// Every write bumps a single version counter in the store, inside the
// write's transaction and under the counter's row lock, so versions become
// visible in the order they were assigned. Each instance polls the counter
// every auth.sync_interval (default 1s, at most 4s) and, when it moved,
// reads the keys written since the version it has. A change made through
// one instance is therefore in that instance's cache when the admin call
// returns, and in every other instance's cache within sync_interval plus
// one poll round trip: under 5 s, the contract's bound.
//
// # Failure
//
// If the store cannot be reached at start (PostgreSQL down), New still
// returns: static keys work, Ready reports false, admin calls fail with
// ErrNotReady, and a background loop retries (migrations included) until
// the store answers. If a later poll fails, the cache keeps serving the keys
// it has and the failure is logged; the next successful poll catches up.
// Admin errors are typed: *FieldError for bad input (HTTP 400),
// ErrNotFound and ErrTeamNotFound (404), ErrStaticKey, ErrRevoked,
// ErrStaticTeam, ErrTeamExists and ErrTeamInUse (409), ErrNotReady (503);
// anything else is a store failure (500).
//
// # Teams
//
// A team (migration 0003, table teams; or a static team of auth.teams)
// holds limits, a budget, an allowlist and end-user limits that all its
// keys share: a key names it in team_id (the free-text team label of
// older keys stays as it was). The Service keeps every stored team in
// memory beside the keys; team writes bump the same version counter, so a
// poll that finds the version moved reads the changed teams with the
// changed keys, and a team change reaches every instance within the same
// bound as a key change. A delete leaves a tombstone row for the same
// reason; a team created later with that id replaces it. Each rebuild of
// the cache gives every key's Policy the *TeamPolicy of its team, one
// shared by all the team's keys and kept while the team is unchanged; a
// key whose team_id names no team (a static key naming a team not yet
// created, or a team deleted while a key was being moved into it) has
// TeamPolicy nil: no team limits. Static teams are read-only to the admin
// API (ErrStaticTeam), listed first, and win over a stored team of the
// same id. A key's team_id must name a team when it is set
// (a *FieldError otherwise), and a team that keys which are not revoked
// name cannot be deleted (ErrTeamInUse). A team's spend is kept in the
// spend table under TeamSpendID(id), "team:" + id, and its audit entries
// under the same key_id, with actions team.create, team.update and
// team.delete.
//
// # Spend
//
// Spend lives in its own table, per key per UTC day (migration 0002).
// The limiter (internal/ratelimit) adds to it with AddSpend in batches off
// the request path and reloads every key's sums with SpendSince, which
// makes spend survive restarts and lets instances see each other's. The
// key objects Get, List, Update and Rotate return carry spend_usd: the
// sum of the key's current budget period (its total without a period).
// Adding spend never bumps the key version, so it never rebuilds caches.
// The api_keys.spend_usd column of migration 0001 is unused.
package auth

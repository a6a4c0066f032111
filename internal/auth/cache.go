package auth

import (
	"sync/atomic"
	"time"
)

// Cache answers "which key is this?" on the request path: an immutable map
// from a secret's SHA-256 to the key's Policy, replaced as a whole (copy on
// write) whenever keys change. Reads take no lock and never allocate. A
// Cache is safe for concurrent use; the zero value is not usable, use
// NewCache (the Service owns one).
type Cache struct {
	m   atomic.Pointer[map[[32]byte]*Policy]
	now func() time.Time
}

// NewCache returns an empty cache. now is its clock for expiry checks; nil
// means time.Now.
func NewCache(now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	c := &Cache{now: now}
	empty := map[[32]byte]*Policy{}
	c.m.Store(&empty)
	return c
}

// Authenticate checks a presented secret: Hash, then Lookup. An empty
// secret is StatusMissing; one longer than MaxSecretLen is StatusUnknown
// without being hashed. It never touches the store and does not allocate.
func (c *Cache) Authenticate(secret []byte) (*Policy, Status) {
	switch {
	case len(secret) == 0:
		return nil, StatusMissing
	case len(secret) > MaxSecretLen:
		return nil, StatusUnknown
	}
	return c.Lookup(Hash(secret))
}

// Lookup finds the key with secret hash h. For StatusOK the policy is the
// key's; for StatusExpired and StatusDisabled it is returned as well, so
// that the caller can log which key was refused; for StatusUnknown it is
// nil. Only StatusOK admits a request.
func (c *Cache) Lookup(h [32]byte) (*Policy, Status) {
	p := (*c.m.Load())[h]
	switch {
	case p == nil:
		return nil, StatusUnknown
	case !p.graceUntil.IsZero() && !c.now().Before(p.graceUntil):
		return nil, StatusUnknown
	case p.Disabled:
		return p, StatusDisabled
	case !p.ExpiresAt.IsZero() && !c.now().Before(p.ExpiresAt):
		return p, StatusExpired
	}
	return p, StatusOK
}

// Len returns how many secrets the cache holds (a rotated key in its grace
// period counts twice).
func (c *Cache) Len() int { return len(*c.m.Load()) }

// replace swaps in a new map. m must not be modified afterwards.
func (c *Cache) replace(m map[[32]byte]*Policy) { c.m.Store(&m) }

package ratelimit

import (
	"hash/maphash"
	"sync"
)

// numShards spreads scopes over independently locked maps, so that
// requests of different keys rarely contend for one lock.
const numShards = 64

// scopeKind says what a scope limits.
type scopeKind uint8

const (
	scopeKey      scopeKind = iota + 1 // one key: id
	scopeKeyModel                      // one key's use of one model: id, model
	scopeTarget                        // one upstream model of a provider: id = provider, model
	scopeTeam                          // one team: id
	scopeKeyUser                       // one end user of a key: id = key, model = user
	scopeTeamUser                      // one end user of a team: id = team, model = user
)

// scope names the subject of limits. Used as a map key it costs no
// allocation to look up (its strings are referenced, not copied).
type scope struct {
	kind  scopeKind
	id    string
	model string
}

// entry is the limit state of one scope: a requests bucket, a tokens
// bucket and the concurrency slots in use. holds counts the slots and
// token reservations outstanding on it: an entry with holds is never
// evicted, so a Ticket may keep a pointer to it until it settles. All
// fields are guarded by the shard's mutex.
type entry struct {
	req   bucket
	tok   bucket
	conc  int64
	holds int64
	s     scope      // whose state this is (its own copies of the strings)
	user  *userSpend // an end user's spend (enduser.go); nil for other scopes
}

// idle reports whether e carries no state that matters at now: it can be
// dropped and later recreated (full) without changing any decision. An
// end user's spend matters until its last use is before userCut (none
// spent, as on an unpriced model: it does not matter).
func (e *entry) idle(now, userCut int64) bool {
	return e.holds == 0 && e.conc == 0 && e.req.full(now) && e.tok.full(now) &&
		(e.user == nil || e.user.last < userCut || e.user.total == 0)
}

// shard holds the entries of the scopes that hash onto it, keyed by that
// 64-bit hash (computed once per decision, for the shard and the key,
// instead of a map hashing the scope's strings again); an entry whose hash
// another scope already holds — a collision, which no two live scopes are
// expected ever to have — lives in coll.
type shard struct {
	mu   sync.Mutex
	m    map[uint64]*entry
	coll map[scope]*entry
	_    [32]byte // keep neighbouring shards' mutexes off one cache line
}

// memory is the in-process backend: scopes hashed onto shards. It is safe
// for concurrent use.
type memory struct {
	seed   maphash.Seed
	shards [numShards]shard
}

func newMemory() *memory {
	m := &memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = make(map[uint64]*entry)
	}
	return m
}

// hashOf returns s's 64-bit hash.
func (m *memory) hashOf(s scope) uint64 {
	var hm uint64
	if s.model != "" {
		hm = m.str(s.model)
	}
	return mixHash(m.str(s.id), hm, s.kind)
}

// str hashes one of a scope's strings.
func (m *memory) str(s string) uint64 { return maphash.String(m.seed, s) }

// mixHash combines the hashes of a scope's id and model (0: none) and its
// kind into the scope's hash: a request's scopes share ids (the key's, the
// team's) and names (the end user's, the model's), hashed once for all.
func mixHash(hid, hmodel uint64, k scopeKind) uint64 {
	return hid ^ hmodel*0x9e3779b97f4a7c15 ^ uint64(k)*0xff51afd7ed558ccd
}

// shardOf returns the index of the shard that holds the scope of hash h.
func shardOf(h uint64) int { return int(h % numShards) }

// get returns the entry of s (hash h) in shard sh, creating it. sh's lock
// must be held. Creating an entry copies the scope's strings, so that the
// entry does not pin a caller's buffers.
func (sh *shard) get(s scope, h uint64) *entry {
	if e := sh.m[h]; e != nil {
		if e.s == s {
			return e
		}
		if e := sh.coll[s]; e != nil {
			return e
		}
		e := &entry{s: scope{kind: s.kind, id: cloneString(s.id), model: cloneString(s.model)}}
		if sh.coll == nil {
			sh.coll = make(map[scope]*entry)
		}
		sh.coll[e.s] = e
		return e
	}
	e := &entry{s: scope{kind: s.kind, id: cloneString(s.id), model: cloneString(s.model)}}
	sh.m[h] = e
	return e
}

// lookup returns the entry of s (hash h) in sh without creating it (nil
// when absent). sh's lock must be held.
func (sh *shard) lookup(s scope, h uint64) *entry {
	if e := sh.m[h]; e != nil && e.s == s {
		return e
	}
	return sh.coll[s]
}

// sweep drops the idle entries of every shard (end users' spend last used
// before userCut included) and returns how many it dropped. The limiter's
// janitor runs it periodically.
func (m *memory) sweep(now, userCut int64) int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for h, e := range sh.m {
			if e.idle(now, userCut) {
				delete(sh.m, h)
				n++
			}
		}
		for s, e := range sh.coll {
			if e.idle(now, userCut) {
				delete(sh.coll, s)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// size returns how many scopes hold state.
func (m *memory) size() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.m) + len(sh.coll)
		sh.mu.Unlock()
	}
	return n
}

func cloneString(s string) string {
	if s == "" {
		return ""
	}
	return string([]byte(s))
}

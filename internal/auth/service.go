package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// Log keys.
const (
	logKeyComp    = "component"
	logKeyErr     = "err"
	logKeyStore   = "store"
	logKeyKeys    = "keys"
	logKeyVersion = "version"
	logKeyRetryIn = "retry_in"
)

const (
	// firstLoadTimeout bounds New's own attempt to load the store; past it
	// New returns not ready and the background loop keeps trying.
	firstLoadTimeout = 3 * time.Second
	// pollTimeout bounds one poll of the store.
	pollTimeout = 5 * time.Second
	// maxRetry caps the wait between attempts to reach a store that is down.
	maxRetry = 5 * time.Second
	// warnEvery spaces the warnings about a store that stays down.
	warnEvery = time.Minute
)

// Service is the virtual-key service: the cache the request path reads and
// the operations the admin API calls. It is safe for concurrent use.
type Service struct {
	store    Store
	storeKey string // "sqlite" or "postgres", for logs
	cache    *Cache
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	grace    time.Duration

	static      atomic.Pointer[StaticKeys]  // auth.keys; SetStatic swaps them
	staticTeams atomic.Pointer[StaticTeams] // auth.teams; SetStaticTeams swaps them

	mu      sync.Mutex // guards records, teams, version and the teamed caches
	records map[string]*entry
	teams   map[string]*teamEntry // stored teams by id, tombstones included
	version int64

	ready  atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
	closed sync.Once
}

// entry is a stored key and its policy.
type entry struct {
	rec    Record
	policy *Policy      // without its team
	teamed teamedPolicy // with it
}

// teamEntry is a stored team and its policy (nil for a tombstone).
type teamEntry struct {
	rec    TeamRecord
	policy *TeamPolicy
}

// New starts the key service for cfg: it opens the store (PostgreSQL when
// storage.postgres_url is set, else SQLite in data_dir/sluice.db), loads
// the static keys of auth.keys, applies migrations, loads every stored key
// into the cache and starts the loop that picks up changes made by other
// instances every auth.sync_interval. Close stops it.
//
// When PostgreSQL cannot be reached, New still returns a Service: static
// keys authenticate, Ready is false and admin calls return ErrNotReady
// until a background attempt succeeds. A SQLite store that cannot be
// opened or migrated is an error: it will not heal by waiting. ctx bounds
// New's own first attempt only; logger nil discards logs.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Service, error) {
	var (
		st   Store
		err  error
		kind = "sqlite"
	)
	if url := cfg.Storage.PostgresURL.Reveal(); url != "" {
		kind = "postgres"
		st, err = OpenPostgres(url)
	} else {
		st, err = OpenSQLite(cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	s, err := newService(cfg, st, logger, nil)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	s.storeKey = kind
	if err := s.start(ctx, kind == "postgres"); err != nil {
		_ = st.Close()
		return nil, err
	}
	return s, nil
}

// newService builds a Service on st without starting it. now nil is
// time.Now.
func newService(cfg *config.Config, st Store, logger *slog.Logger, now func() time.Time) (*Service, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	interval := cfg.Auth.SyncInterval.D()
	if interval <= 0 {
		interval = config.DefaultSyncInterval
	}
	s := &Service{
		store:    st,
		storeKey: "custom",
		cache:    NewCache(now),
		log:      logger.With(logKeyComp, "auth"),
		now:      now,
		interval: interval,
		grace:    max(cfg.Auth.RotationGrace.D(), 0),
		records:  map[string]*entry{},
		teams:    map[string]*teamEntry{},
	}
	teams, err := PrepareStaticTeams(cfg.Auth.Teams, now())
	if err != nil {
		return nil, err
	}
	s.staticTeams.Store(teams)
	static, err := PrepareStatic(cfg.Auth.Keys, now())
	if err != nil {
		return nil, err
	}
	s.SetStatic(static)
	return s, nil
}

// start makes a first attempt to load the store and starts the background
// loop. With retry false a failed first attempt is returned as an error.
func (s *Service) start(ctx context.Context, retry bool) error {
	first, cancel := context.WithTimeout(ctx, firstLoadTimeout)
	err := s.load(first)
	cancel()
	if err != nil && !retry {
		return err
	}
	if err != nil {
		s.log.Warn("key store not available; static keys only until it is, retrying", logKeyStore, s.storeKey, logKeyErr, err)
	}
	loopCtx, stop := context.WithCancel(context.Background())
	s.cancel = stop
	s.done = make(chan struct{})
	go s.run(loopCtx)
	return nil
}

// Ready reports whether the key store has loaded at least once.
func (s *Service) Ready() bool { return s.ready.Load() }

// Cache returns the cache the request path authenticates against.
func (s *Service) Cache() *Cache { return s.cache }

// Close stops the sync loop and closes the store. It is safe to call more
// than once.
func (s *Service) Close() error {
	var err error
	s.closed.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		err = s.store.Close()
	})
	return err
}

// load migrates the store and loads every key: the first load, or a retry
// until one succeeds.
func (s *Service) load(ctx context.Context) error {
	if err := s.store.Migrate(ctx); err != nil {
		return err
	}
	recs, v, err := s.store.Changes(ctx, 0)
	if err != nil {
		return err
	}
	teams, err := s.store.TeamChanges(ctx, 0)
	if err != nil {
		return err
	}
	s.applyAll(recs, teams, v)
	if !s.ready.Swap(true) {
		s.log.Info("key store loaded", logKeyStore, s.storeKey, logKeyKeys, len(recs), logKeyVersion, v)
	}
	return nil
}

// run loads the store until it succeeds, then polls it for changes every
// interval, until ctx ends.
func (s *Service) run(ctx context.Context) {
	defer close(s.done)
	retry := 100 * time.Millisecond
	failing := false
	lastWarn := time.Now() // start already warned
	for {
		wait := s.interval
		if !s.ready.Load() {
			wait = retry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !s.ready.Load() {
			lctx, cancel := context.WithTimeout(ctx, maxRetry)
			err := s.load(lctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				retry = min(retry*2, maxRetry)
				level := slog.LevelDebug
				if time.Since(lastWarn) >= warnEvery {
					level, lastWarn = slog.LevelWarn, time.Now()
				}
				s.log.Log(ctx, level, "key store still not available; admin API and /readyz wait for it", logKeyStore, s.storeKey, logKeyErr, err, logKeyRetryIn, retry)
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		err := s.poll(pctx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			s.log.Warn("key store poll failed; serving the keys already loaded", logKeyStore, s.storeKey, logKeyErr, err)
		case err == nil && failing:
			failing = false
			s.log.Info("key store poll recovered", logKeyStore, s.storeKey)
		}
	}
}

// poll applies the changes written since the version this instance has.
func (s *Service) poll(ctx context.Context) error {
	s.mu.Lock()
	since := s.version
	s.mu.Unlock()
	recs, v, err := s.store.Changes(ctx, since)
	if err != nil {
		return err
	}
	var teams []TeamRecord
	if v != since {
		// Teams share the keys' version counter: read those written
		// since too (some may be newer than v; applying them twice is
		// harmless).
		if teams, err = s.store.TeamChanges(ctx, since); err != nil {
			return err
		}
	}
	s.applyAll(recs, teams, v)
	return nil
}

// apply records changed keys and rebuilds the cache when anything changed.
// version is the store version the records reflect; 0 (a write made by
// this instance) leaves the poll position alone, since writes of other
// instances with lower versions may not have been seen yet.
func (s *Service) apply(recs []Record, version int64) { s.applyAll(recs, nil, version) }

// applyAll is apply for changed keys and teams.
func (s *Service) applyAll(recs []Record, teams []TeamRecord, version int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.applyTeams(teams)
	for i := range recs {
		r := recs[i]
		if e, ok := s.records[r.ID]; ok && e.rec.Version >= r.Version {
			continue
		}
		s.records[r.ID] = &entry{rec: r, policy: newPolicy(&r.Key)}
		changed = true
	}
	if version > s.version {
		s.version = version
	}
	if changed {
		s.rebuild()
	}
}

// rebuild swaps in a new cache map built from the static keys and the
// records, each key's policy carrying its team's (nil when the key has no
// team or its team_id names no team, static or stored). s.mu must be held.
func (s *Service) rebuild() {
	now := s.now()
	static := s.static.Load().list
	teams := s.teamPolicies()
	m := make(map[[32]byte]*Policy, len(static)+len(s.records))
	for _, e := range s.records {
		r := &e.rec
		if r.Revoked {
			continue
		}
		p := e.policy
		if r.TeamID != "" {
			p = e.teamed.resolve(p, teams[r.TeamID])
		}
		m[r.Hash] = p
		if r.PrevHash != ([32]byte{}) && now.Before(r.PrevUntil) {
			m[r.PrevHash] = p.withGrace(r.PrevUntil)
		}
	}
	// Static keys win a (deliberate) clash with a stored secret: the
	// config file is the operator's last word.
	for _, k := range static {
		p := k.policy
		if k.key.TeamID != "" {
			p = k.teamed.resolve(p, teams[k.key.TeamID])
		}
		m[k.hash] = p
	}
	s.cache.replace(m)
}

// checkReady refuses admin calls before the store's first load.
func (s *Service) checkReady() error {
	if !s.ready.Load() {
		return ErrNotReady
	}
	return nil
}

type actorKey struct{}

// WithActor returns ctx carrying who is making an admin call (for example
// "admin-api 10.0.0.7"), recorded in the audit log. Never pass a secret.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

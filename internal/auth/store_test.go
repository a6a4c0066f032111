package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func testRecord(t *testing.T, name string) Record {
	t.Helper()
	secret, prefix, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	id, err := newID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	exp := now.Add(time.Hour)
	in := KeyInput{Name: name, Models: []string{"m1"}, RPM: 5, BudgetUSD: 1.25, ExpiresAt: &exp,
		Tags: map[string]string{"k": "v"}, ModelLimits: map[string]ModelLimit{"m1": {TPM: 9}}, Guardrails: []string{"g"},
		Priority: PriorityHigh}
	normalize(&in)
	r := Record{Key: Key{ID: id, Prefix: prefix, CreatedAt: now, UpdatedAt: now}, Hash: Hash([]byte(secret))}
	r.setInput(in)
	return r
}

func TestStores(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("migrations are idempotent", func(t *testing.T) {
				st, _ := kind.open(t)
				ctx := context.Background()
				n, err := st.(*sqlStore).m.run(ctx)
				if err != nil || n != 0 {
					t.Fatalf("second run applied %d migrations, err %v; want 0", n, err)
				}
				// Several instances migrating one fresh database at once.
				another := kind.db(t)
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for range 4 {
					s := another()
					wg.Go(func() { errs <- s.Migrate(ctx) })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Errorf("concurrent Migrate: %v", err)
					}
				}
				want, err := loadMigrations(kind.name)
				if err != nil || len(want) == 0 {
					t.Fatalf("loadMigrations(%s) = %d, %v", kind.name, len(want), err)
				}
				rs, err := another().(*sqlStore).db.query(ctx, `SELECT count(*) FROM schema_migrations WHERE component = $1`, "auth")
				if err != nil {
					t.Fatal(err)
				}
				defer rs.Close()
				var count int
				if !rs.Next() || rs.Scan(&count) != nil || count != len(want) {
					t.Errorf("schema_migrations has %d rows, want %d", count, len(want))
				}
			})
			t.Run("crud", func(t *testing.T) { testStoreCRUD(t, kind) })
			t.Run("changes", func(t *testing.T) { testStoreChanges(t, kind) })
			t.Run("pagination", func(t *testing.T) { testStorePages(t, kind) })
		})
	}
}

func testStoreCRUD(t *testing.T, kind storeKind) {
	st, _ := kind.open(t)
	ctx := context.Background()
	r := testRecord(t, "first")
	created, err := st.Create(ctx, r, AuditEntry{Time: r.CreatedAt, Action: ActionCreate, KeyID: r.ID,
		Changes: map[string]json.RawMessage{"name": json.RawMessage(`"first"`)}, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Seq == 0 || created.Version != 1 {
		t.Errorf("created seq %d version %d", created.Seq, created.Version)
	}
	got, err := st.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, created) {
		t.Errorf("Get =\n%+v\nwant\n%+v", got, created)
	}
	if got.Priority != PriorityHigh || storedPriorityOf(t, st, r.ID) != "high" {
		t.Errorf("priority read back %q, stored %q; want high", got.Priority, storedPriorityOf(t, st, r.ID))
	}
	if _, err := st.Get(ctx, "key_missing' OR '1'='1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing id = %v, want ErrNotFound", err)
	}

	// Update writes the record and the audit entry; a nil entry writes
	// nothing; a failing fn passes its error through.
	prev := [32]byte{1, 2, 3}
	until := time.Now().UTC().Truncate(time.Microsecond).Add(time.Minute)
	up, err := st.Update(ctx, r.ID, func(rec *Record) (*AuditEntry, error) {
		rec.RPM, rec.PrevHash, rec.PrevUntil, rec.ExpiresAt, rec.Priority = 99, prev, until, nil, PriorityNormal
		return &AuditEntry{Time: until, Action: ActionUpdate, KeyID: rec.ID, Changes: map[string]json.RawMessage{"rpm": json.RawMessage("99")}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.RPM != 99 || up.Version != 2 || up.PrevHash != prev || !up.PrevUntil.Equal(until) || up.ExpiresAt != nil ||
		up.Priority != PriorityNormal {
		t.Errorf("Update returned %+v", up)
	}
	// Normal is stored as the column's default, as rows written before
	// the column existed have it, and reads back as normal.
	if p := storedPriorityOf(t, st, r.ID); p != "" {
		t.Errorf("normal priority stored as %q, want the default \"\"", p)
	}
	if got, _ := st.Get(ctx, r.ID); !reflect.DeepEqual(got, up) {
		t.Errorf("Get after Update =\n%+v\nwant\n%+v", got, up)
	}
	same, err := st.Update(ctx, r.ID, func(rec *Record) (*AuditEntry, error) { rec.RPM = 1; return nil, nil })
	if err != nil || same.RPM != 99 || same.Version != 2 {
		t.Errorf("no-op Update = %+v, %v", same, err)
	}
	if _, v, _ := st.Changes(ctx, 0); v != 2 {
		t.Errorf("a no-op Update moved the version to %d", v)
	}
	if _, err := st.Update(ctx, r.ID, func(*Record) (*AuditEntry, error) { return nil, ErrRevoked }); !errors.Is(err, ErrRevoked) {
		t.Errorf("Update fn error = %v", err)
	}
	if _, err := st.Update(ctx, "key_nope", func(*Record) (*AuditEntry, error) { return nil, nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a missing id = %v", err)
	}

	// The same hash twice is refused by the unique index.
	dup := testRecord(t, "dup")
	dup.Hash = r.Hash
	if _, err := st.Create(ctx, dup, AuditEntry{Time: dup.CreatedAt, Action: ActionCreate, KeyID: dup.ID}); err == nil {
		t.Error("a second key with the same hash was stored")
	}

	entries, err := st.Audit(ctx, "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != ActionUpdate || entries[1].Action != ActionCreate || entries[1].Actor != "test" ||
		string(entries[0].Changes["rpm"]) != "99" || !entries[0].Time.Equal(until) {
		t.Errorf("audit = %+v", entries)
	}
}

// storedPriorityOf reads key id's priority column as stored.
func storedPriorityOf(t *testing.T, st Store, id string) string {
	t.Helper()
	var p string
	if err := queryOne(context.Background(), st.(*sqlStore).db, `SELECT priority FROM api_keys WHERE id = $1`, []any{id}, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testStoreChanges(t *testing.T, kind storeKind) {
	st, another := kind.open(t)
	other := another()
	ctx := context.Background()
	recs, v, err := st.Changes(ctx, 0)
	if err != nil || len(recs) != 0 || v != 0 {
		t.Fatalf("Changes on an empty store = %d records, version %d, %v", len(recs), v, err)
	}
	// Concurrent writers through two connections: every version is
	// assigned once, and reading from any version forward misses nothing.
	const n = 10
	var wg sync.WaitGroup
	ids := make(chan string, 2*n)
	for _, s := range []Store{st, other} {
		wg.Go(func() {
			for range n {
				r := testRecord(t, "c")
				if _, err := s.Create(ctx, r, AuditEntry{Time: r.CreatedAt, Action: ActionCreate, KeyID: r.ID}); err != nil {
					t.Error(err)
					return
				}
				ids <- r.ID
			}
		})
	}
	wg.Wait()
	close(ids)
	recs, v, err = st.Changes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v != 2*n || len(recs) != 2*n {
		t.Fatalf("after %d creates: version %d, %d records", 2*n, v, len(recs))
	}
	for i, r := range recs {
		if r.Version != int64(i+1) {
			t.Fatalf("record %d has version %d: versions must be 1..n in order", i, r.Version)
		}
	}
	if recs, v2, err := st.Changes(ctx, v); err != nil || len(recs) != 0 || v2 != v {
		t.Errorf("Changes at the current version = %d records, %d, %v", len(recs), v2, err)
	}
	up, err := other.Update(ctx, recs[3].ID, func(r *Record) (*AuditEntry, error) {
		r.Disabled = true
		return &AuditEntry{Time: time.Now(), Action: ActionUpdate, KeyID: r.ID}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, v3, err := st.Changes(ctx, v)
	if err != nil || v3 != v+1 || len(got) != 1 || got[0].ID != up.ID || !got[0].Disabled {
		t.Errorf("Changes after an update = %+v, %d, %v", got, v3, err)
	}
}

func testStorePages(t *testing.T, kind storeKind) {
	st, _ := kind.open(t)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		r := testRecord(t, fmt.Sprint(i))
		if _, err := st.Create(ctx, r, AuditEntry{Time: r.CreatedAt, Action: ActionCreate, KeyID: r.ID}); err != nil {
			t.Fatal(err)
		}
		want = append(want, r.ID)
	}
	var got []string
	after := int64(0)
	for {
		page, err := st.List(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			got = append(got, r.ID)
			after = r.Seq
		}
		if len(page) < 3 {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paged ids = %v, want %v", got, want)
	}
	// Audit: newest first, filtered by key, paged by id.
	all, err := st.Audit(ctx, "", 0, 100)
	if err != nil || len(all) != 7 || all[0].KeyID != want[6] {
		t.Fatalf("audit = %d entries, %v", len(all), err)
	}
	older, err := st.Audit(ctx, "", all[2].ID, 2)
	if err != nil || len(older) != 2 || older[0].ID != all[3].ID || older[1].ID != all[4].ID {
		t.Errorf("audit page before %d = %+v, %v", all[2].ID, older, err)
	}
	one, err := st.Audit(ctx, want[2], 0, 100)
	if err != nil || len(one) != 1 || one[0].KeyID != want[2] {
		t.Errorf("audit of one key = %+v, %v", one, err)
	}
}

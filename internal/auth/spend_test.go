package auth

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

func TestSpend(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			st, _ := kind.open(t)
			clock := newFakeClock() // 2030-01-02T03:04:05Z
			s := startService(t, testConfig(t.TempDir(), config.StaticKey{Key: "sk-static-spend", ID: "static-spender", BudgetUSD: 5, BudgetPeriod: "day"}), st, clock.Now)
			ctx := context.Background()
			day, _ := mustCreate(t, s, KeyInput{Name: "daily", BudgetUSD: 10, BudgetPeriod: PeriodDay})
			month, _ := mustCreate(t, s, KeyInput{Name: "monthly", BudgetUSD: 10, BudgetPeriod: PeriodMonth})
			total, _ := mustCreate(t, s, KeyInput{Name: "none"})

			_, v0, err := st.Changes(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			now := clock.Now()
			lastMonth := time.Date(2029, 12, 31, 23, 0, 0, 0, time.UTC)
			yesterday := now.Add(-24 * time.Hour)
			for _, a := range []struct {
				id  string
				usd float64
				at  time.Time
			}{
				{day.ID, 1.5, now}, {day.ID, 0.25, now}, {day.ID, 4, yesterday},
				{month.ID, 2, now}, {month.ID, 3, yesterday}, {month.ID, 7, lastMonth},
				{total.ID, 1, lastMonth}, {total.ID, 1, now},
				{"static-spender", 0.5, now},
			} {
				if err := s.AddSpend(ctx, a.id, a.usd, a.at); err != nil {
					t.Fatalf("AddSpend: %v", err)
				}
			}
			if _, v, _ := st.Changes(ctx, 0); v != v0 {
				t.Errorf("AddSpend bumped the key version from %d to %d", v0, v)
			}
			approx := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
			for _, tt := range []struct {
				id   string
				want float64
			}{{day.ID, 1.75}, {month.ID, 5}, {total.ID, 2}, {"static-spender", 0.5}} {
				k, err := s.Get(ctx, tt.id)
				if err != nil {
					t.Fatal(err)
				}
				if !approx(k.SpendUSD, tt.want) {
					t.Errorf("Get(%s).SpendUSD = %v, want %v", k.Name, k.SpendUSD, tt.want)
				}
			}
			keys, _, err := s.List(ctx, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{day.ID: 1.75, month.ID: 5, total.ID: 2, "static-spender": 0.5}
			for _, k := range keys {
				if !approx(k.SpendUSD, want[k.ID]) {
					t.Errorf("List: %s spend %v, want %v", k.ID, k.SpendUSD, want[k.ID])
				}
			}
			// Changing the period changes which days count.
			k, err := s.Update(ctx, day.ID, []byte(`{"budget_period":"month"}`))
			if err != nil {
				t.Fatal(err)
			}
			if !approx(k.SpendUSD, 5.75) {
				t.Errorf("after switching to month: spend %v, want 5.75", k.SpendUSD)
			}
			k, _, err = s.Rotate(ctx, month.ID)
			if err != nil || !approx(k.SpendUSD, 5) {
				t.Errorf("Rotate: spend %v, %v", k.SpendUSD, err)
			}

			for _, tt := range []struct {
				since time.Time
				want  map[string]float64
			}{
				{time.Time{}, map[string]float64{day.ID: 5.75, month.ID: 12, total.ID: 2, "static-spender": 0.5}},
				{time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), map[string]float64{day.ID: 5.75, month.ID: 5, total.ID: 1, "static-spender": 0.5}},
				{time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), map[string]float64{day.ID: 1.75, month.ID: 2, total.ID: 1, "static-spender": 0.5}},
				{time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC), map[string]float64{}},
			} {
				got, err := s.SpendSince(ctx, tt.since)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Errorf("SpendSince(%s) = %v, want %v", tt.since, got, tt.want)
				}
				for id, w := range tt.want {
					if !approx(got[id], w) {
						t.Errorf("SpendSince(%s)[%s] = %v, want %v", tt.since, id, got[id], w)
					}
				}
			}
			for _, bad := range []struct {
				id  string
				usd float64
			}{{"", 1}, {day.ID, -1}, {day.ID, math.NaN()}, {day.ID, math.Inf(1)}} {
				if err := s.AddSpend(ctx, bad.id, bad.usd, now); err == nil {
					t.Errorf("AddSpend(%q, %v) accepted", bad.id, bad.usd)
				}
			}
		})
	}
}

func TestSpendNotReady(t *testing.T) {
	s, err := newService(testConfig(t.TempDir()), &countingStore{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddSpend(context.Background(), "k", 1, time.Now()); !errors.Is(err, ErrNotReady) {
		t.Errorf("AddSpend before the store loaded: %v", err)
	}
	if _, err := s.SpendSince(context.Background(), time.Time{}); !errors.Is(err, ErrNotReady) {
		t.Errorf("SpendSince before the store loaded: %v", err)
	}
}

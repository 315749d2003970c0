package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClaimDelivery(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		dsn := d.fresh(t)
		a, b := openStore(t, dsn), openStore(t, dsn) // two replicas
		now := time.Now()
		if first, err := a.ClaimDelivery(ctx, "env-1", now); !first || err != nil {
			t.Fatalf("first claim: %v, %v; want first", first, err)
		}
		for name, s := range map[string]*Store{"same store": a, "another store": b} {
			if first, err := s.ClaimDelivery(ctx, "env-1", now.Add(time.Second)); first || err != nil {
				t.Errorf("claim again from the %s: %v, %v; want not first", name, first, err)
			}
		}
		if _, err := a.ClaimDelivery(ctx, "", now); err == nil {
			t.Error("an empty ID was claimed")
		}

		// Redeliveries racing over both stores: one claim each wins.
		for round := range 5 {
			id := fmt.Sprintf("race-%d", round)
			var winners atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range 20 {
				s := a
				if g%2 == 1 {
					s = b
				}
				wg.Go(func() {
					<-start
					first, err := s.ClaimDelivery(ctx, id, now)
					if err != nil {
						t.Error(err)
					} else if first {
						winners.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := winners.Load(); n != 1 {
				t.Errorf("round %d: %d first claims, want 1", round, n)
			}
		}
	})
}

func TestPurgeDeliveries(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		for i, id := range []string{"old", "new"} {
			if _, err := s.ClaimDelivery(ctx, id, t0.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.PurgeDeliveries(ctx, t0.Add(30*time.Minute)); n != 1 || err != nil {
			t.Fatalf("PurgeDeliveries = %d, %v; want 1", n, err)
		}
		// Forgotten: a delivery of that ID would be handled again (Slack
		// stopped retrying long before).
		if first, err := s.ClaimDelivery(ctx, "old", t0.Add(2*time.Hour)); !first || err != nil {
			t.Errorf("claim of a purged ID: %v, %v; want first", first, err)
		}
		if first, err := s.ClaimDelivery(ctx, "new", t0.Add(2*time.Hour)); first || err != nil {
			t.Errorf("claim of a kept ID: %v, %v; want not first", first, err)
		}
	})
}

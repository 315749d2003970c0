//go:build integration

package postgres_test

import (
	"context"
	"testing"
	"time"

	"mfbot/adapters/postgres"
	"mfbot/testenv"
)

// The targets of PRODUCT.md §9: `db tables` and the `health` database
// fallback under 300 ms on 1,000,000 positions. Run with
//
//	source testenv/.state/env && go test -tags integration -run '^$' -bench . -benchtime 50x ./adapters/postgres/
//
// The first run fills monitorfishdb_bench (about 30 s); later ones reuse it.
const benchPositions = 1_000_000

func benchDB(b *testing.B) *postgres.DB {
	b.Helper()
	mf := testenv.BenchMonitorFishDB(b, benchPositions)
	d := open(b, mf.URL, postgres.Options{})
	return d
}

func BenchmarkTables(b *testing.B) {
	d := benchDB(b)
	ctx := context.Background()
	tables, err := d.Tables(ctx) // connect, warm the caches
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range tables {
		if t.Name == "positions" && t.RowEstimate < benchPositions*9/10 {
			b.Fatalf("positions estimated at %d rows, want about %d", t.RowEstimate, benchPositions)
		}
	}
	var worst time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := d.Tables(ctx); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	if worst > 300*time.Millisecond {
		b.Errorf("slowest Tables took %s, target < 300 ms", worst)
	}
}

func BenchmarkFreshness(b *testing.B) {
	d := benchDB(b)
	ctx := context.Background()
	f, err := d.Freshness(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if f.LastPositionReceived.IsZero() || f.LastPositionUpdated.IsZero() || f.LastLogbookMessage.IsZero() || !f.SuddenDropKnown {
		b.Fatalf("facts %+v: the bench database should answer every fact", f)
	}
	var worst time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := d.Freshness(ctx); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	if worst > 300*time.Millisecond {
		b.Errorf("slowest Freshness took %s, target < 300 ms", worst)
	}
}

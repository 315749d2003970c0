//go:build integration

package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mfbot/adapters/postgres"
	"mfbot/testenv"
)

// TestPositionHistoryOfTheFixture checks the buckets against plain SQL:
// every position of the window counted once, in the bucket of its time.
func TestPositionHistoryOfTheFixture(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	admin := adminConn(t, mf.AdminURL)
	d := open(t, mf.URL, postgres.Options{})
	to := time.Now().UTC()
	from := to.Add(-24 * time.Hour).Truncate(5 * time.Minute)
	h, err := d.PositionHistory(ctxFor(t, 10*time.Second), from, to, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	if err := admin.QueryRow(ctxFor(t, 10*time.Second), `SELECT count(*) FROM positions WHERE date_time >= $1::timestamp AND date_time < $2::timestamp`, from, to).Scan(&want); err != nil {
		t.Fatal(err)
	}
	var got int64
	for i, b := range h.Buckets {
		got += b.Count
		if b.Start.Location() != time.UTC || b.Start.Sub(from)%(5*time.Minute) != 0 {
			t.Errorf("bucket %d starts at %s: not a 5-minute boundary in UTC", i, b.Start)
		}
		end := b.Start.Add(5 * time.Minute)
		if b.Count <= 0 || b.First.Before(b.Start) || !b.Last.Before(end) || b.Last.Before(b.First) {
			t.Errorf("bucket %+v: first/last outside it, or empty", b)
		}
		if i > 0 && !h.Buckets[i-1].Start.Before(b.Start) {
			t.Errorf("buckets out of order at %d", i)
		}
	}
	if got != want || want == 0 {
		t.Errorf("buckets count %d positions, the table has %d in the window", got, want)
	}
	// The fixture: one position every 2 min per vessel in the last hour,
	// the newest 20 s old: the last bucket holds it.
	newest := queryTime(t, admin, `SELECT max(date_time) FROM positions`)
	if last := h.Buckets[len(h.Buckets)-1]; !last.Last.Equal(newest) {
		t.Errorf("last bucket's newest position %s, want the table's newest %s", last.Last, newest)
	}

	// A window starting after the newest position: no bucket, and Before
	// is that position.
	later, err := d.PositionHistory(ctxFor(t, 10*time.Second), newest.Add(time.Second), newest.Add(time.Hour), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(later.Buckets) != 0 || !later.Before.Equal(newest) {
		t.Errorf("window after the data: %d buckets, before %s; want none and %s", len(later.Buckets), later.Before, newest)
	}
	if _, err := d.PositionHistory(ctxFor(t, time.Second), to, from, 5*time.Minute); err == nil {
		t.Error("a window ending before it starts: no error")
	}
}

// TestPositionHistoryUsesTheDateTimeIndex: the query can be served by the
// date_time index (the fixture is too small for the planner to prefer it
// on its own; with 1,000,000 positions it does, see the README).
func TestPositionHistoryUsesTheDateTimeIndex(t *testing.T) {
	mf := testenv.RequireMonitorFishDB(t)
	d := open(t, mf.URL, postgres.Options{})
	var plan []string
	to := time.Now().UTC()
	err := d.ReadOnly(ctxFor(t, 10*time.Second), "explain", func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+postgres.PositionBucketsSQL, to.Add(-24*time.Hour), to, int64(300))
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "positions_date_time_idx") || strings.Contains(text, "Seq Scan") {
		t.Errorf("plan does not use the date_time index:\n%s", text)
	}
}

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mfbot/database"
)

// positionBucketsSQL counts positions per bucket of $3 seconds over
// [$1, $2). The range on date_time is what the positions_date_time_idx
// index (and TimescaleDB's chunk exclusion) serves: only the window's rows
// are read. The bucket is computed from the epoch rather than with
// date_bin, which PostgreSQL 13 lacks. date_time is UTC without a zone.
const positionBucketsSQL = `
SELECT to_timestamp(floor(extract(epoch FROM date_time) / $3) * $3) AT TIME ZONE 'UTC' AS bucket,
       count(*), min(date_time), max(date_time)
FROM positions
WHERE date_time >= $1::timestamp AND date_time < $2::timestamp
GROUP BY bucket
ORDER BY bucket`

// positionBeforeSQL is the newest position in the day before the window:
// one backward step of the index.
const positionBeforeSQL = `
SELECT max(date_time) FROM positions
WHERE date_time < $1::timestamp AND date_time >= $1::timestamp - INTERVAL '1 day'`

// PositionHistory counts the positions received in [from, to) by bucket.
func (d *DB) PositionHistory(ctx context.Context, from, to time.Time, bucket time.Duration) (database.PositionHistory, error) {
	var h database.PositionHistory
	if bucket < time.Second || !from.Before(to) {
		return h, fmt.Errorf("count positions: bad window %s – %s by %s", from, to, bucket)
	}
	// Timestamps without a zone: pgx sends a time's wall clock, so UTC it is.
	from, to = from.UTC(), to.UTC()
	err := d.readOnly(ctx, "count the positions received", func(ctx context.Context, tx pgx.Tx) error {
		var before *time.Time
		if err := tx.QueryRow(ctx, positionBeforeSQL, from).Scan(&before); err != nil {
			return err
		}
		h.Before = utc(before)
		rows, err := tx.Query(ctx, positionBucketsSQL, from, to, int64(bucket/time.Second))
		if err != nil {
			return err
		}
		h.Buckets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (database.PositionBucket, error) {
			var b database.PositionBucket
			err := row.Scan(&b.Start, &b.Count, &b.First, &b.Last)
			b.Start, b.First, b.Last = b.Start.UTC(), b.First.UTC(), b.Last.UTC()
			return b, err
		})
		return err
	})
	return h, err
}

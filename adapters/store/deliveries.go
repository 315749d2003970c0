package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Slack delivers an event again when its ack is late or lost, and over
// Socket Mode possibly to another connection — another replica. The
// deliveries table is where the replicas agree on who handles it: the
// first to insert its ID.

// ClaimDelivery records that the Slack delivery id (an envelope or event
// ID) is being handled, at now, and reports whether this call was the
// first to claim it: of concurrent callers, in this process or another
// sharing the store, exactly one is.
func (s *Store) ClaimDelivery(ctx context.Context, id string, now time.Time) (bool, error) {
	if id == "" {
		return false, errors.New("claim Slack delivery: empty ID")
	}
	at, err := toNanos(now)
	if err != nil {
		return false, fmt.Errorf("claim Slack delivery: %w", err)
	}
	res, err := s.write.ExecContext(ctx, s.q.claimDelivery, id, at)
	if err != nil {
		return false, fmt.Errorf("claim Slack delivery %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim Slack delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// PurgeDeliveries forgets the deliveries claimed before olderThan (Slack
// stops retrying within minutes) and returns how many it forgot.
func (s *Store) PurgeDeliveries(ctx context.Context, olderThan time.Time) (int, error) {
	return s.purge(ctx, "purge Slack deliveries", s.q.purgeDeliveries, 1, olderThan)
}

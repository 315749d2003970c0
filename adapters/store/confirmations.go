package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"mfbot/confirm"
	"time"
)

// The confirmation ID is a capability (it travels in the button's value):
// errors never quote it.

// CreateConfirmation stores a pending confirmation. Its ID must be new.
func (s *Store) CreateConfirmation(ctx context.Context, p confirm.Request) error {
	if p.ID == "" {
		return errors.New("create confirmation: empty ID")
	}
	created, err := toNanos(p.CreatedAt)
	if err != nil {
		return fmt.Errorf("create confirmation: created at: %w", err)
	}
	expires, err := toNanos(p.ExpiresAt)
	if err != nil {
		return fmt.Errorf("create confirmation: expires at: %w", err)
	}
	_, err = s.write.ExecContext(ctx, s.q.insertConfirmation,
		p.ID, p.Command, p.Env, p.Target, p.RequestedBy, p.Channel, created, expires)
	if err != nil {
		return fmt.Errorf("create confirmation of %q: %w", p.Command, err)
	}
	return nil
}

// DecideConfirmation atomically moves the pending confirmation id to state
// (confirmed or cancelled) by `by` at now, and reports whether this call made
// the decision: of concurrent callers, in this process or another, exactly
// one does. A confirmation is valid while now is before its ExpiresAt; from
// then on it becomes expired (DecidedAt = ExpiresAt, DecidedBy empty) and is
// returned with decided false, as is an already decided one. Unknown IDs
// give confirm.ErrNotFound.
func (s *Store) DecideConfirmation(ctx context.Context, id string, state confirm.State, by string, now time.Time) (confirm.Record, bool, error) {
	var rec confirm.Record
	if state != confirm.Confirmed && state != confirm.Cancelled {
		return rec, false, fmt.Errorf("decide confirmation: state %q: want %s or %s", state, confirm.Confirmed, confirm.Cancelled)
	}
	at, err := toNanos(now)
	if err != nil {
		return rec, false, fmt.Errorf("decide confirmation: now: %w", err)
	}
	var decided bool
	err = inTx(ctx, s.write, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.decideConfirmation, string(state), by, at, id, at)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if decided = n == 1; !decided {
			if _, err := tx.ExecContext(ctx, s.q.expireConfirmation, id, at); err != nil {
				return err
			}
		}
		rec, err = scanConfirmation(tx.QueryRowContext(ctx, s.q.selectConfirmation, id))
		return err
	})
	if err != nil {
		if errors.Is(err, confirm.ErrNotFound) {
			return rec, false, err
		}
		return rec, false, fmt.Errorf("decide confirmation: %w", err)
	}
	return rec, decided, nil
}

// Confirmation reads a confirmation as it stands (a pending one past its
// expiry still reads pending until someone decides it).
func (s *Store) Confirmation(ctx context.Context, id string) (confirm.Record, error) {
	rec, err := scanConfirmation(s.read.QueryRowContext(ctx, s.q.selectConfirmation, id))
	if err != nil && !errors.Is(err, confirm.ErrNotFound) {
		return rec, fmt.Errorf("read confirmation: %w", err)
	}
	return rec, err
}

// PurgeConfirmations deletes the confirmations decided before olderThan and
// those that expired before it, and returns how many it deleted. olderThan
// should not be in the future (a still pending one expiring before it would go).
func (s *Store) PurgeConfirmations(ctx context.Context, olderThan time.Time) (int, error) {
	return s.purge(ctx, "purge confirmations", s.q.purgeConfirmations, 2, olderThan)
}

func scanConfirmation(row *sql.Row) (confirm.Record, error) {
	var rec confirm.Record
	var created, expires int64
	var state string
	var decidedAt sql.NullInt64
	err := row.Scan(&rec.ID, &rec.Command, &rec.Env, &rec.Target, &rec.RequestedBy, &rec.Channel,
		&created, &expires, &state, &rec.DecidedBy, &decidedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, confirm.ErrNotFound
	}
	if err != nil {
		return rec, err
	}
	rec.CreatedAt, rec.ExpiresAt = fromNanos(created), fromNanos(expires)
	rec.State, rec.DecidedAt = confirm.State(state), fromNullNanos(decidedAt)
	return rec, nil
}

var _ confirm.Store = (*Store)(nil)

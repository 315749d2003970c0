package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"mfbot/mute"
	"time"
)

// AddMute stores a mute and returns it with its ID.
func (s *Store) AddMute(ctx context.Context, m mute.Mute) (mute.Mute, error) {
	until, err := toNanos(m.Until)
	if err != nil {
		return m, fmt.Errorf("add mute: until: %w", err)
	}
	created, err := toNanos(m.CreatedAt)
	if err != nil {
		return m, fmt.Errorf("add mute: created at: %w", err)
	}
	err = s.write.QueryRowContext(ctx, s.q.insertMute, m.Env, m.Target, until, m.Reason, m.By, created).Scan(&m.ID)
	if err != nil {
		return m, fmt.Errorf("add mute of %s/%s: %w", m.Env, m.Target, err)
	}
	return m, nil
}

// EndMutes ends, at now, the active mutes of env for target (mute.All
// or "": all of env's) and says how many it ended. Ended mutes are kept,
// with their new end: the record of a maintenance window stays.
func (s *Store) EndMutes(ctx context.Context, env, target string, now time.Time) (int, error) {
	if target == "" {
		target = mute.All
	}
	at, err := toNanos(now)
	if err != nil {
		return 0, fmt.Errorf("end mutes: %w", err)
	}
	res, err := s.write.ExecContext(ctx, s.q.endMutes, at, env, target, target, at)
	if err != nil {
		return 0, fmt.Errorf("end mutes of %s/%s: %w", env, target, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("end mutes of %s/%s: %w", env, target, err)
	}
	return int(n), nil
}

// ActiveMutes returns the mutes still running at now, ending soonest first.
func (s *Store) ActiveMutes(ctx context.Context, now time.Time) ([]mute.Mute, error) {
	at, err := toNanos(now)
	if err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, s.q.activeMutes, at)
	if err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	defer rows.Close()
	var out []mute.Mute
	for rows.Next() {
		var m mute.Mute
		var until, created int64
		if err := rows.Scan(&m.ID, &m.Env, &m.Target, &until, &m.Reason, &m.By, &created); err != nil {
			return nil, fmt.Errorf("list mutes: %w", err)
		}
		m.Until, m.CreatedAt = fromNanos(until), fromNanos(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	return out, nil
}

var _ mute.Store = (*Store)(nil)

// SaveCursor remembers how far a watcher of env/source has processed its
// stream; it never moves back.
func (s *Store) SaveCursor(ctx context.Context, env, source string, cursor time.Time) error {
	at, err := toNanos(cursor)
	if err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	if _, err := s.write.ExecContext(ctx, s.q.upsertCursor, env, source, at); err != nil {
		return fmt.Errorf("save cursor of %s/%s: %w", env, source, err)
	}
	return nil
}

// Cursor returns the saved cursor of env/source (zero when none).
func (s *Store) Cursor(ctx context.Context, env, source string) (time.Time, error) {
	var at int64
	err := s.read.QueryRowContext(ctx, s.q.selectCursor, env, source).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("read cursor of %s/%s: %w", env, source, err)
	}
	return fromNanos(at), nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"mfbot/reply"
	"time"
)

// SaveThreadTarget remembers what the bot's message channel/ts is about, so
// that a mention in its thread defaults to t. Saving again replaces it.
func (s *Store) SaveThreadTarget(ctx context.Context, channel, ts string, t reply.Target) error {
	if channel == "" || ts == "" {
		return errors.New("save thread target: empty channel or message ts")
	}
	var at int64
	if !t.At.IsZero() {
		var err error
		if at, err = toNanos(t.At); err != nil {
			return fmt.Errorf("save thread target of %s/%s: %w", channel, ts, err)
		}
	}
	_, err := s.write.ExecContext(ctx, s.q.upsertThreadTarget, channel, ts, t.Env, t.Service, time.Now().UnixNano(), at)
	if err != nil {
		return fmt.Errorf("save thread target of %s/%s: %w", channel, ts, err)
	}
	return nil
}

// ThreadTarget returns what the bot's message channel/ts is about, and false
// when nothing was saved for it.
func (s *Store) ThreadTarget(ctx context.Context, channel, ts string) (reply.Target, bool, error) {
	var t reply.Target
	var at int64
	err := s.read.QueryRowContext(ctx, s.q.selectThreadTarget, channel, ts).Scan(&t.Env, &t.Service, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return reply.Target{}, false, nil
	case err != nil:
		return reply.Target{}, false, fmt.Errorf("read thread target of %s/%s: %w", channel, ts, err)
	}
	if at != 0 {
		t.At = fromNanos(at)
	}
	return t, true, nil
}

// PurgeThreadTargets forgets the targets saved before olderThan and returns
// how many it forgot.
func (s *Store) PurgeThreadTargets(ctx context.Context, olderThan time.Time) (int, error) {
	return s.purge(ctx, "purge thread targets", s.q.purgeThreadTargets, 1, olderThan)
}

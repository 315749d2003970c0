package store

import (
	"context"
	"fmt"
	"mfbot/audit"
	"time"
)

// MaxAuditLimit bounds RecentAudit.
const MaxAuditLimit = 1000

// AppendAudit stores e. A zero e.Time is stored as the time of the call.
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	at, err := toNanos(e.Time)
	if err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	_, err = s.write.ExecContext(ctx, s.q.insertAudit,
		at, e.User, e.Channel, e.Env, e.Command, e.Target, e.Outcome, int64(e.Duration), e.Via)
	if err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	return nil
}

// RecentAudit returns the newest limit entries, newest first (by Time, then
// by order of arrival). limit is clamped to 1..MaxAuditLimit.
func (s *Store) RecentAudit(ctx context.Context, limit int) ([]audit.Entry, error) {
	limit = min(max(limit, 1), MaxAuditLimit)
	rows, err := s.read.QueryContext(ctx, s.q.recentAudit, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var entries []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var at, duration int64
		if err := rows.Scan(&at, &e.User, &e.Channel, &e.Env, &e.Command, &e.Target, &e.Outcome, &duration, &e.Via); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.Time, e.Duration = fromNanos(at), time.Duration(duration)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return entries, nil
}

var _ audit.Log = (*Store)(nil)

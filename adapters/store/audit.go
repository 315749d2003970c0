package store

import (
	"context"
	"fmt"
	"mfbot/audit"
	"time"
)

// MaxAuditLimit bounds RecentAudit and AuditAbout.
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
	return s.auditEntries(ctx, "read audit log", s.q.recentAudit, min(max(limit, 1), MaxAuditLimit))
}

// AuditAbout returns the entries of env between from and to (inclusive)
// whose target is target or none — commands without a service of their
// own (mute, unmute, deploy, flow …) are stored without one, and only
// their command line says what they were about — oldest first (by Time,
// then by order of arrival), at most limit, clamped to 1..MaxAuditLimit.
func (s *Store) AuditAbout(ctx context.Context, env, target string, from, to time.Time, limit int) ([]audit.Entry, error) {
	doing := fmt.Sprintf("read the audit log of %s about %s", env, target)
	start, err := toNanos(from)
	if err != nil {
		return nil, fmt.Errorf("%s: from: %w", doing, err)
	}
	end, err := toNanos(to)
	if err != nil {
		return nil, fmt.Errorf("%s: to: %w", doing, err)
	}
	return s.auditEntries(ctx, doing, s.q.auditAbout, env, target, start, end, min(max(limit, 1), MaxAuditLimit))
}

// auditEntries runs a query of the audit columns.
func (s *Store) auditEntries(ctx context.Context, doing, query string, args ...any) ([]audit.Entry, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	defer rows.Close()
	var entries []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var at, duration int64
		if err := rows.Scan(&at, &e.User, &e.Channel, &e.Env, &e.Command, &e.Target, &e.Outcome, &duration, &e.Via); err != nil {
			return nil, fmt.Errorf("%s: %w", doing, err)
		}
		e.Time, e.Duration = fromNanos(at), time.Duration(duration)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	return entries, nil
}

var _ audit.Log = (*Store)(nil)

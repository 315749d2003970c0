package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mfbot/incident"
)

// Incidents are stored one row each, their failure times and timeline as
// JSON columns (times as ns, like every other time of the store); their
// notification state (where the Slack root message is, what it shows) and
// their outbox of thread posts in two tables beside. Incidents are
// versioned: a save must carry the version it read (optimistic locking),
// and a partial unique index keeps one open incident per key.

// MaxIncidentLimit bounds RecentIncidents.
const MaxIncidentLimit = 1000

// timelineEntry is an incident.Entry in the timeline column.
type timelineEntry struct {
	T    int64  `json:"t"`
	Text string `json:"text"`
}

// incidentRow is an incident as the insert and update take it (ref
// last), without
// the trailing saved_at / id / version.
func incidentRow(inc *incident.Incident) ([]any, error) {
	first, err := toNanos(inc.FirstSeen)
	if err != nil {
		return nil, fmt.Errorf("first seen: %w", err)
	}
	var nulls [3]sql.NullInt64
	for i, t := range []time.Time{inc.LastSeen, inc.ClosedAt, inc.UpSince} {
		if nulls[i], err = toNullNanos(t); err != nil {
			return nil, err
		}
	}
	failures := make([]int64, 0, len(inc.Failures))
	for _, t := range inc.Failures {
		ns, err := toNanos(t)
		if err != nil {
			return nil, fmt.Errorf("failure time: %w", err)
		}
		failures = append(failures, ns)
	}
	timeline := make([]timelineEntry, 0, len(inc.Timeline))
	for _, e := range inc.Timeline {
		ns, err := toNanos(e.Time)
		if err != nil {
			return nil, fmt.Errorf("timeline: %w", err)
		}
		timeline = append(timeline, timelineEntry{T: ns, Text: e.Text})
	}
	failuresJSON, err := json.Marshal(failures)
	if err != nil {
		return nil, err
	}
	timelineJSON, err := json.Marshal(timeline)
	if err != nil {
		return nil, err
	}
	return []any{inc.Key.Env, inc.Key.Source, inc.Key.Target, string(inc.State), boolInt(inc.State.Closed()),
		first, nulls[0], nulls[1], nulls[2], inc.Count, inc.ExitCode, boolInt(inc.OOM),
		string(inc.Reason), inc.Detail, string(failuresJSON), string(timelineJSON), inc.Noted, inc.Ref}, nil
}

// SaveIncident inserts inc (ID 0), setting inc.ID, or updates it when its
// Version is still the stored one; either way inc.Version is bumped.
// Otherwise — the incident was saved by someone else since it was read,
// or another incident of its key is open — it returns incident.ErrConflict
// and saves nothing.
func (s *Store) SaveIncident(ctx context.Context, inc *incident.Incident) error {
	if inc == nil {
		return errors.New("save incident: nil incident")
	}
	row, err := incidentRow(inc)
	if err != nil {
		return fmt.Errorf("save incident %s: %w", inc.Key, err)
	}
	saved := time.Now().UnixNano()
	if inc.ID == 0 {
		// RETURNING rather than LastInsertId, which pgx does not provide.
		var id int64
		err := s.write.QueryRowContext(ctx, s.q.insertIncident, append(row, saved)...).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("save incident %s: another one is open: %w", inc.Key, incident.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("save incident %s: %w", inc.Key, err)
		}
		inc.ID, inc.Version = id, 1
		return nil
	}
	res, err := s.write.ExecContext(ctx, s.q.updateIncident, append(row, saved, inc.ID, inc.Version)...)
	if isUniqueViolation(err) {
		return fmt.Errorf("save incident %d (%s): another one is open: %w", inc.ID, inc.Key, incident.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save incident %d (%s): %w", inc.ID, inc.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("save incident %d (%s): %w", inc.ID, inc.Key, err)
	}
	if n == 0 {
		if _, err := s.Incident(ctx, inc.ID); errors.Is(err, incident.ErrNotFound) {
			return fmt.Errorf("save incident %d (%s): %w", inc.ID, inc.Key, err)
		}
		return fmt.Errorf("save incident %d (%s) at version %d: %w", inc.ID, inc.Key, inc.Version, incident.ErrConflict)
	}
	inc.Version++
	return nil
}

// Incident returns the incident id, or incident.ErrNotFound.
func (s *Store) Incident(ctx context.Context, id int64) (*incident.Incident, error) {
	inc, err := scanIncident(s.read.QueryRowContext(ctx, s.q.selectIncident, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("incident %d: %w", id, incident.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read incident %d: %w", id, err)
	}
	return inc, nil
}

// OpenIncident returns the open incident of key, nil if none.
func (s *Store) OpenIncident(ctx context.Context, key incident.Key) (*incident.Incident, error) {
	inc, err := scanIncident(s.read.QueryRowContext(ctx, s.q.openIncident, key.Env, key.Source, key.Target))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read open incident of %s: %w", key, err)
	}
	return inc, nil
}

// OpenIncidents returns the incidents not closed, oldest first.
func (s *Store) OpenIncidents(ctx context.Context) ([]*incident.Incident, error) {
	return s.incidents(ctx, "read open incidents", s.q.openIncidents)
}

// RecentIncidents returns the last limit incidents opened, newest first;
// limit is clamped to 1..MaxIncidentLimit.
func (s *Store) RecentIncidents(ctx context.Context, limit int) ([]*incident.Incident, error) {
	return s.incidents(ctx, "read recent incidents", s.q.recentIncidents, min(max(limit, 1), MaxIncidentLimit))
}

func (s *Store) incidents(ctx context.Context, doing, query string, args ...any) ([]*incident.Incident, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	defer rows.Close()
	var out []*incident.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", doing, err)
		}
		out = append(out, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	return out, nil
}

// ClosedIncidents returns the incidents closed at or after since, the
// most recently closed first; limit is clamped to 1..MaxIncidentLimit.
func (s *Store) ClosedIncidents(ctx context.Context, since time.Time, limit int) ([]*incident.Incident, error) {
	at, err := toNanos(since)
	if err != nil {
		return nil, fmt.Errorf("read closed incidents: since: %w", err)
	}
	return s.incidents(ctx, "read closed incidents", s.q.closedIncidents, at, min(max(limit, 1), MaxIncidentLimit))
}

// PurgeIncidents deletes the incidents closed before olderThan, with their
// notification state and thread posts, and returns how many it deleted.
func (s *Store) PurgeIncidents(ctx context.Context, olderThan time.Time) (int, error) {
	return s.purge(ctx, "purge incidents", s.q.purgeIncidents, 1, olderThan)
}

type scanner interface{ Scan(dest ...any) error }

func scanIncident(row scanner) (*incident.Incident, error) {
	var inc incident.Incident
	var state, reason, failuresJSON, timelineJSON string
	var first int64
	var last, closed, upSince sql.NullInt64
	var oom int
	err := row.Scan(&inc.ID, &inc.Key.Env, &inc.Key.Source, &inc.Key.Target, &state, &first, &last, &closed, &upSince,
		&inc.Count, &inc.ExitCode, &oom, &reason, &inc.Detail, &failuresJSON, &timelineJSON, &inc.Noted, &inc.Version, &inc.Ref)
	if err != nil {
		return nil, err
	}
	inc.State, inc.Reason, inc.OOM = incident.State(state), incident.SignalKind(reason), oom != 0
	inc.FirstSeen, inc.LastSeen = fromNanos(first), fromNullNanos(last)
	inc.ClosedAt, inc.UpSince = fromNullNanos(closed), fromNullNanos(upSince)
	var failures []int64
	if err := json.Unmarshal([]byte(failuresJSON), &failures); err != nil {
		return nil, fmt.Errorf("incident %d: failures: %w", inc.ID, err)
	}
	for _, ns := range failures {
		inc.Failures = append(inc.Failures, fromNanos(ns))
	}
	var timeline []timelineEntry
	if err := json.Unmarshal([]byte(timelineJSON), &timeline); err != nil {
		return nil, fmt.Errorf("incident %d: timeline: %w", inc.ID, err)
	}
	for _, e := range timeline {
		inc.Timeline = append(inc.Timeline, incident.Entry{Time: fromNanos(e.T), Text: e.Text})
	}
	return &inc, nil
}

// Notification returns the notification state of incident id; the zero
// state (with IncidentID) when none was saved.
func (s *Store) Notification(ctx context.Context, id int64) (incident.Notification, error) {
	n, err := scanNotification(s.read.QueryRowContext(ctx, s.q.selectNotification, id))
	if errors.Is(err, sql.ErrNoRows) {
		return incident.Notification{IncidentID: id}, nil
	}
	if err != nil {
		return n, fmt.Errorf("read notification of incident %d: %w", id, err)
	}
	return n, nil
}

// SaveNotification saves n, replacing the incident's previous state.
func (s *Store) SaveNotification(ctx context.Context, n incident.Notification) error {
	lastUpdate, err := toNullNanos(n.LastUpdate)
	if err != nil {
		return fmt.Errorf("save notification of incident %d: last update: %w", n.IncidentID, err)
	}
	postingSince, err := toNullNanos(n.PostingSince)
	if err != nil {
		return fmt.Errorf("save notification of incident %d: posting since: %w", n.IncidentID, err)
	}
	_, err = s.write.ExecContext(ctx, s.q.upsertNotification, n.IncidentID, n.Channel, n.RootTS, n.NotifiedVersion,
		lastUpdate, postingSince, n.TimelineSent, boolInt(n.Held), n.GroupID)
	if err != nil {
		return fmt.Errorf("save notification of incident %d: %w", n.IncidentID, err)
	}
	return nil
}

// PendingNotifications returns the notification state of every incident
// with something to deliver (never notified, a newer version, timeline
// entries or thread posts not delivered), by incident ID.
func (s *Store) PendingNotifications(ctx context.Context) ([]incident.Notification, error) {
	out, err := s.notifications(ctx, s.q.pendingNotifications)
	if err != nil {
		return nil, fmt.Errorf("read pending notifications: %w", err)
	}
	return out, nil
}

// GroupNotifications returns the notification state of the incidents
// shown in the grouped message of group (its first incident's ID), by
// incident ID.
func (s *Store) GroupNotifications(ctx context.Context, group int64) ([]incident.Notification, error) {
	out, err := s.notifications(ctx, s.q.groupNotifications, group)
	if err != nil {
		return nil, fmt.Errorf("read the notifications of group %d: %w", group, err)
	}
	return out, nil
}

// notifications runs a query of notificationColumns.
func (s *Store) notifications(ctx context.Context, query string, args ...any) ([]incident.Notification, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func scanNotification(row scanner) (incident.Notification, error) {
	var n incident.Notification
	var lastUpdate, postingSince sql.NullInt64
	var held int
	err := row.Scan(&n.IncidentID, &n.Channel, &n.RootTS, &n.NotifiedVersion, &lastUpdate, &postingSince, &n.TimelineSent, &held, &n.GroupID)
	n.LastUpdate, n.PostingSince, n.Held = fromNullNanos(lastUpdate), fromNullNanos(postingSince), held != 0
	return n, err
}

// AppendThreadPost queues p for the thread of incident id. A zero
// p.CreatedAt is stored as the time of the call.
func (s *Store) AppendThreadPost(ctx context.Context, id int64, p incident.ThreadPost) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	created, err := toNanos(p.CreatedAt)
	if err != nil {
		return fmt.Errorf("append thread post to incident %d: %w", id, err)
	}
	_, err = s.write.ExecContext(ctx, s.q.insertThreadPost, id, p.Kind, p.Title, p.Text, p.Code, created)
	if err != nil {
		return fmt.Errorf("append thread post to incident %d: %w", id, err)
	}
	return nil
}

// PendingThreadPosts returns the undelivered thread posts of incident id,
// in the order they were appended.
func (s *Store) PendingThreadPosts(ctx context.Context, id int64) ([]incident.ThreadPost, error) {
	return s.threadPosts(ctx, s.q.pendingThreadPosts, id)
}

// IncidentThreadPosts returns every thread post of incident id, delivered
// or not, in the order they were appended: delivered posts stay in the
// store (until the incident is purged), so that a report can quote them.
func (s *Store) IncidentThreadPosts(ctx context.Context, id int64) ([]incident.ThreadPost, error) {
	return s.threadPosts(ctx, s.q.allThreadPosts, id)
}

// threadPosts runs a query of incident id's thread posts.
func (s *Store) threadPosts(ctx context.Context, query string, id int64) ([]incident.ThreadPost, error) {
	rows, err := s.read.QueryContext(ctx, query, id)
	if err != nil {
		return nil, fmt.Errorf("read thread posts of incident %d: %w", id, err)
	}
	defer rows.Close()
	var out []incident.ThreadPost
	for rows.Next() {
		var p incident.ThreadPost
		var created int64
		if err := rows.Scan(&p.ID, &p.IncidentID, &p.Kind, &p.Title, &p.Text, &p.Code, &created); err != nil {
			return nil, fmt.Errorf("read thread posts of incident %d: %w", id, err)
		}
		p.CreatedAt = fromNanos(created)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read thread posts of incident %d: %w", id, err)
	}
	return out, nil
}

// MarkThreadPostDone takes a thread post out of the pending ones; marking
// it again does nothing.
func (s *Store) MarkThreadPostDone(ctx context.Context, postID int64) error {
	if _, err := s.write.ExecContext(ctx, s.q.doneThreadPost, time.Now().UnixNano(), postID); err != nil {
		return fmt.Errorf("mark thread post %d done: %w", postID, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// isUniqueViolation: the insert or update broke a UNIQUE index, as
// either dialect's driver says it (SQLite's extended result code,
// PostgreSQL's SQLSTATE 23505 unique_violation).
func isUniqueViolation(err error) bool {
	var lite *sqlite.Error
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &lite):
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	case errors.As(err, &pg):
		return pg.Code == pgUniqueViolation
	}
	return false
}

var _ incident.Store = (*Store)(nil)

package incident

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Errors of a Store.
var (
	// ErrNotFound: no incident with that ID.
	ErrNotFound = errors.New("incident not found")
	// ErrConflict: the incident changed since it was read (its Version
	// moved), or another open incident of the same key exists. Read it
	// again, apply again, save again (Record does).
	ErrConflict = errors.New("incident changed concurrently")
)

// Store persists incidents and the state of their notifications: the
// pipeline (watchers → Apply/Tick → Store → notifier) keeps everything
// there, so that a restart loses and duplicates nothing. adapters/store
// implements it.
type Store interface {
	// OpenIncident returns the incident of key that is not closed, nil if none.
	OpenIncident(ctx context.Context, key Key) (*Incident, error)
	// Incident returns the incident id (ErrNotFound if none).
	Incident(ctx context.Context, id int64) (*Incident, error)
	// SaveIncident inserts inc (ID 0: sets inc.ID) or updates it, and bumps
	// inc.Version. An update must carry the Version it was read with, and
	// at most one incident per key is open: otherwise ErrConflict, and
	// nothing is saved.
	SaveIncident(ctx context.Context, inc *Incident) error
	// OpenIncidents returns every incident not closed, oldest first.
	OpenIncidents(ctx context.Context) ([]*Incident, error)
	// RecentIncidents returns the last limit incidents opened, newest first.
	RecentIncidents(ctx context.Context, limit int) ([]*Incident, error)

	// Notification returns the notification state of incident id (the
	// zero state, with IncidentID set, if none was saved).
	Notification(ctx context.Context, id int64) (Notification, error)
	// SaveNotification saves n (insert or replace).
	SaveNotification(ctx context.Context, n Notification) error
	// PendingNotifications returns, by incident ID, the notification state
	// of the incidents with something to deliver: a version newer than the
	// notified one, timeline entries not delivered, or pending thread posts.
	PendingNotifications(ctx context.Context) ([]Notification, error)
	// GroupNotifications returns the notification state of the incidents
	// of a grouped message (Notification.GroupID), by incident ID.
	GroupNotifications(ctx context.Context, group int64) ([]Notification, error)
	// AppendThreadPost queues a message for the thread of incident id.
	AppendThreadPost(ctx context.Context, id int64, p ThreadPost) error
	// PendingThreadPosts returns the incident's undelivered thread posts, in
	// the order they were appended.
	PendingThreadPosts(ctx context.Context, id int64) ([]ThreadPost, error)
	// MarkThreadPostDone records that a thread post was delivered (or
	// dropped): it is not pending any more.
	MarkThreadPostDone(ctx context.Context, postID int64) error
}

// Notification is where an incident's Slack message is and what it shows.
type Notification struct {
	IncidentID int64
	// Channel and RootTS locate the root message ("" until posted).
	Channel, RootTS string
	// NotifiedVersion is the incident version the root message shows.
	NotifiedVersion int64
	// LastUpdate is when the root was last posted or updated.
	LastUpdate time.Time
	// PostingSince is set just before the root is posted and cleared once
	// RootTS is saved: when set with RootTS empty, a root may exist in
	// Slack that the store does not know of, and must be looked for.
	PostingSince time.Time
	// TimelineSent counts the timeline entries (Incident.Noted) the
	// message and its thread already tell.
	TimelineSent int
	// Held: the incident was muted before its root was posted; if it
	// closes before the mute ends, it is never posted.
	Held bool
	// GroupID, when not 0, is the ID of the incident whose root message
	// is a grouped one showing this incident on a line of its own (in a
	// storm): RootTS is that message's. The group's first incident has
	// its own ID there.
	GroupID int64
}

// ThreadPost is a message for an incident's thread (the log lines before
// the failure, the failed task runs): a headline, a paragraph and
// preformatted text, each optional. It is plain data rather than a
// commands.Reply so that this package stays free of the reply model (and
// commands may use incidents).
type ThreadPost struct {
	ID         int64
	IncidentID int64
	Kind       string // "logs", "note", ...: for logs and metrics
	Title      string
	Text       string
	Code       string // preformatted, e.g. log lines
	CreatedAt  time.Time
}

// Record's read-apply-save loop: at most this many attempts, waiting a
// random time up to a doubling bound between them so that writers in
// contention spread out.
const (
	maxConflictRetries = 30
	conflictBackoff    = time.Millisecond
	conflictBackoffMax = 100 * time.Millisecond
)

// Record folds signal s into the open incident of its key and saves the
// result, reading and applying again when another writer saved first. It
// returns the incident as saved (nil when none is open) and the change.
func Record(ctx context.Context, st Store, r Rules, s Signal) (*Incident, Change, error) {
	backoff := conflictBackoff
	for attempt := range maxConflictRetries {
		if attempt > 0 {
			if err := sleep(ctx, rand.N(backoff)+1); err != nil {
				return nil, ChangeNone, err
			}
			backoff = min(2*backoff, conflictBackoffMax)
		}
		open, err := st.OpenIncident(ctx, s.Key)
		if err != nil {
			return nil, ChangeNone, err
		}
		inc, change := Apply(r, open, s)
		if change == ChangeNone {
			return inc, change, nil
		}
		err = st.SaveIncident(ctx, inc)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, ChangeNone, err
		}
		return inc, change, nil
	}
	return nil, ChangeNone, fmt.Errorf("record %s of %s: %w (%d attempts)", s.Kind, s.Key, ErrConflict, maxConflictRetries)
}

// TickOpen runs Tick over every open incident and saves those that
// recovered; it returns them.
func TickOpen(ctx context.Context, st Store, r Rules, now time.Time) ([]*Incident, error) {
	open, err := st.OpenIncidents(ctx)
	if err != nil {
		return nil, err
	}
	var changed []*Incident
	var errs []error
	for _, inc := range open {
		next, change := Tick(r, inc, now)
		if change == ChangeNone {
			continue
		}
		// A conflict means a signal was saved meanwhile: the next tick
		// sees it (and may still recover the incident).
		if err := st.SaveIncident(ctx, next); err != nil {
			if !errors.Is(err, ErrConflict) {
				errs = append(errs, err)
			}
			continue
		}
		changed = append(changed, next)
	}
	return changed, errors.Join(errs...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

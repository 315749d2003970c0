// Package notify delivers incidents to Slack: one root message per
// incident in the alert channel, updated in place as the incident
// evolves (at most once per incident per UpdateInterval, showing its
// latest state rather than each change), and a thread under it for the
// details: the posts queued with the incident (the log lines before the
// failure), its timeline, the recovery.
//
// Everything lives in the store (incident.Store): what to deliver is the
// difference between an incident and what its notification state says was
// delivered, so the notifier may stop at any point — a crash, a Slack
// outage, a 429 storm — and carry on in order from the store. Delivery is
// at least once, with one exception made exactly once: the root message.
// Its ts is saved after chat.postMessage returns, so the notifier first
// saves that it is posting; if it finds that mark without a ts (it
// crashed, or the answer was lost), it looks for the root in the channel
// by its metadata (the incident ID) before posting again.
package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/incident"
	"mfbot/reply"
)

// Slack is what the notifier needs from the Web API
// (adapters/slack.Client: paced, waits out 429s, retries transient errors).
type Slack interface {
	// Post returns the message's ts as soon as it is posted; with a ts
	// and an error, only the upload of its files failed.
	Post(ctx context.Context, channel, threadTS string, m slackapi.Message) (string, error)
	Update(ctx context.Context, channel, ts string, m slackapi.Message) error
	// FindRoot looks in channel, from since on, for the root message of
	// the incident (its metadata carries the ID).
	FindRoot(ctx context.Context, channel string, incidentID int64, since time.Time) (ts string, found bool, err error)
}

// ThreadTargets remembers what a message is about, so that a mention in
// its thread (`@mfbot logs`) defaults to the incident's target
// (adapters/store.Store).
type ThreadTargets interface {
	SaveThreadTarget(ctx context.Context, channel, ts string, t reply.Target) error
}

// EventKind is what the notifier did, for metrics and tests.
type EventKind string

const (
	EventPosted     EventKind = "posted"     // a root message was posted
	EventAdopted    EventKind = "adopted"    // a root found in the channel was taken as the incident's
	EventUpdated    EventKind = "updated"    // the root was updated
	EventThread     EventKind = "thread"     // a message was posted in the thread
	EventHeld       EventKind = "held"       // muted: not posted (yet)
	EventSuppressed EventKind = "suppressed" // muted until it closed: never posted
	EventGrouped    EventKind = "grouped"    // shown for the first time, on a line of a grouped message
)

// Options tune a Notifier; zero values take the defaults.
type Options struct {
	// UpdateInterval is the least time between two updates of a root
	// (default 10 s): changes in between are shown by one update.
	UpdateInterval time.Duration
	// Poll is how often the store is read again without a Kick (default
	// 5 s): mutes that end, deliveries to retry.
	Poll time.Duration
	// RetryBackoff and RetryBackoffMax: first and largest wait after a
	// failed delivery (default 1 s and 1 min). Slack unavailable stops
	// the whole pass (order is kept); a message Slack refuses holds back
	// its incident only.
	RetryBackoff, RetryBackoffMax time.Duration
	// FindRootMargin is how far before PostingSince a lost root is looked
	// for (default 1 min: clocks differ).
	FindRootMargin time.Duration
	// GroupWindow: an incident that opens in an environment within this
	// time of the last root posted there (or of the last incident that
	// joined it) is shown on a line of that message, which becomes a
	// grouped one (default 30 s; negative: never group). See group.go.
	GroupWindow time.Duration
	// Muted says whether notifications about key are muted at a time. A
	// muted incident's messages are held, and sent when the mute ends —
	// unless it never had a root and closed meanwhile: then never.
	Muted func(incident.Key, time.Time) bool
	// Presenters show the incidents of each source, by incident.Key.Source;
	// a source without one is shown plainly.
	Presenters map[string]Presenter
	// Threads, if set, remembers each root's target.
	Threads ThreadTargets
	// OnEvent, if set, is told of every delivery (metrics).
	OnEvent func(EventKind, *incident.Incident)
	Log     *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Notifier delivers incidents to one alert channel. Run one per store.
type Notifier struct {
	store   incident.Store
	api     Slack
	channel string
	opts    Options
	log     *slog.Logger
	kick    chan struct{}
	retry   map[int64]retryState // incidents Slack refused, by ID (Run's goroutine only)
	// yielded: the last pass stopped early for new incidents (Run's goroutine only).
	yielded bool
	groups  groupState // Run's goroutine only
}

type retryState struct {
	at    time.Time
	delay time.Duration
}

// New returns a notifier posting to channel (a channel ID).
func New(store incident.Store, api Slack, channel string, opts Options) *Notifier {
	if opts.UpdateInterval <= 0 {
		opts.UpdateInterval = 10 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = time.Second
	}
	if opts.RetryBackoffMax <= 0 {
		opts.RetryBackoffMax = time.Minute
	}
	if opts.FindRootMargin <= 0 {
		opts.FindRootMargin = time.Minute
	}
	if opts.GroupWindow == 0 {
		opts.GroupWindow = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Notifier{store: store, api: api, channel: channel, opts: opts,
		log: opts.Log.With("component", "notify"), kick: make(chan struct{}, 1), retry: map[int64]retryState{},
		groups: groupState{roots: map[string]openRoot{}, joined: map[int64]bool{}, dirty: map[int64]bool{}}}
}

// rootRank orders incidents without a root message before the others.
func rootRank(p incident.Notification) int {
	if p.RootTS == "" {
		return 0
	}
	return 1
}

// kicked consumes a pending Kick, if any, and keeps it for Run's next wait.
func (n *Notifier) kicked() bool {
	select {
	case <-n.kick:
		n.Kick()
		return true
	default:
		return false
	}
}

// Kick makes Run look at the store now (after an incident was saved or a
// mute ended) instead of at its next poll. It never blocks.
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// minWait keeps Run from spinning on a wake-up time already past.
const minWait = 10 * time.Millisecond

// Run delivers until ctx ends (then returns nil: what is not delivered
// stays in the store for the next run) or Slack refuses the bot's token
// (it returns that error). Errors of the store and of Slack otherwise are
// logged and retried with backoff.
func (n *Notifier) Run(ctx context.Context) error {
	if n.channel == "" {
		return errors.New("notify: no alert channel")
	}
	var backoff time.Duration
	for {
		wake, err := n.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := n.opts.Now()
		switch {
		case err != nil && slackapi.IsFatalAuthError(err):
			n.log.Error("Slack refused the bot token: notifications stop", "err", err)
			return fmt.Errorf("notify: %w", err)
		case err != nil:
			backoff = min(max(2*backoff, n.opts.RetryBackoff), n.opts.RetryBackoffMax)
			n.log.Warn("delivery failed, retrying", "err", err, "in", backoff)
			wake = now.Add(backoff)
		default:
			backoff = 0
		}
		if err == nil && (wake.IsZero() || wake.After(now.Add(n.opts.Poll))) {
			wake = now.Add(n.opts.Poll)
		}
		// A kick wakes it up, except from a backoff: Slack or the store
		// failing, what is new waits with the rest (the kick is kept).
		kick := n.kick
		if err != nil {
			kick = nil
		}
		t := time.NewTimer(max(wake.Sub(now), minWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// refused: Slack answered and refused this call (ok=false with a code no
// retry cures, other than a fatal auth error). Only the incident concerned
// is held back; anything else (Slack unreachable, the store failing)
// stops the pass.
func refused(err error) bool {
	return slackapi.ErrorCode(err) != "" && !slackapi.IsRetryable(err) && !slackapi.IsFatalAuthError(err)
}

// pass delivers what is due, incident by incident in order of opening,
// and returns when something will next be due (zero: nothing known).
func (n *Notifier) pass(ctx context.Context) (time.Time, error) {
	pending, err := n.store.PendingNotifications(ctx)
	if err != nil {
		return time.Time{}, err
	}
	var wake time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	// New incidents first: in a storm, a first alert must not wait behind
	// the updates and timelines of older ones (the channel's posts are
	// paced). The order of opening is kept within each group.
	slices.SortStableFunc(pending, func(a, b incident.Notification) int {
		return cmp.Compare(rootRank(a), rootRank(b))
	})
	live := make(map[int64]bool, len(pending))
	mayYield := !n.yielded
	n.yielded = false
	for i, p := range pending {
		live[p.IncidentID] = true
		if p.RootTS != "" && mayYield && n.kicked() {
			// Something was opened or changed meanwhile: start a new pass
			// so that a new root goes before the rest of this one (once:
			// a stream of kicks must not starve the updates).
			for _, rest := range pending[i:] {
				live[rest.IncidentID] = true
			}
			n.yielded = true
			return n.opts.Now(), nil
		}
		if r, ok := n.retry[p.IncidentID]; ok && n.opts.Now().Before(r.at) {
			soonest(r.at)
			continue
		}
		if p.GroupID != 0 {
			n.groups.dirty[p.GroupID] = true
			continue
		}
		if joined, err := n.tryJoin(ctx, p); err != nil {
			return wake, fmt.Errorf("incident %d: %w", p.IncidentID, err)
		} else if joined {
			continue
		}
		if p.RootTS != "" && len(n.groups.joined) > 0 {
			// The roots are out: show the incidents that joined a group
			// before the threads and updates, which wait for the
			// channel's pace.
			next, err := n.refreshGroups(ctx, true)
			soonest(next)
			if err != nil {
				return wake, err
			}
		}
		// While other incidents still wait for their root, post only this
		// one's root: every first alert goes out before any thread.
		rootOnly := p.RootTS == "" && i+1 < len(pending) && pending[i+1].RootTS == ""
		next, err := n.deliver(ctx, p, rootOnly)
		switch {
		case err == nil:
			delete(n.retry, p.IncidentID)
			soonest(next)
		case ctx.Err() != nil:
			return wake, ctx.Err()
		case refused(err):
			r := n.retry[p.IncidentID]
			r.delay = min(max(2*r.delay, n.opts.RetryBackoff), n.opts.RetryBackoffMax)
			r.at = n.opts.Now().Add(r.delay)
			n.retry[p.IncidentID] = r
			n.log.Error("Slack refused an incident's message", "incident", p.IncidentID, "err", err, "retry_in", r.delay)
			soonest(r.at)
		default:
			return wake, fmt.Errorf("incident %d: %w", p.IncidentID, err)
		}
	}
	for id := range n.retry {
		if !live[id] {
			delete(n.retry, id)
		}
	}
	next, err := n.refreshGroups(ctx, false)
	soonest(next)
	return wake, err
}

// deliver brings one incident's Slack messages up to date, as far as
// mutes and the update interval allow; it returns when the incident is
// next due (zero: when something changes).
func (n *Notifier) deliver(ctx context.Context, p incident.Notification, rootOnly bool) (time.Time, error) {
	inc, err := n.store.Incident(ctx, p.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		return time.Time{}, nil // purged meanwhile
	}
	if err != nil {
		return time.Time{}, err
	}
	now := n.opts.Now()
	muted := n.opts.Muted != nil && n.opts.Muted(inc.Key, now)
	if p.RootTS == "" {
		switch {
		case (muted || p.Held) && inc.State.Closed():
			return time.Time{}, n.suppress(ctx, inc, p)
		case muted:
			if !p.Held {
				p.Held = true
				if err := n.store.SaveNotification(ctx, p); err != nil {
					return time.Time{}, err
				}
				n.log.Info("alert held: muted", "incident", inc.ID, "key", inc.Key.String(), "state", inc.State)
				n.event(EventHeld, inc)
			}
			return time.Time{}, nil
		}
		if err := n.postRoot(ctx, inc, &p); err != nil {
			return time.Time{}, err
		}
		if rootOnly {
			return n.opts.Now(), nil // its thread comes once the other roots are out
		}
	} else if muted {
		return time.Time{}, nil
	}

	if err := n.postThread(ctx, inc, &p); err != nil {
		return time.Time{}, err
	}
	if inc.Version > p.NotifiedVersion {
		if due := p.LastUpdate.Add(n.opts.UpdateInterval); n.opts.Now().Before(due) {
			return due, nil
		}
		if err := n.update(ctx, inc, &p); err != nil {
			return time.Time{}, err
		}
		if p.RootTS == "" { // the root was deleted: a new one goes out next pass
			return n.opts.Now(), nil
		}
	}
	return time.Time{}, n.postTimeline(ctx, inc, &p)
}

// postRoot posts the incident's root message, or adopts the one a
// previous attempt posted.
func (n *Notifier) postRoot(ctx context.Context, inc *incident.Incident, p *incident.Notification) error {
	if !p.PostingSince.IsZero() {
		where := p.Channel
		if where == "" {
			where = n.channel
		}
		ts, found, err := n.api.FindRoot(ctx, where, inc.ID, p.PostingSince.Add(-n.opts.FindRootMargin))
		switch {
		case err != nil && !refused(err):
			return fmt.Errorf("look for a root posted before: %w", err)
		case err != nil:
			// Without a search (a missing scope), a duplicate beats a lost alert.
			n.log.Error("cannot look for a root message that may have been posted: posting it again", "incident", inc.ID, "err", err)
		case found:
			p.Channel, p.RootTS, p.PostingSince = where, ts, time.Time{}
			p.TimelineSent = max(p.TimelineSent, min(1, inc.Noted))
			p.LastUpdate = time.Time{} // what it shows is unknown: update it now
			if err := n.store.SaveNotification(ctx, *p); err != nil {
				return err
			}
			n.log.Info("alert root found in the channel and adopted", "incident", inc.ID, "key", inc.Key.String(), "channel", where, "ts", ts)
			n.event(EventAdopted, inc)
			n.rememberTarget(ctx, inc, *p)
			return nil
		}
	}
	p.Channel, p.PostingSince = n.channel, n.opts.Now()
	if err := n.store.SaveNotification(ctx, *p); err != nil {
		return err
	}
	ts, err := n.api.Post(ctx, p.Channel, "", rootMessage(inc, n.present(inc)))
	if ts == "" {
		return err // PostingSince stays: the next attempt looks first
	}
	if err != nil {
		n.log.Warn("alert posted, but not its files", "incident", inc.ID, "err", err)
	}
	p.RootTS, p.PostingSince = ts, time.Time{}
	p.NotifiedVersion, p.LastUpdate = inc.Version, n.opts.Now()
	// The root tells the opening; the rest of the timeline goes to the thread.
	p.TimelineSent = max(p.TimelineSent, min(1, inc.Noted))
	if err := n.store.SaveNotification(ctx, *p); err != nil {
		return err
	}
	n.log.Info("alert posted", "incident", inc.ID, "key", inc.Key.String(), "state", inc.State, "channel", p.Channel, "ts", ts)
	n.rememberRoot(inc, *p)
	n.event(EventPosted, inc)
	n.rememberTarget(ctx, inc, *p)
	return nil
}

// update shows the incident's current state in its root message.
func (n *Notifier) update(ctx context.Context, inc *incident.Incident, p *incident.Notification) error {
	msg := rootMessage(inc, n.present(inc))
	msg.Files = nil // they went with the post; Update would upload them again
	err := n.api.Update(ctx, p.Channel, p.RootTS, msg)
	if code := slackapi.ErrorCode(err); code == "message_not_found" {
		n.log.Warn("alert root deleted in Slack: posting a new one", "incident", inc.ID, "ts", p.RootTS)
		p.RootTS, p.PostingSince, p.TimelineSent = "", time.Time{}, 0
		return n.store.SaveNotification(ctx, *p)
	}
	if err != nil {
		return err
	}
	p.NotifiedVersion, p.LastUpdate = inc.Version, n.opts.Now()
	if err := n.store.SaveNotification(ctx, *p); err != nil {
		return err
	}
	n.log.Info("alert updated", "incident", inc.ID, "key", inc.Key.String(), "state", inc.State, "count", inc.Count, "ts", p.RootTS)
	n.rememberTarget(ctx, inc, *p) // the thread's "around the failure" follows the last one
	n.event(EventUpdated, inc)
	return nil
}

// postThread delivers the queued thread posts, in order.
func (n *Notifier) postThread(ctx context.Context, inc *incident.Incident, p *incident.Notification) error {
	posts, err := n.store.PendingThreadPosts(ctx, inc.ID)
	if err != nil {
		return err
	}
	for _, tp := range posts {
		ts, err := n.api.Post(ctx, p.Channel, p.RootTS, threadPostMessage(tp, n.present(inc)))
		switch {
		case ts == "" && undeliverable(err):
			n.log.Error("Slack refused a thread post: dropped", "incident", inc.ID, "post", tp.ID, "kind", tp.Kind, "err", err)
		case ts == "":
			return err
		case err != nil:
			n.log.Warn("thread post delivered, but not its files", "incident", inc.ID, "post", tp.ID, "err", err)
		}
		if err := n.store.MarkThreadPostDone(ctx, tp.ID); err != nil {
			return err
		}
		if ts != "" {
			n.event(EventThread, inc)
		}
	}
	return nil
}

// undeliverable: Slack refused a message for what it is (its content, its
// size), not for where it goes or when: sending it again cannot work, and a
// thread message that cannot be sent must not hold back the ones after it.
// (The client already retried it as text only when the blocks were the
// problem.) A root message is never dropped.
func undeliverable(err error) bool {
	switch slackapi.ErrorCode(err) {
	case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text",
		"invalid_arguments", "invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large",
		"too_many_attachments", "invalid_attachments":
		return true
	}
	return false
}

// postTimeline tells in the thread the timeline entries not yet told, in
// one message, once the root shows the latest state.
func (n *Notifier) postTimeline(ctx context.Context, inc *incident.Incident, p *incident.Notification) error {
	count := inc.Noted - p.TimelineSent
	if count <= 0 || inc.Version > p.NotifiedVersion {
		return nil
	}
	entries := inc.Timeline[max(0, len(inc.Timeline)-count):]
	if len(entries) > 0 {
		closing := inc.State.Closed()
		ts, err := n.api.Post(ctx, p.Channel, p.RootTS, timelineMessage(inc, n.present(inc), entries, closing))
		switch {
		case ts == "" && undeliverable(err):
			n.log.Error("Slack refused a timeline post: dropped", "incident", inc.ID, "err", err)
		case ts == "":
			return err
		default:
			n.event(EventThread, inc)
		}
	}
	p.TimelineSent = inc.Noted
	return n.store.SaveNotification(ctx, *p)
}

// suppress records that an incident muted until it closed is never posted.
func (n *Notifier) suppress(ctx context.Context, inc *incident.Incident, p incident.Notification) error {
	posts, err := n.store.PendingThreadPosts(ctx, inc.ID)
	if err != nil {
		return err
	}
	for _, tp := range posts {
		if err := n.store.MarkThreadPostDone(ctx, tp.ID); err != nil {
			return err
		}
	}
	p.Held, p.NotifiedVersion, p.TimelineSent = true, inc.Version, inc.Noted
	if err := n.store.SaveNotification(ctx, p); err != nil {
		return err
	}
	n.log.Info("alert suppressed: muted until it closed", "incident", inc.ID, "key", inc.Key.String(), "state", inc.State)
	n.event(EventSuppressed, inc)
	return nil
}

func (n *Notifier) rememberTarget(ctx context.Context, inc *incident.Incident, p incident.Notification) {
	if n.opts.Threads == nil {
		return
	}
	t := reply.Target{Env: inc.Key.Env}
	if thread := n.present(inc).Thread; thread != nil {
		t = *thread
	}
	t.At = inc.LastSeen
	if err := n.opts.Threads.SaveThreadTarget(ctx, p.Channel, p.RootTS, t); err != nil {
		n.log.Warn("could not remember the alert's target", "incident", inc.ID, "err", err)
	}
}

// present shows inc as its source does.
func (n *Notifier) present(inc *incident.Incident) Presentation {
	if p, ok := n.opts.Presenters[inc.Key.Source]; ok {
		return p.Present(inc)
	}
	return genericPresenter(inc)
}

func (n *Notifier) event(kind EventKind, inc *incident.Incident) {
	if n.opts.OnEvent != nil {
		n.opts.OnEvent(kind, inc)
	}
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/human"
	"mfbot/incident"
	"mfbot/reply"
)

// Grouping, the way Alertmanager groups alerts: in a storm (twenty
// containers crash-looping together) one root message per incident would
// queue behind the channel's pace of one message per second, so the last
// first alert would wait half a minute. Instead, an incident that opens in
// an environment within GroupWindow of the last root posted (or joined)
// there joins that root, which becomes a grouped message: one line per
// incident, with its Logs button, updated in place (chat.update is not
// paced). The members of a group have no thread of their own: their line
// shows their state, their button their logs.
//
// The group is the first incident's root: that incident's ID is every
// member's Notification.GroupID (its own included), so the store holds the
// whole group and a restart carries on. Which root an environment's new
// incidents may join is remembered in memory only: after a restart, the
// next incident posts a root of its own.

// groupJoinInterval is the least time between two updates of a grouped
// message when incidents join it: their first alert must not wait for
// UpdateInterval, and the joins of a burst share an update. (chat.update
// is not paced per channel like chat.postMessage; Slack allows about 50 a
// minute.)
const groupJoinInterval = 500 * time.Millisecond

// maxGroupLines bounds the lines of a grouped message (Slack's 50 blocks,
// its 10 fields a section): the rest are counted on a last line.
const maxGroupLines = 40

// openRoot is the last root message posted in an environment, which new
// incidents may join until GroupWindow after last.
type openRoot struct {
	group   int64 // the root's incident ID
	channel string
	ts      string
	last    time.Time             // posted, or last joined
	keys    map[incident.Key]bool // the incidents it shows
}

// groupState is the notifier's grouping state (Run's goroutine only).
type groupState struct {
	roots  map[string]openRoot // by environment
	joined map[int64]bool      // groups with a member that joined in this pass
	dirty  map[int64]bool      // groups whose message is out of date
}

// rememberRoot records a root just posted: the environment's next
// incidents may join it.
func (n *Notifier) rememberRoot(inc *incident.Incident, p incident.Notification) {
	if n.opts.GroupWindow < 0 {
		return
	}
	n.groups.roots[inc.Key.Env] = openRoot{group: inc.ID, channel: p.Channel, ts: p.RootTS, last: n.opts.Now(),
		keys: map[incident.Key]bool{inc.Key: true}}
}

// joinable returns the root a new incident of env may join.
func (n *Notifier) joinable(env string) (openRoot, bool) {
	r, ok := n.groups.roots[env]
	if !ok || n.opts.GroupWindow < 0 || n.opts.Now().Sub(r.last) > n.opts.GroupWindow {
		return openRoot{}, false
	}
	return r, true
}

// anyJoinable says whether some environment has a root to join (before
// reading incidents to find out which).
func (n *Notifier) anyJoinable() bool {
	for env := range n.groups.roots {
		if _, ok := n.joinable(env); ok {
			return true
		}
	}
	return false
}

// tryJoin makes p's incident, not posted yet, a line of the grouped
// message of its environment when there is one to join. It reports
// whether it did.
func (n *Notifier) tryJoin(ctx context.Context, p incident.Notification) (bool, error) {
	if p.RootTS != "" || !p.PostingSince.IsZero() || p.Held || !n.anyJoinable() {
		return false, nil
	}
	inc, err := n.store.Incident(ctx, p.IncidentID)
	if errors.Is(err, incident.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	root, ok := n.joinable(inc.Key.Env)
	// The same target failing again after its incident closed is a new
	// alert, not a second line of the same name.
	if !ok || root.keys[inc.Key] || (n.opts.Muted != nil && n.opts.Muted(inc.Key, n.opts.Now())) {
		return false, nil
	}
	first, err := n.store.Notification(ctx, root.group)
	if err != nil {
		return false, err
	}
	if first.RootTS != root.ts {
		// That root was deleted or replaced meanwhile: post on its own.
		delete(n.groups.roots, inc.Key.Env)
		return false, nil
	}
	if first.GroupID == 0 { // a single incident's root becomes a group
		first.GroupID = root.group
		if err := n.store.SaveNotification(ctx, first); err != nil {
			return false, err
		}
		if n.opts.Threads != nil {
			// A mention in the thread is about the environment now.
			if err := n.opts.Threads.SaveThreadTarget(ctx, root.channel, root.ts, reply.Target{Env: inc.Key.Env}); err != nil {
				n.log.Warn("could not remember the grouped alert's target", "group", root.group, "err", err)
			}
		}
	}
	p.GroupID, p.Channel, p.RootTS = root.group, root.channel, root.ts
	p.NotifiedVersion, p.LastUpdate = 0, time.Time{}
	if err := n.store.SaveNotification(ctx, p); err != nil {
		return false, err
	}
	root.last = n.opts.Now()
	root.keys[inc.Key] = true
	n.groups.roots[inc.Key.Env] = root
	n.groups.joined[root.group] = true
	n.groups.dirty[root.group] = true
	n.log.Info("alert grouped", "incident", inc.ID, "key", inc.Key.String(), "group", root.group, "ts", root.ts)
	return true, nil
}

// refreshGroups brings the grouped messages marked dirty in this pass up
// to date (joinedOnly: those that incidents joined), as far as the update
// intervals allow; it returns when one is next due (zero: none).
func (n *Notifier) refreshGroups(ctx context.Context, joinedOnly bool) (time.Time, error) {
	var wake time.Time
	groups := make([]int64, 0, len(n.groups.dirty))
	for g := range n.groups.dirty {
		if !joinedOnly || n.groups.joined[g] {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	for _, g := range groups {
		// refreshGroup marks it again when it is not due yet.
		joined := n.groups.joined[g]
		delete(n.groups.dirty, g)
		delete(n.groups.joined, g)
		due, err := n.refreshGroup(ctx, g, joined)
		if err != nil {
			n.groups.dirty[g], n.groups.joined[g] = true, joined || n.groups.joined[g]
			return wake, fmt.Errorf("group %d: %w", g, err)
		}
		if !due.IsZero() && (wake.IsZero() || due.Before(wake)) {
			wake = due
		}
	}
	return wake, nil
}

// groupMember is one line of a grouped message.
type groupMember struct {
	inc *incident.Incident
	n   incident.Notification
}

// refreshGroup updates group's message when a member changed; joined: a
// member's first alert is waiting for it.
func (n *Notifier) refreshGroup(ctx context.Context, group int64, joined bool) (time.Time, error) {
	notes, err := n.store.GroupNotifications(ctx, group)
	if err != nil {
		return time.Time{}, err
	}
	var members []groupMember
	var last time.Time
	changed := joined
	for _, p := range notes {
		inc, err := n.store.Incident(ctx, p.IncidentID)
		if errors.Is(err, incident.ErrNotFound) {
			continue // purged
		}
		if err != nil {
			return time.Time{}, err
		}
		// A member's thread posts and timeline are not posted: its line
		// tells its state, its Logs button its logs.
		if err := n.dropThreadPosts(ctx, inc.ID); err != nil {
			return time.Time{}, err
		}
		changed = changed || inc.Version > p.NotifiedVersion || inc.Noted > p.TimelineSent
		if p.LastUpdate.After(last) {
			last = p.LastUpdate
		}
		members = append(members, groupMember{inc: inc, n: p})
	}
	if len(members) == 0 || !changed {
		return time.Time{}, nil
	}
	interval := n.opts.UpdateInterval
	if joined {
		interval = groupJoinInterval
	}
	if due := last.Add(interval); n.opts.Now().Before(due) {
		if joined { // it must not be forgotten if nothing else changes
			n.groups.joined[group] = true
		}
		n.groups.dirty[group] = true
		return due, nil
	}
	first := members[0].n
	err = n.api.Update(ctx, first.Channel, first.RootTS, n.groupMessage(group, members))
	if code := slackapi.ErrorCode(err); code == "message_not_found" {
		n.log.Warn("grouped alert deleted in Slack: each incident gets a root again", "group", group, "ts", first.RootTS)
		for _, m := range members {
			m.n.GroupID, m.n.RootTS, m.n.PostingSince, m.n.NotifiedVersion, m.n.LastUpdate = 0, "", time.Time{}, 0, time.Time{}
			if err := n.store.SaveNotification(ctx, m.n); err != nil {
				return time.Time{}, err
			}
		}
		return n.opts.Now(), nil
	}
	if err != nil {
		return time.Time{}, err
	}
	now := n.opts.Now()
	for _, m := range members {
		kind := EventUpdated
		if m.n.NotifiedVersion == 0 {
			kind = EventGrouped
		}
		if m.inc.Version == m.n.NotifiedVersion && m.inc.Noted == m.n.TimelineSent {
			kind = ""
		}
		m.n.NotifiedVersion, m.n.TimelineSent, m.n.LastUpdate = m.inc.Version, m.inc.Noted, now
		if err := n.store.SaveNotification(ctx, m.n); err != nil {
			return time.Time{}, err
		}
		if kind != "" {
			n.event(kind, m.inc)
		}
	}
	n.log.Info("grouped alert updated", "group", group, "incidents", len(members), "ts", first.RootTS)
	return time.Time{}, nil
}

// dropThreadPosts marks an incident's pending thread posts done unposted.
func (n *Notifier) dropThreadPosts(ctx context.Context, id int64) error {
	posts, err := n.store.PendingThreadPosts(ctx, id)
	if err != nil {
		return err
	}
	for _, tp := range posts {
		if err := n.store.MarkThreadPostDone(ctx, tp.ID); err != nil {
			return err
		}
	}
	return nil
}

// groupMessage renders a grouped message: a line per incident (state,
// failures, since when) and each one's Logs button, worst first.
func (n *Notifier) groupMessage(group int64, members []groupMember) slackapi.Message {
	ranked := slices.Clone(members)
	slices.SortStableFunc(ranked, func(a, b groupMember) int { return stateRank(a.inc.State) - stateRank(b.inc.State) })
	env := ranked[0].inc.Key.Env
	open := 0
	var fields []reply.Field
	var actions []reply.Action
	for i, m := range ranked {
		if !m.inc.State.Closed() {
			open++
		}
		pr := n.present(m.inc)
		if i >= maxGroupLines {
			continue
		}
		value := stateEmoji(m.inc.State) + " " + headline(m.inc, pr)
		if !m.inc.State.Closed() && !m.inc.UpSince.IsZero() {
			value += " · up again since " + human.Clock(m.inc.UpSince)
		}
		value += fmt.Sprintf(" · %d %s · since %s", m.inc.Count, human.Plural(m.inc.Count, "failure", "failures"), human.Clock(m.inc.FirstSeen))
		fields = append(fields, reply.Field{Label: m.inc.Key.Target, Value: value})
		for _, a := range pr.Actions {
			if a.KeepWhenClosed {
				a.Label = a.Label + " " + m.inc.Key.Target
				actions = append(actions, a.Action)
				break
			}
		}
	}
	if more := len(ranked) - maxGroupLines; more > 0 {
		fields = append(fields, reply.Field{Label: "More", Value: fmt.Sprintf("%d more %s (`incidents` lists them)", more, human.Plural(more, "incident", "incidents"))})
	}
	title := fmt.Sprintf("%d incidents in %s: %d open", len(ranked), env, open)
	status, emoji := reply.StatusFailed, stateEmoji(ranked[0].inc.State)
	if open == 0 {
		title = fmt.Sprintf("%d incidents in %s: all recovered", len(ranked), env)
		status = reply.StatusOK
	}
	rep := reply.Reply{Status: status, Title: title, Blocks: []reply.Block{&reply.Fields{Fields: fields}},
		Actions: actions, Target: &reply.Target{Env: env}}
	msg := slackapi.RenderWithEmoji(rep, emoji)
	msg.Metadata = slackapi.IncidentMetadata(group)
	return msg
}

// stateRank orders a group's lines: what still fails first.
func stateRank(s incident.State) int {
	switch s {
	case incident.StateCrashLooping:
		return 0
	case incident.StateOpen:
		return 1
	case incident.StateRecovered:
		return 2
	}
	return 3
}

package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/bot/notify"
	"mfbot/incident"
	"mfbot/testenv/slackfake"
)

func svcKey(env, target string) incident.Key {
	return incident.Key{Env: env, Source: "docker", Target: target}
}

// writes counts the writes of the alert channel: posts and updates.
func writes(s *slackfake.Server) (posts, updates int) {
	for _, m := range s.Messages(alerts) {
		posts++
		updates += len(m.Revisions) - 1
	}
	return posts, updates
}

// recover: key is healthy again, and the recorder's tick closes its incident.
func (h *harness) recover(n *notify.Notifier, key incident.Key) {
	h.t.Helper()
	h.record(nil, incident.Signal{Key: key, Kind: incident.SignalHealthy, Time: time.Now().UTC(), HasHealthcheck: true})
	// Healthy long enough, as the recorder's tick sees it later.
	if _, err := incident.TickOpen(context.Background(), h.store, incident.Rules{}, time.Now().Add(time.Hour)); err != nil {
		h.t.Fatal(err)
	}
	n.Kick()
}

func TestStormIsOneGroupedMessage(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{PerChannelInterval: time.Second}) // Slack's real pace
	n, _ := h.run(h.client, notify.Options{})
	var incs []*incident.Incident
	for i := range 20 {
		inc := h.record(n, crashAt(svcKey("prod", fmt.Sprintf("svc-%02d", i)), 1))
		h.appendPost(n, inc, logsPost(fmt.Sprintf("svc-%02d log", i)))
		incs = append(incs, inc)
	}
	other := h.record(n, crashAt(svcKey("staging", "app"), 2)) // another environment: a root of its own

	// Every incident is shown within a few seconds, on one grouped message.
	h.waitFor("all 20 on one message", 5*time.Second, func() bool {
		for _, r := range h.roots() {
			if strings.Contains(r.Text, "20 incidents in prod") {
				return true
			}
		}
		return false
	})
	h.waitFor("the other environment's root", 5*time.Second, func() bool {
		for _, r := range h.roots() {
			if strings.Contains(r.Text, "app in staging") {
				return true
			}
		}
		return false
	})
	time.Sleep(1500 * time.Millisecond) // nothing more comes
	var group slackfake.Message
	for _, r := range h.roots() {
		if strings.Contains(r.Text, "in prod") {
			if group.TS != "" {
				t.Fatalf("two roots in prod: %q and %q", group.Text, r.Text)
			}
			group = r
		}
	}
	if len(h.roots()) != 2 {
		t.Fatalf("%d roots, want the group and staging's", len(h.roots()))
	}
	// The first incident's logs went to its thread before the others came;
	// after that, its incidents have lines, not threads.
	if got := h.replies(group.TS); len(got) > 1 || (len(got) == 1 && !strings.Contains(got[0].Text+string(got[0].Blocks), "svc-00 log")) {
		t.Errorf("the group's thread has %d messages: %v", len(got), got)
	}
	if id := metadataID(t, group); id != incs[0].ID {
		t.Errorf("group metadata incident %d, want the first, %d", id, incs[0].ID)
	}
	b := buttons(t, group)
	for i := range 20 {
		svc := fmt.Sprintf("svc-%02d", i)
		if want := "prod logs " + svc + " --tail 200"; b["Logs "+svc] != want {
			t.Errorf("button Logs %s = %q, want %q", svc, b["Logs "+svc], want)
		}
		if !strings.Contains(string(group.Blocks), svc+"*\\n🔴 exited with code 1 · 1 failure · since ") {
			t.Errorf("no line for %s:\n%s", svc, group.Blocks)
		}
	}
	for _, inc := range append(incs, other) {
		p, err := h.store.Notification(context.Background(), inc.ID)
		if err != nil || p.NotifiedVersion != inc.Version || p.RootTS == "" {
			t.Errorf("incident %s: notification %+v, %v", inc.Key, p, err)
		}
		if posts, _ := h.store.PendingThreadPosts(context.Background(), inc.ID); len(posts) != 0 {
			t.Errorf("incident %s: %d thread posts pending", inc.Key, len(posts))
		}
	}
	if pending, _ := h.store.PendingNotifications(context.Background()); len(pending) != 0 {
		t.Errorf("%d notifications still pending", len(pending))
	}
	grouped := 0
	for _, e := range h.eventList() {
		if strings.HasPrefix(e, string(notify.EventGrouped)+" ") {
			grouped++
		}
	}
	if grouped != 19 {
		t.Errorf("%d incidents grouped, want 19 (the first was posted): %v", grouped, h.eventList())
	}
}

func TestGroupedLinesFollowTheirIncidents(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, stop := h.run(h.client, notify.Options{})
	a := h.record(n, crashAt(svcKey("prod", "app"), 1))
	h.waitFor("app's root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	h.record(n, crashAt(svcKey("prod", "db"), 3))
	h.waitFor("db on app's message", 5*time.Second, func() bool {
		r := h.roots()
		return len(r) == 1 && strings.Contains(r[0].Text, "2 incidents in prod: 2 open")
	})

	// app recovers: its line says so, in the same message, after the update interval.
	h.recover(n, a.Key)
	defer func() {
		if t.Failed() {
			t.Logf("roots: %s", h.roots()[0].Blocks)
		}
	}()
	h.waitFor("app's line recovered", 5*time.Second, func() bool {
		r := h.roots()
		return len(r) == 1 && strings.Contains(string(r[0].Blocks), "app*\\n✅ recovered after")
	})

	// A restarted notifier keeps updating the group from the store.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	n2, _ := h.run(h.client, notify.Options{})
	h.recover(n2, svcKey("prod", "db"))
	h.waitFor("all recovered", 5*time.Second, func() bool {
		r := h.roots()
		return len(r) == 1 && strings.Contains(r[0].Text, "2 incidents in prod: all recovered")
	})
	if len(h.fake.Messages(alerts)) != 1 {
		t.Errorf("%d messages in the channel, want the grouped root alone", len(h.fake.Messages(alerts)))
	}
}

func TestIncidentsApartAreNotGrouped(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{GroupWindow: 300 * time.Millisecond})
	h.record(n, crashAt(svcKey("prod", "app"), 1))
	h.waitFor("app's root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	time.Sleep(500 * time.Millisecond) // beyond the window
	h.record(n, crashAt(svcKey("prod", "db"), 1))
	h.waitFor("db's own root", 5*time.Second, func() bool { return len(h.roots()) == 2 })
	for _, r := range h.roots() {
		if strings.Contains(r.Text, "incidents in") {
			t.Errorf("grouped: %q", r.Text)
		}
	}
}

func TestMutedIncidentsDoNotJoinAGroup(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	muted := func(k incident.Key, _ time.Time) bool { return k.Target == "db" }
	n, _ := h.run(h.client, notify.Options{Muted: muted})
	h.record(n, crashAt(svcKey("prod", "app"), 1))
	h.waitFor("app's root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	db := h.record(n, crashAt(svcKey("prod", "db"), 1))
	h.waitFor("db held", 5*time.Second, func() bool {
		p, _ := h.store.Notification(context.Background(), db.ID)
		return p.Held
	})
	if r := h.roots(); len(r) != 1 || strings.Contains(r[0].Text, "incidents in") {
		t.Errorf("roots %v", r)
	}
}

func TestDeletedGroupGivesRootsAgain(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{UpdateInterval: 100 * time.Millisecond})
	a := h.record(n, crashAt(svcKey("prod", "app"), 1))
	h.waitFor("app's root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	h.record(n, crashAt(svcKey("prod", "db"), 1))
	h.waitFor("grouped", 5*time.Second, func() bool {
		r := h.roots()
		return len(r) == 1 && strings.Contains(r[0].Text, "2 incidents")
	})
	h.fake.FailNext("chat.update", "message_not_found") // deleted in Slack
	h.record(n, crashAt(a.Key, 1))                      // a change to show: the update finds the message gone
	h.waitFor("a root for each", 10*time.Second, func() bool { return len(h.roots()) >= 2 })
	time.Sleep(500 * time.Millisecond)
	if r := h.roots(); len(r) != 2 {
		t.Errorf("%d roots after the group was deleted, want one per incident", len(r))
	}
}

func TestTheSameTargetAgainIsANewRoot(t *testing.T) {
	h := newHarness(t, slackapi.ClientOptions{})
	n, _ := h.run(h.client, notify.Options{})
	app := svcKey("prod", "app")
	h.record(n, crashAt(app, 1))
	h.waitFor("app's root", 5*time.Second, func() bool { return len(h.roots()) == 1 })
	h.recover(n, app)
	h.waitFor("recovered", 5*time.Second, func() bool { return strings.Contains(h.roots()[0].Text, "recovered") })
	h.record(n, crashAt(app, 2)) // a new incident of the same target, within the window
	h.waitFor("a second root", 5*time.Second, func() bool { return len(h.roots()) == 2 })
	for _, r := range h.roots() {
		if strings.Contains(r.Text, "incidents in") {
			t.Errorf("grouped with itself: %q", r.Text)
		}
	}
}

package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/incident"
)

var (
	incT0  = time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	appKey = incident.Key{Env: "prod", Source: "docker", Target: "app"}
)

func crash(key incident.Key, at time.Time) incident.Signal {
	return incident.Signal{Key: key, Kind: incident.SignalCrashed, Time: at, ExitCode: 1, HasHealthcheck: true, Detail: "image app:1.2"}
}

func TestIncidentRoundTrip(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		r := incident.Rules{}
		inc, _ := incident.Apply(r, nil, crash(appKey, incT0))
		oom := crash(appKey, incT0.Add(time.Minute))
		oom.Kind, oom.ExitCode, oom.OOM, oom.Ref = incident.SignalOOMKilled, 137, true, "run-42"
		inc, _ = incident.Apply(r, inc, oom)
		inc, _ = incident.Apply(r, inc, incident.Signal{Key: appKey, Kind: incident.SignalHealthy, Time: incT0.Add(2 * time.Minute)})
		if inc.Ref != "run-42" {
			t.Fatalf("ref not kept: %+v", inc)
		}
		if err := s.SaveIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		if inc.ID == 0 || inc.Version != 1 {
			t.Fatalf("after insert: ID %d version %d", inc.ID, inc.Version)
		}
		got, err := s.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, inc) {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, inc)
		}
		open, err := s.OpenIncident(ctx, appKey)
		if err != nil || !reflect.DeepEqual(open, inc) {
			t.Fatalf("OpenIncident = %+v, %v", open, err)
		}
		if other, err := s.OpenIncident(ctx, incident.Key{Env: "dev", Source: "docker", Target: "app"}); other != nil || err != nil {
			t.Fatalf("open incident of another key: %+v, %v", other, err)
		}
		if _, err := s.Incident(ctx, 999); !errors.Is(err, incident.ErrNotFound) {
			t.Fatalf("unknown ID: %v", err)
		}

		// Recovery closes it: no longer open, still recent, all fields kept.
		closed, ch := incident.Tick(r, inc, incT0.Add(10*time.Minute))
		if ch != incident.ChangeRecovered {
			t.Fatal(ch)
		}
		if err := s.SaveIncident(ctx, closed); err != nil || closed.Version != 2 {
			t.Fatalf("update: version %d, %v", closed.Version, err)
		}
		if open, err := s.OpenIncident(ctx, appKey); open != nil || err != nil {
			t.Fatalf("closed incident still open: %+v, %v", open, err)
		}
		recent, err := s.RecentIncidents(ctx, 10)
		if err != nil || len(recent) != 1 || !reflect.DeepEqual(recent[0], closed) {
			t.Fatalf("RecentIncidents = %+v, %v", recent, err)
		}
	})
}

func TestSaveIncidentVersionsAndConflicts(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		r := incident.Rules{}
		inc, _ := incident.Apply(r, nil, crash(appKey, incT0))
		if err := s.SaveIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		a, _ := s.Incident(ctx, inc.ID)
		b, _ := s.Incident(ctx, inc.ID)
		a, _ = incident.Apply(r, a, crash(appKey, incT0.Add(time.Second)))
		b, _ = incident.Apply(r, b, crash(appKey, incT0.Add(2*time.Second)))
		if err := s.SaveIncident(ctx, a); err != nil || a.Version != 2 {
			t.Fatalf("first writer: version %d, %v", a.Version, err)
		}
		if err := s.SaveIncident(ctx, b); !errors.Is(err, incident.ErrConflict) {
			t.Fatalf("stale writer: %v, want ErrConflict", err)
		}
		if b.Version != 1 {
			t.Errorf("a refused save bumped the version to %d", b.Version)
		}
		if got, _ := s.Incident(ctx, inc.ID); got.Count != 2 || got.Version != 2 {
			t.Errorf("after the conflict: count %d version %d, want the first writer's", got.Count, got.Version)
		}

		// A second open incident of the same key is refused; a closed one is not.
		dup, _ := incident.Apply(r, nil, crash(appKey, incT0.Add(time.Hour)))
		if err := s.SaveIncident(ctx, dup); !errors.Is(err, incident.ErrConflict) || dup.ID != 0 {
			t.Fatalf("second open incident of a key: ID %d, %v", dup.ID, err)
		}
		resolved, _ := incident.Apply(r, a, incident.Signal{Key: appKey, Kind: incident.SignalStopped, Time: incT0.Add(time.Hour)})
		if err := s.SaveIncident(ctx, resolved); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveIncident(ctx, dup); err != nil || dup.ID == inc.ID {
			t.Fatalf("a new incident after the first closed: ID %d, %v", dup.ID, err)
		}
		open, _ := s.OpenIncidents(ctx)
		if len(open) != 1 || open[0].ID != dup.ID {
			t.Fatalf("OpenIncidents = %+v", open)
		}

		gone := *dup
		gone.ID = 12345
		if err := s.SaveIncident(ctx, &gone); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("update of an unknown ID: %v", err)
		}
	})
}

// Concurrent writers of one key, from two processes' worth of
// connections: Record retries on conflict, so every signal is counted in
// one incident.
func TestRecordConcurrently(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		path := d.fresh(t)
		stores := []*Store{openStore(t, path), openStore(t, path)}
		const writers, each = 8, 5
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					at := incT0.Add(time.Duration(w*each+i) * time.Millisecond)
					if _, _, err := incident.Record(ctx, stores[w%2], incident.Rules{}, crash(appKey, at)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		all, err := stores[0].RecentIncidents(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 {
			t.Fatalf("%d incidents, want 1", len(all))
		}
		if all[0].Count != writers*each || all[0].Version != writers*each {
			t.Errorf("count %d version %d, want %d", all[0].Count, all[0].Version, writers*each)
		}
	})
}

func TestTickOpenRecovers(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		r := incident.Rules{RecoveryAfter: time.Minute}
		if _, _, err := incident.Record(ctx, s, r, crash(appKey, incT0)); err != nil {
			t.Fatal(err)
		}
		db := incident.Key{Env: "prod", Source: "docker", Target: "db"}
		if _, _, err := incident.Record(ctx, s, r, crash(db, incT0)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := incident.Record(ctx, s, r, incident.Signal{Key: appKey, Kind: incident.SignalHealthy, Time: incT0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		changed, err := incident.TickOpen(ctx, s, r, incT0.Add(2*time.Minute))
		if err != nil || len(changed) != 1 || changed[0].Key != appKey || changed[0].State != incident.StateRecovered {
			t.Fatalf("TickOpen = %+v, %v", changed, err)
		}
		open, _ := s.OpenIncidents(ctx)
		if len(open) != 1 || open[0].Key != db {
			t.Fatalf("open after the tick: %+v", open)
		}
	})
}

func TestNotificationsAndThreadPosts(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		r := incident.Rules{}
		pendingIDs := func() []int64 {
			t.Helper()
			ns, err := s.PendingNotifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, n := range ns {
				ids = append(ids, n.IncidentID)
			}
			return ids
		}

		a, _, _ := incident.Record(ctx, s, r, crash(appKey, incT0))
		b, _, _ := incident.Record(ctx, s, r, crash(incident.Key{Env: "prod", Source: "docker", Target: "db"}, incT0))
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
			t.Fatalf("never notified: pending %v", got)
		}
		if n, err := s.Notification(ctx, a.ID); err != nil || !reflect.DeepEqual(n, incident.Notification{IncidentID: a.ID}) {
			t.Fatalf("unsaved notification: %+v, %v", n, err)
		}

		n := incident.Notification{IncidentID: a.ID, Channel: "C1", PostingSince: incT0.Add(time.Second)}
		if err := s.SaveNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Notification(ctx, a.ID); !reflect.DeepEqual(got, n) {
			t.Fatalf("read back %+v, want %+v", got, n)
		}
		n = incident.Notification{IncidentID: a.ID, Channel: "C1", RootTS: "1.2", NotifiedVersion: a.Version,
			LastUpdate: incT0.Add(2 * time.Second), TimelineSent: a.Noted, Held: true}
		if err := s.SaveNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Notification(ctx, a.ID); !reflect.DeepEqual(got, n) {
			t.Fatalf("replaced: read back %+v, want %+v", got, n)
		}
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{b.ID}) {
			t.Fatalf("a notified: pending %v", got)
		}
		ns, _ := s.PendingNotifications(ctx)
		if !reflect.DeepEqual(ns[0], incident.Notification{IncidentID: b.ID}) {
			t.Errorf("pending without saved state: %+v", ns[0])
		}

		// A new version is pending again.
		a, _, _ = incident.Record(ctx, s, r, crash(appKey, incT0.Add(time.Minute)))
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
			t.Fatalf("a changed: pending %v", got)
		}
		if ns, _ := s.PendingNotifications(ctx); !reflect.DeepEqual(ns[0], n) {
			t.Errorf("pending state of a: %+v, want %+v", ns[0], n)
		}
		n.NotifiedVersion = a.Version
		_ = s.SaveNotification(ctx, n)
		// Timeline entries not sent are pending too.
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
			t.Fatalf("timeline not sent: pending %v", got)
		}
		n.TimelineSent = a.Noted
		_ = s.SaveNotification(ctx, n)
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{b.ID}) {
			t.Fatalf("a up to date: pending %v", got)
		}

		// Thread posts: pending in order until done, and they make the
		// incident pending.
		for _, title := range []string{"logs", "second", "third"} {
			if err := s.AppendThreadPost(ctx, a.ID, incident.ThreadPost{Kind: "note", Title: title, Text: "t " + title, Code: "c " + title}); err != nil {
				t.Fatal(err)
			}
		}
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
			t.Fatalf("thread posts queued: pending %v", got)
		}
		posts, err := s.PendingThreadPosts(ctx, a.ID)
		if err != nil || len(posts) != 3 {
			t.Fatalf("PendingThreadPosts = %+v, %v", posts, err)
		}
		for i, title := range []string{"logs", "second", "third"} {
			p := posts[i]
			if p.Title != title || p.Text != "t "+title || p.Code != "c "+title || p.Kind != "note" || p.IncidentID != a.ID ||
				time.Since(p.CreatedAt) > time.Minute {
				t.Errorf("post %d: %+v", i, p)
			}
		}
		if other, _ := s.PendingThreadPosts(ctx, b.ID); len(other) != 0 {
			t.Errorf("posts of another incident: %+v", other)
		}
		for _, p := range posts[:2] {
			if err := s.MarkThreadPostDone(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkThreadPostDone(ctx, posts[0].ID); err != nil {
			t.Errorf("marking twice: %v", err)
		}
		if left, _ := s.PendingThreadPosts(ctx, a.ID); len(left) != 1 || left[0].ID != posts[2].ID {
			t.Fatalf("left: %+v", left)
		}
		_ = s.MarkThreadPostDone(ctx, posts[2].ID)
		if got := pendingIDs(); !reflect.DeepEqual(got, []int64{b.ID}) {
			t.Fatalf("posts done: pending %v", got)
		}
	})
}

func TestPurgeIncidents(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		r := incident.Rules{}
		a, _, _ := incident.Record(ctx, s, r, crash(appKey, incT0))
		_ = s.SaveNotification(ctx, incident.Notification{IncidentID: a.ID, Channel: "C1", RootTS: "1.2"})
		_ = s.AppendThreadPost(ctx, a.ID, incident.ThreadPost{Title: "logs"})
		a, _, _ = incident.Record(ctx, s, r, incident.Signal{Key: appKey, Kind: incident.SignalStopped, Time: incT0.Add(time.Minute)})
		db := incident.Key{Env: "prod", Source: "docker", Target: "db"}
		if _, _, err := incident.Record(ctx, s, r, crash(db, incT0)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeIncidents(ctx, incT0.Add(time.Minute)); n != 0 || err != nil {
			t.Fatalf("purge before the close: %d, %v", n, err)
		}
		if n, err := s.PurgeIncidents(ctx, incT0.Add(time.Hour)); n != 1 || err != nil {
			t.Fatalf("purge: %d, %v; want 1 (the open one stays)", n, err)
		}
		if _, err := s.Incident(ctx, a.ID); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("purged incident: %v", err)
		}
		if posts, _ := s.PendingThreadPosts(ctx, a.ID); len(posts) != 0 {
			t.Errorf("posts of a purged incident: %+v", posts)
		}
		if got, _ := s.Notification(ctx, a.ID); got.RootTS != "" {
			t.Errorf("notification of a purged incident: %+v", got)
		}
	})
}

// closeAt saves inc closed (stopped on purpose) at t.
func closeAt(t *testing.T, s *Store, inc *incident.Incident, at time.Time) *incident.Incident {
	t.Helper()
	closed, _ := incident.Apply(incident.Rules{}, inc, incident.Signal{Key: inc.Key, Kind: incident.SignalStopped, Time: at})
	if !closed.State.Closed() {
		t.Fatalf("%s not closed: %s", inc.Key, closed.State)
	}
	if err := s.SaveIncident(context.Background(), closed); err != nil {
		t.Fatal(err)
	}
	return closed
}

func TestClosedIncidents(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		r := incident.Rules{}
		record := func(target string, at time.Time) *incident.Incident {
			t.Helper()
			inc, _, err := incident.Record(ctx, s, r, crash(incident.Key{Env: "prod", Source: "docker", Target: target}, at))
			if err != nil {
				t.Fatal(err)
			}
			return inc
		}
		old := closeAt(t, s, record("geoserver", incT0.Add(-10*24*time.Hour)), incT0.Add(-10*24*time.Hour+time.Minute))
		a := closeAt(t, s, record("app", incT0), incT0.Add(10*time.Minute))
		b := closeAt(t, s, record("db", incT0.Add(time.Minute)), incT0.Add(2*time.Hour))
		open := record("pipeline-flows", incT0)
		idsOf := func(since time.Time, limit int) []int64 {
			t.Helper()
			incs, err := s.ClosedIncidents(ctx, since, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, inc := range incs {
				ids = append(ids, inc.ID)
			}
			return ids
		}
		for _, tc := range []struct {
			name  string
			since time.Time
			limit int
			want  []int64
		}{
			{"the last day, most recently closed first", incT0, 10, []int64{b.ID, a.ID}},
			{"since is inclusive", incT0.Add(10 * time.Minute), 10, []int64{b.ID, a.ID}},
			{"after a's close", incT0.Add(11 * time.Minute), 10, []int64{b.ID}},
			{"limit", incT0, 1, []int64{b.ID}},
			{"limit clamped to 1", incT0, 0, []int64{b.ID}},
			{"a month", incT0.Add(-30 * 24 * time.Hour), 10, []int64{b.ID, a.ID, old.ID}},
		} {
			if got := idsOf(tc.since, tc.limit); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %v, want %v (never the open %d)", tc.name, got, tc.want, open.ID)
			}
		}
		incs, err := s.ClosedIncidents(ctx, incT0, 10)
		if err != nil || !reflect.DeepEqual(incs[0], b) {
			t.Errorf("read back %+v, %v; want %+v", incs[0], err, b)
		}
		if _, err := s.ClosedIncidents(ctx, time.Time{}, 10); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("a zero since: %v", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.ClosedIncidents(cancelled, incT0, 10); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "read closed incidents") {
			t.Errorf("cancelled: %v", err)
		}
	})
}

func TestIncidentThreadPostsKeepsDeliveredOnes(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		a, _, _ := incident.Record(ctx, s, incident.Rules{}, crash(appKey, incT0))
		b, _, _ := incident.Record(ctx, s, incident.Rules{}, crash(incident.Key{Env: "prod", Source: "docker", Target: "db"}, incT0))
		want := []incident.ThreadPost{
			{Kind: incident.PostKindLogs, Title: "Last log lines before the failure", Code: "line 1\nline 2", CreatedAt: incT0.Add(time.Second)},
			{Kind: "note", Title: "second", Text: "a note", CreatedAt: incT0.Add(2 * time.Second)},
		}
		for _, p := range want {
			if err := s.AppendThreadPost(ctx, a.ID, p); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.AppendThreadPost(ctx, b.ID, incident.ThreadPost{Kind: incident.PostKindLogs, Title: "db's", CreatedAt: incT0})
		pending, _ := s.PendingThreadPosts(ctx, a.ID)
		if err := s.MarkThreadPostDone(ctx, pending[0].ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.IncidentThreadPosts(ctx, a.ID)
		if err != nil || len(got) != 2 {
			t.Fatalf("IncidentThreadPosts = %+v, %v; want both, the delivered one too", got, err)
		}
		for i := range want {
			w := want[i]
			w.ID, w.IncidentID = got[i].ID, a.ID
			if !reflect.DeepEqual(got[i], w) {
				t.Errorf("post %d: %+v, want %+v", i, got[i], w)
			}
		}
		if got[0].ID != pending[0].ID {
			t.Errorf("out of order: %+v", got)
		}
		if none, err := s.IncidentThreadPosts(ctx, 999); err != nil || len(none) != 0 {
			t.Errorf("posts of no incident: %+v, %v", none, err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.IncidentThreadPosts(cancelled, a.ID); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "read thread posts of incident") {
			t.Errorf("cancelled: %v", err)
		}
	})
}

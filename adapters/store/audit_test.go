package store

import (
	"context"
	"errors"
	"fmt"
	"mfbot/audit"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuditRoundTrip(t *testing.T) {
	ctx := context.Background()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	want := audit.Entry{
		Time:     time.Date(2025, 3, 30, 2, 30, 15, 123456789, paris), // with a monotonic-free, non-UTC time
		User:     "U0123ABC",
		Channel:  "C0456DEF",
		Env:      "prod",
		Command:  "restart app --since 5m 'quoted' \"double\" é ✅",
		Target:   "app",
		Outcome:  "confirmed",
		Duration: 1234567891 * time.Nanosecond,
		Via:      "slack-socket",
	}
	stores := map[string]func(t *testing.T) *Store{"memory": func(t *testing.T) *Store { return openMemory(t) }}
	for _, d := range dialects() {
		stores[d.name] = func(t *testing.T) *Store { return d.open(t) }
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if err := s.AppendAudit(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := s.RecentAudit(ctx, 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("RecentAudit: %+v, %v", got, err)
			}
			if got[0].Time.Location() != time.UTC {
				t.Errorf("Time read back in %v, want UTC", got[0].Time.Location())
			}
			if !got[0].Time.Equal(want.Time) {
				t.Errorf("Time = %v, want %v", got[0].Time, want.Time)
			}
			w := want
			w.Time = want.Time.UTC()
			if got[0] != w {
				t.Errorf("read back\n%+v\nwant\n%+v", got[0], w)
			}
		})
	}
}

func TestAuditZeroTimeIsNow(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		before := time.Now()
		if err := s.AppendAudit(ctx, audit.Entry{Command: "status"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecentAudit(ctx, 1)
		if err != nil || len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
			t.Fatalf("RecentAudit = %+v, %v: want the time of the call", got, err)
		}
	})
}

func TestRecentAuditOrderAndLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		// Out of order, and two at the same instant: newest first, then latest appended.
		for _, e := range []struct {
			min int
			cmd string
		}{{2, "b"}, {0, "first"}, {5, "d1"}, {3, "c"}, {5, "d2"}} {
			if err := s.AppendAudit(ctx, audit.Entry{Time: base.Add(time.Duration(e.min) * time.Minute), Command: e.cmd}); err != nil {
				t.Fatal(err)
			}
		}
		commandsOf := func(limit int) string {
			entries, err := s.RecentAudit(ctx, limit)
			if err != nil {
				t.Fatal(err)
			}
			var out string
			for _, e := range entries {
				out += e.Command + " "
			}
			return out
		}
		for limit, want := range map[int]string{
			3:   "d2 d1 c ",
			10:  "d2 d1 c b first ",
			0:   "d2 ", // clamped to 1
			-5:  "d2 ",
			1:   "d2 ",
			1e6: "d2 d1 c b first ",
		} {
			if got := commandsOf(limit); got != want {
				t.Errorf("RecentAudit(%d) = %q, want %q", limit, got, want)
			}
		}

		for i := range MaxAuditLimit + 5 {
			if err := s.AppendAudit(ctx, audit.Entry{Time: base.Add(time.Hour + time.Duration(i)), Command: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := s.RecentAudit(ctx, MaxAuditLimit+100)
		if err != nil || len(entries) != MaxAuditLimit {
			t.Errorf("RecentAudit(%d): %d entries, %v; want clamped to %d", MaxAuditLimit+100, len(entries), err, MaxAuditLimit)
		}
	})
}

func TestAuditConcurrentAppends(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		path := d.fresh(t)
		s := openStore(t, path)
		other := openStore(t, path) // a second store on the same file, as a second process would be
		const writers, each = 50, 10
		var wg sync.WaitGroup
		errs := make(chan error, 2*writers*each)
		for w := range writers {
			st := s
			if w%5 == 0 {
				st = other
			}
			wg.Go(func() {
				for i := range each {
					e := audit.Entry{Time: time.Now(), User: fmt.Sprintf("U%d", w), Command: fmt.Sprintf("status %d", i), Outcome: "ok"}
					if err := st.AppendAudit(ctx, e); err != nil {
						errs <- err
					}
					if i%3 == 0 { // readers beside the writers
						if _, err := st.RecentAudit(ctx, 20); err != nil {
							errs <- err
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		entries, err := s.RecentAudit(ctx, MaxAuditLimit)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.User+" "+e.Command] = true
		}
		if len(entries) != writers*each || len(seen) != writers*each {
			t.Errorf("%d entries (%d distinct) stored, want %d", len(entries), len(seen), writers*each)
		}
	})
}

// BenchmarkAppendAudit measures one audit write, committed, on a database
// file (the production case) and in memory.
func BenchmarkAppendAudit(b *testing.B) {
	ctx := context.Background()
	e := audit.Entry{
		User: "U0123ABC", Channel: "C0456DEF", Env: "prod", Command: "restart app",
		Target: "app", Outcome: "ok", Duration: 850 * time.Millisecond, Via: "slack-socket",
	}
	run := func(b *testing.B, s *Store, parallel bool) {
		b.ReportAllocs()
		b.ResetTimer()
		if !parallel {
			for b.Loop() {
				e.Time = time.Now()
				if err := s.AppendAudit(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			return
		}
		b.RunParallel(func(pb *testing.PB) {
			e := e
			for pb.Next() {
				e.Time = time.Now()
				if err := s.AppendAudit(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("file", func(b *testing.B) { run(b, openStore(b, filepath.Join(b.TempDir(), "mfbot.db")), false) })
	b.Run("file-parallel", func(b *testing.B) { run(b, openStore(b, filepath.Join(b.TempDir(), "mfbot.db")), true) })
	b.Run("memory", func(b *testing.B) { run(b, openMemory(b), false) })
}

func TestAuditAbout(t *testing.T) {
	eachDialect(t, func(t *testing.T, d dialect) {
		ctx := context.Background()
		s := d.open(t)
		t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		for _, e := range []audit.Entry{
			{Time: t0.Add(-time.Hour), Env: "prod", Target: "app", Command: "before the window"},
			{Time: t0, Env: "prod", Target: "app", Command: "prod restart app"},
			{Time: t0.Add(time.Minute), Env: "prod", Command: "prod mute app 1h"},
			{Time: t0.Add(time.Minute), Env: "prod", Target: "db", Command: "prod restart db"},
			{Time: t0.Add(2 * time.Minute), Env: "dev", Target: "app", Command: "dev restart app"},
			{Time: t0.Add(10 * time.Minute), Env: "prod", Target: "app", Command: "at the end"},
			{Time: t0.Add(11 * time.Minute), Env: "prod", Target: "app", Command: "after the window"},
		} {
			if err := s.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		commandsOf := func(from, to time.Time, limit int) string {
			t.Helper()
			entries, err := s.AuditAbout(ctx, "prod", "app", from, to, limit)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range entries {
				if e.Env != "prod" || (e.Target != "app" && e.Target != "") {
					t.Errorf("an entry of %s about %q", e.Env, e.Target)
				}
				out = append(out, e.Command)
			}
			return strings.Join(out, ", ")
		}
		for _, tc := range []struct {
			name     string
			from, to time.Time
			limit    int
			want     string
		}{
			{"the window, bounds included, oldest first", t0, t0.Add(10 * time.Minute), 10, "prod restart app, prod mute app 1h, at the end"},
			{"limit", t0, t0.Add(10 * time.Minute), 2, "prod restart app, prod mute app 1h"},
			{"limit clamped to 1", t0, t0.Add(10 * time.Minute), 0, "prod restart app"},
			{"an empty window", t0.Add(3 * time.Minute), t0.Add(4 * time.Minute), 10, ""},
			{"from after to", t0.Add(10 * time.Minute), t0, 10, ""},
		} {
			if got := commandsOf(tc.from, tc.to, tc.limit); got != tc.want {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			}
		}
		if _, err := s.AuditAbout(ctx, "prod", "app", time.Time{}, t0, 10); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("a zero from: %v", err)
		}
		if _, err := s.AuditAbout(ctx, "prod", "app", t0, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 10); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("a to out of range: %v", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.AuditAbout(cancelled, "prod", "app", t0, t0.Add(time.Minute), 10); !errors.Is(err, context.Canceled) ||
			!strings.HasPrefix(err.Error(), "read the audit log of prod about app") {
			t.Errorf("cancelled: %v", err)
		}
	})
}

package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/store"
	"mfbot/confirm"
	"mfbot/incident"
	"mfbot/reply"
)

// fakePurger records the cutoffs it is given and answers n or its error.
type fakePurger struct {
	mu      sync.Mutex
	cutoffs map[string][]time.Time
	errs    map[string]error
	n       int
	passes  chan struct{} // gets a value after each PurgeIncidents, when set
}

func (f *fakePurger) record(what string, olderThan time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cutoffs == nil {
		f.cutoffs = map[string][]time.Time{}
	}
	f.cutoffs[what] = append(f.cutoffs[what], olderThan)
	if err := f.errs[what]; err != nil {
		return 0, err
	}
	return f.n, nil
}

func (f *fakePurger) PurgeConfirmations(_ context.Context, t time.Time) (int, error) {
	return f.record("confirmations", t)
}

func (f *fakePurger) PurgeThreadTargets(_ context.Context, t time.Time) (int, error) {
	return f.record("thread targets", t)
}

func (f *fakePurger) PurgeIncidents(_ context.Context, t time.Time) (int, error) {
	defer func() {
		if f.passes != nil {
			select {
			case f.passes <- struct{}{}:
			default:
			}
		}
	}()
	return f.record("incidents", t)
}

func (f *fakePurger) PurgeDeliveries(_ context.Context, t time.Time) (int, error) {
	return f.record("deliveries", t)
}

func (f *fakePurger) PurgeDeploys(_ context.Context, t time.Time) (int, error) {
	return f.record("deploys", t)
}

func (f *fakePurger) PurgeSamples(_ context.Context, t time.Time) (int, error) {
	return f.record("samples", t)
}

var _ Purger = (*store.Store)(nil)

func TestRetentionCutoffsAreNowMinusKeep(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	for _, tc := range []struct {
		name string
		r    Retention
		want map[string]time.Duration
	}{
		{"defaults", Retention{}, map[string]time.Duration{
			"confirmations": 24 * time.Hour, "thread targets": 30 * 24 * time.Hour, "incidents": 90 * 24 * time.Hour,
			"deliveries": 24 * time.Hour, "deploys": 365 * 24 * time.Hour, "samples": 7 * 24 * time.Hour}},
		{"set", Retention{KeepConfirmations: time.Hour, KeepThreadTargets: 2 * time.Hour, KeepClosedIncidents: 3 * time.Hour},
			map[string]time.Duration{"confirmations": time.Hour, "thread targets": 2 * time.Hour, "incidents": 3 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakePurger{n: 2}
			logs.Reset()
			r := tc.r
			r.Store, r.Now, r.Log = f, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil))
			c, th, i := r.pass(context.Background())
			if c != 2 || th != 2 || i != 2 {
				t.Errorf("pass = %d, %d, %d; want 2 each", c, th, i)
			}
			for what, keep := range tc.want {
				if got := f.cutoffs[what]; len(got) != 1 || !got[0].Equal(now.Add(-keep)) {
					t.Errorf("%s cutoffs %v, want [%v]", what, got, now.Add(-keep))
				}
			}
			if out := logs.String(); !strings.Contains(out, "level=INFO") || !strings.Contains(out, "confirmations=2 thread_targets=2 closed_incidents=2") {
				t.Errorf("log lacks the counts:\n%s", out)
			}
		})
	}
}

func TestRetentionQuietWhenNothingPurged(t *testing.T) {
	var logs bytes.Buffer
	r := Retention{Store: &fakePurger{}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	r.pass(context.Background())
	if logs.Len() != 0 {
		t.Errorf("logged with nothing purged:\n%s", logs.String())
	}
}

func TestRetentionErrorsDoNotStopTheOtherPurges(t *testing.T) {
	for _, failing := range []string{"confirmations", "thread targets", "incidents"} {
		t.Run(failing, func(t *testing.T) {
			var logs bytes.Buffer
			f := &fakePurger{n: 1, errs: map[string]error{failing: errors.New("disk on fire")}}
			r := Retention{Store: f, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			c, th, i := r.pass(context.Background())
			for what, n := range map[string]int{"confirmations": c, "thread targets": th, "incidents": i} {
				if len(f.cutoffs[what]) != 1 {
					t.Errorf("%s purged %d times, want 1", what, len(f.cutoffs[what]))
				}
				if want := map[bool]int{true: 0, false: 1}[what == failing]; n != want {
					t.Errorf("%s count %d, want %d", what, n, want)
				}
			}
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "disk on fire") || !strings.Contains(out, "level=INFO") {
				t.Errorf("log lacks the error or the counts of the others:\n%s", out)
			}
		})
	}
}

func TestRetentionRunPassesAtStartAndStopsWithCtx(t *testing.T) {
	// The first pass comes at start, not after Interval.
	f := &fakePurger{passes: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		(&Retention{Store: f, Interval: time.Hour}).Run(ctx)
		close(done)
	}()
	select {
	case <-f.passes:
	case <-time.After(5 * time.Second):
		t.Fatal("no pass at start")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}

	// With a short interval it passes again and again, and still stops.
	f = &fakePurger{passes: make(chan struct{}, 1), errs: map[string]error{"confirmations": errors.New("boom")}}
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		(&Retention{Store: f, Interval: 5 * time.Millisecond}).Run(ctx)
		close(done)
	}()
	for range 3 {
		select {
		case <-f.passes:
		case <-time.After(5 * time.Second):
			t.Fatal("Run stopped passing (after an error?)")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// TestRetentionAgainstTheStore: old rows go, recent ones stay, in a real
// (in-memory) store. Thread targets are stamped with the real clock when
// saved, so the job's clock is set 30 days after a moment between two saves.
func TestRetentionAgainstTheStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	if err := st.SaveThreadTarget(ctx, "C1", "1.1", reply.Target{Env: "prod", Service: "app"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	if err := st.SaveThreadTarget(ctx, "C1", "2.2", reply.Target{Env: "prod", Service: "db"}); err != nil {
		t.Fatal(err)
	}
	now := mid.Add(DefaultKeepThreadTargets)

	confirmation := func(id string, expires time.Time) {
		t.Helper()
		req := confirm.Request{ID: id, Command: "restart app", Env: "prod", Target: "app", RequestedBy: "U1", Channel: "C1",
			CreatedAt: expires.Add(-2 * time.Minute), ExpiresAt: expires}
		if err := st.CreateConfirmation(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	confirmation("old", now.Add(-25*time.Hour))
	confirmation("recent", now.Add(-23*time.Hour))

	record := func(key incident.Key, kind incident.SignalKind, at time.Time) *incident.Incident {
		t.Helper()
		inc, _, err := incident.Record(ctx, st, incident.Rules{}, incident.Signal{Key: key, Kind: kind, Time: at, ExitCode: 1, HasHealthcheck: true})
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	day := 24 * time.Hour
	oldKey := incident.Key{Env: "prod", Source: "docker", Target: "app"}
	recentKey := incident.Key{Env: "prod", Source: "docker", Target: "db"}
	openKey := incident.Key{Env: "prod", Source: "docker", Target: "pipeline"}
	record(oldKey, incident.SignalCrashed, now.Add(-92*day))
	oldClosed := record(oldKey, incident.SignalStopped, now.Add(-91*day))
	record(recentKey, incident.SignalCrashed, now.Add(-90*day))
	recentClosed := record(recentKey, incident.SignalStopped, now.Add(-89*day))
	open := record(openKey, incident.SignalCrashed, now.Add(-200*day))
	if oldClosed.ClosedAt.IsZero() || recentClosed.ClosedAt.IsZero() || !open.ClosedAt.IsZero() {
		t.Fatalf("setup: closed at %v, %v, open one %v", oldClosed.ClosedAt, recentClosed.ClosedAt, open.ClosedAt)
	}

	var logs bytes.Buffer
	r := Retention{Store: st, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	if c, th, i := r.pass(ctx); c != 1 || th != 1 || i != 1 {
		t.Errorf("purged %d confirmations, %d thread targets, %d incidents; want 1 each\n%s", c, th, i, logs.String())
	}

	if _, err := st.Confirmation(ctx, "old"); !errors.Is(err, confirm.ErrNotFound) {
		t.Errorf("old confirmation: %v, want gone", err)
	}
	if _, err := st.Confirmation(ctx, "recent"); err != nil {
		t.Errorf("recent confirmation: %v, want kept", err)
	}
	if _, ok, err := st.ThreadTarget(ctx, "C1", "1.1"); ok || err != nil {
		t.Errorf("old thread target: kept %v, %v; want gone", ok, err)
	}
	if _, ok, err := st.ThreadTarget(ctx, "C1", "2.2"); !ok || err != nil {
		t.Errorf("recent thread target: kept %v, %v; want kept", ok, err)
	}
	if _, err := st.Incident(ctx, oldClosed.ID); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("old closed incident: %v, want gone", err)
	}
	for name, id := range map[string]int64{"recent closed": recentClosed.ID, "old open": open.ID} {
		if _, err := st.Incident(ctx, id); err != nil {
			t.Errorf("%s incident: %v, want kept", name, err)
		}
	}

	// A second pass finds nothing more.
	if c, th, i := r.pass(ctx); c+th+i != 0 {
		t.Errorf("second pass purged %d, %d, %d", c, th, i)
	}
}

package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mfbot/bot/notify"
	"mfbot/commands"
	"mfbot/incident"
)

// Source is one origin of incidents — the Docker engines, the data
// freshness checks, Prefect: a watcher that emits signals from its own
// cursor, what a new incident's thread starts with, and how its alerts
// look. Every source takes the same path: Alerts records its signals, the
// notifier presents them through it.
type Source interface {
	notify.Presenter
	// Name is the Source of the keys of its signals ("docker", "freshness").
	Name() string
	// Watch sends signals until ctx ends.
	Watch(ctx context.Context, signals chan<- incident.Signal) error
	// Opened returns the posts that start a new incident's thread (the
	// logs before the failure); nil: none.
	Opened(ctx context.Context, inc *incident.Incident, s incident.Signal) []incident.ThreadPost
}

// CursorKeeper is a Source whose signals do not all move its cursor: it
// says which time a signal's recording moves the cursor to, and whether
// it does (a poll's "API answering" does not: runs older than it may not
// be recorded yet). A Source without it moves the cursor to every
// signal's time.
type CursorKeeper interface {
	CursorAt(s incident.Signal) (at time.Time, moves bool)
}

// Presenters indexes the sources' presenters by name, for the notifier;
// each closed incident's root offers its report.
func Presenters(sources []Source) map[string]notify.Presenter {
	out := make(map[string]notify.Presenter, len(sources))
	for _, s := range sources {
		out[s.Name()] = notify.WithReport(s)
	}
	return out
}

// Alerts is the pipeline from watchers to notifications: each signal is
// folded into its incident and saved; a new incident's thread gets what
// its source gives (the logs before the failure); recoveries are found by
// a periodic tick; the notifier is woken after every change.
type Alerts struct {
	Store   incident.Store
	Rules   incident.Rules
	Notify  func() // wakes the notifier (nil: alerts only logged)
	Sources []Source
	// SaveCursor persists how far a watcher's stream has been recorded.
	SaveCursor func(ctx context.Context, env, source string, at time.Time) error
	Tick       time.Duration // recovery check period (default 5 s)
	Log        *slog.Logger
	// Metrics counts the incidents' changes; nil: not counted.
	Metrics *Metrics

	threads sync.WaitGroup // the new incidents' first thread posts being gathered
}

// Run starts every source's watcher and records their signals until ctx ends.
func (a *Alerts) Run(ctx context.Context) {
	// Unbuffered: a signal is handed over only when the recorder takes it.
	signals := make(chan incident.Signal)
	for _, src := range a.Sources {
		go func() {
			if err := src.Watch(ctx, signals); err != nil && ctx.Err() == nil {
				a.Log.Error("watcher stopped", "source", src.Name(), "err", err)
			}
		}()
	}
	a.Record(ctx, signals)
}

// Record records signals until ctx ends.
func (a *Alerts) Record(ctx context.Context, signals <-chan incident.Signal) {
	tick := a.Tick
	if tick <= 0 {
		tick = 5 * time.Second
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	defer a.threads.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-signals:
			a.record(ctx, s)
		case now := <-ticker.C:
			recovered, err := incident.TickOpen(ctx, a.Store, a.Rules, now)
			if err != nil {
				a.Log.Error("recovery check failed", "err", err)
			}
			for _, inc := range recovered {
				a.Metrics.incident(inc.Key.Source, incident.ChangeRecovered)
				a.Log.Info("incident recovered", "incident", inc.ID, "key", inc.Key.String(), "after", inc.Duration(now).Round(time.Second))
			}
			if len(recovered) > 0 {
				a.notify()
			}
		}
	}
}

func (a *Alerts) record(ctx context.Context, s incident.Signal) {
	inc, change, err := incident.Record(ctx, a.Store, a.Rules, s)
	if err != nil {
		a.Log.Error("cannot record a signal", "key", s.Key.String(), "kind", s.Kind, "err", err)
		return
	}
	// The cursor moves only once the signal is saved: after a crash the
	// watcher replays from here, nothing recorded is lost or counted twice.
	if at, moves := a.cursorAt(s); moves && a.SaveCursor != nil {
		if err := a.SaveCursor(ctx, s.Env, s.Source, at); err != nil {
			a.Log.Error("cannot save the watcher's cursor", "err", err)
		}
	}
	if change == incident.ChangeNone {
		return
	}
	a.Metrics.incident(s.Key.Source, change)
	a.Log.Info("incident "+string(change), "incident", inc.ID, "key", s.Key.String(), "state", inc.State, "count", inc.Count, "exit_code", inc.ExitCode, "oom", inc.OOM)
	a.notify()
	if change == incident.ChangeOpened {
		// What goes first in the thread (the log lines before a crash)
		// asks the source, which may be slow in a storm: neither the
		// alert nor the next signals wait for it. It follows the root.
		a.threads.Go(func() {
			a.startThread(ctx, inc, s)
			a.notify()
		})
	}
}

// cursorAt says where recording s moves its source's cursor.
func (a *Alerts) cursorAt(s incident.Signal) (time.Time, bool) {
	for _, src := range a.Sources {
		if keeper, ok := src.(CursorKeeper); ok && src.Name() == s.Source {
			return keeper.CursorAt(s)
		}
	}
	return s.Time, true
}

// startThread queues what the incident's source puts first in its thread.
func (a *Alerts) startThread(ctx context.Context, inc *incident.Incident, s incident.Signal) {
	for _, src := range a.Sources {
		if src.Name() != s.Source {
			continue
		}
		for _, post := range src.Opened(ctx, inc, s) {
			if err := a.Store.AppendThreadPost(ctx, inc.ID, post); err != nil {
				a.Log.Error("cannot queue a thread post", "incident", inc.ID, "kind", post.Kind, "err", err)
			}
		}
		return
	}
}

func (a *Alerts) notify() {
	if a.Notify != nil {
		a.Notify()
	}
}

// IncidentSummaries lists open incidents for the `incidents` and `status`
// commands.
type IncidentSummaries struct{ Store incident.Store }

// OpenIncidentSummaries implements commands.IncidentLister.
func (l IncidentSummaries) OpenIncidentSummaries(ctx context.Context) ([]commands.IncidentSummary, error) {
	open, err := l.Store.OpenIncidents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]commands.IncidentSummary, 0, len(open))
	for _, inc := range open {
		out = append(out, commands.IncidentSummary{ID: inc.ID, Env: inc.Key.Env, Source: inc.Key.Source, Target: inc.Key.Target, State: string(inc.State),
			FirstSeen: inc.FirstSeen, LastSeen: inc.LastSeen, Count: inc.Count, ExitCode: inc.ExitCode, OOM: inc.OOM})
	}
	return out, nil
}

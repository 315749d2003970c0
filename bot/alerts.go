package bot

import (
	"context"
	"log/slog"
	"time"

	"mfbot/commands"
	"mfbot/incident"
)

// Alerts is the pipeline from watchers to notifications: each signal is
// folded into its incident and saved; a new incident gets the logs before
// the failure in its thread; recoveries are found by a periodic tick; the
// notifier is woken after every change.
type Alerts struct {
	Store  incident.Store
	Rules  incident.Rules
	Notify func() // wakes the notifier (nil: alerts only logged)
	// LogsBefore fetches the redacted log lines before a failure, for the
	// incident's thread (catalogue.LogsBefore).
	LogsBefore func(ctx context.Context, env, service string, until time.Time, n int) (string, error)
	// SaveCursor persists how far a watcher's stream has been recorded.
	SaveCursor func(ctx context.Context, env, source string, at time.Time) error
	Tick       time.Duration // recovery check period (default 5 s)
	Log        *slog.Logger
}

// logLinesInThread is how many log lines before a failure the thread shows.
const logLinesInThread = 50

// Run records signals until ctx ends.
func (a *Alerts) Run(ctx context.Context, signals <-chan incident.Signal) {
	tick := a.Tick
	if tick <= 0 {
		tick = 5 * time.Second
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
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
	if a.SaveCursor != nil {
		if err := a.SaveCursor(ctx, s.Env, s.Source, s.Time); err != nil {
			a.Log.Error("cannot save the watcher's cursor", "err", err)
		}
	}
	if change == incident.ChangeNone {
		return
	}
	a.Log.Info("incident "+string(change), "incident", inc.ID, "key", s.Key.String(), "state", inc.State, "count", inc.Count, "exit_code", inc.ExitCode, "oom", inc.OOM)
	if change == incident.ChangeOpened && a.LogsBefore != nil && s.Source == "docker" {
		a.attachLogs(ctx, inc, s)
	}
	a.notify()
}

// attachLogs puts the last log lines before the failure in the thread.
func (a *Alerts) attachLogs(ctx context.Context, inc *incident.Incident, s incident.Signal) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	text, err := a.LogsBefore(ctx, s.Env, s.Target, s.Time.Add(time.Second), logLinesInThread)
	post := incident.ThreadPost{IncidentID: inc.ID, Kind: "logs", Title: "Last log lines before the failure", Code: text, CreatedAt: time.Now()}
	if err != nil {
		post.Code, post.Text = "", "Logs unavailable: "+err.Error()
	} else if text == "" {
		post.Text = "No log lines before the failure."
	}
	if err := a.Store.AppendThreadPost(ctx, inc.ID, post); err != nil {
		a.Log.Error("cannot queue the failure's logs", "incident", inc.ID, "err", err)
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
		out = append(out, commands.IncidentSummary{Env: inc.Key.Env, Source: inc.Key.Source, Target: inc.Key.Target, State: string(inc.State),
			FirstSeen: inc.FirstSeen, LastSeen: inc.LastSeen, Count: inc.Count, ExitCode: inc.ExitCode, OOM: inc.OOM})
	}
	return out, nil
}

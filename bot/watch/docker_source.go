package watch

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"mfbot/bot/notify"
	"mfbot/incident"
	"mfbot/reply"
)

// DockerSource is the Docker engines of every environment as a source of
// incidents: their watchers, the logs before a failure in a new
// incident's thread, and how its alerts look.
type DockerSource struct {
	Watchers []*DockerWatcher
	// LogsBefore fetches the redacted log lines of a service before a
	// failure (commands.Catalogue.LogsBefore).
	LogsBefore func(ctx context.Context, env, service string, until time.Time, n int) (string, error)
}

// LogsTail is how many lines the Logs button of an alert asks for. The
// logs verb takes only relative --since/--until, which would mean another
// window each time the button is clicked: the last lines it is.
const LogsTail = 200

// logLinesInThread is how many log lines before a failure the thread shows.
const logLinesInThread = 50

// Name implements bot.Source.
func (DockerSource) Name() string { return SourceDocker }

// Watch runs every environment's watcher until ctx ends.
func (s DockerSource) Watch(ctx context.Context, signals chan<- incident.Signal) error {
	var wg sync.WaitGroup
	for _, w := range s.Watchers {
		wg.Go(func() {
			if err := w.Run(ctx, signals); err != nil && ctx.Err() == nil {
				w.log.Error("Docker watcher stopped", "err", err)
			}
		})
	}
	wg.Wait()
	return nil
}

// CursorAt implements bot.CursorKeeper: the engine's own signals (taken
// at the time the watcher noticed, not at an event's) do not move the
// cursor, which must not pass events not replayed yet; the others move it
// to their time.
func (DockerSource) CursorAt(sig incident.Signal) (time.Time, bool) {
	return sig.Time, sig.Target != DockerEngineTarget
}

// Opened puts the last log lines before the failure in a new incident's thread.
func (s DockerSource) Opened(ctx context.Context, inc *incident.Incident, sig incident.Signal) []incident.ThreadPost {
	if s.LogsBefore == nil || sig.Target == DockerEngineTarget {
		return nil // an engine has no logs to show
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	text, err := s.LogsBefore(ctx, sig.Env, sig.Target, sig.Time.Add(time.Second), logLinesInThread)
	post := incident.ThreadPost{IncidentID: inc.ID, Kind: "logs", Title: "Last log lines before the failure", Code: text, CreatedAt: time.Now()}
	if err != nil {
		post.Code, post.Text = "", "Logs unavailable: "+err.Error()
	} else if text == "" {
		post.Text = "No log lines before the failure."
	}
	return []incident.ThreadPost{post}
}

// Present shows a container incident: exit code, OOM, and the buttons
// Logs, Restart and Mute 1h; the engine's incident: Status and Mute 1h.
func (DockerSource) Present(inc *incident.Incident) notify.Presentation {
	k := inc.Key
	if k.Target == DockerEngineTarget {
		// Nothing to restart or read logs of: the detail says why the
		// engine cannot be used; the environment's status shows when it is back.
		return notify.Presentation{TargetLabel: "Docker engine", Thread: &reply.Target{Env: k.Env},
			Actions: []notify.PresentedAction{
				{Action: reply.Action{Label: "Status", Command: k.Env + " status"}},
				{Action: reply.Action{Label: "Mute 1h", Command: k.Env + " mute " + DockerEngineTarget + " 1h"}},
			}}
	}
	p := notify.Presentation{TargetLabel: "Service", Thread: &reply.Target{Env: k.Env, Service: k.Target}}
	if inc.Reason == incident.SignalCrashed || inc.Reason == incident.SignalOOMKilled || inc.ExitCode != 0 {
		p.Fields = append(p.Fields, reply.Field{Label: "Exit code", Value: strconv.Itoa(inc.ExitCode)})
	}
	oom := "no"
	if inc.OOM {
		oom = "yes"
	}
	p.Fields = append(p.Fields, reply.Field{Label: "OOM-killed", Value: oom})
	p.Actions = []notify.PresentedAction{
		{Action: reply.Action{Label: "Logs", Command: fmt.Sprintf("%s logs %s --tail %d", k.Env, k.Target, LogsTail)}, KeepWhenClosed: true},
		{Action: reply.Action{Label: "Restart", Command: k.Env + " restart " + k.Target, Style: "danger"}},
		{Action: reply.Action{Label: "Mute 1h", Command: k.Env + " mute " + k.Target + " 1h"}},
	}
	return p
}

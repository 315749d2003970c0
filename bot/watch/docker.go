// Package watch turns what the engines report into incident signals. A
// DockerWatcher follows the Docker events of one environment's engine and
// says, for each of the environment's services, when its container crashed,
// was OOM-killed, became unhealthy or healthy, started, or was stopped on
// purpose. It knows nothing of incidents' life cycle or of Slack.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"mfbot/commands"
	"mfbot/config"
	"mfbot/containers"
	"mfbot/incident"
)

// SourceDocker is the Source of the keys of the Docker watcher's signals.
const SourceDocker = "docker"

// DockerEngineTarget is the Target of the incident of an environment's
// Docker engine itself: unreachable (down, or refusing mfbot's TLS
// certificate), then answering again.
const DockerEngineTarget = "docker-engine"

const (
	defaultBackoffMin = 250 * time.Millisecond
	defaultBackoffMax = 30 * time.Second
	defaultStopWindow = 60 * time.Second
	// oomWindow: a die this soon after an oom event of the same container
	// is that OOM kill (the engine sends oom, sometimes twice, then die).
	oomWindow = 10 * time.Second
	// healthyStream: a stream that stayed up this long resets the backoff.
	healthyStream = 10 * time.Second
	// dedupeWindow: the events seen this long before the cursor are
	// forgotten; a resume only replays events at or after the cursor.
	dedupeWindow = 10 * time.Second
	dedupeMax    = 1024

	inspectTimeout = 5 * time.Second
	listTimeout    = 10 * time.Second
	// replayTimeout bounds the bounded events query of a resume (it ends
	// by itself about a second after now).
	replayTimeout = 30 * time.Second
	detailMax     = 200
)

// DockerOptions tunes a DockerWatcher. Zero values take the defaults.
type DockerOptions struct {
	// Cursor is where to resume: the time of the last event processed by
	// an earlier run, as OnCursor reported it. Zero means start from now
	// and reconcile the current state of the containers once.
	Cursor time.Time
	// OnCursor is called after each processed event (and after the first
	// reconciliation) with the new cursor, so that the caller can persist
	// it. It runs on the watcher's goroutine: keep it quick.
	OnCursor func(time.Time)
	// BackoffMin and BackoffMax bound the exponential delay between
	// reconnections (defaults 250ms and 30s).
	BackoffMin, BackoffMax time.Duration
	// StopWindow is how long after a stop request (a kill event with
	// SIGTERM or SIGKILL) a die is that stop, not a failure (default 60s:
	// longer than any stop grace period).
	StopWindow time.Duration
	Log        *slog.Logger     // default slog.Default()
	Now        func() time.Time // default time.Now
	// Seen is called, on the watcher's goroutine, with the time the engine
	// was last heard from: each event received, and each (re)connection
	// (the listing or the replay answered). nil: not reported.
	Seen func(time.Time)
}

// DockerWatcher watches the containers of one environment's services.
type DockerWatcher struct {
	env    config.Environment
	engine containers.Engine
	opts   DockerOptions
	log    *slog.Logger
	// sleep waits between reconnections; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	reconnects atomic.Int64
	lastEvent  atomic.Int64 // UnixNano of the last event processed, 0: none

	// The rest belongs to Run's goroutine (the engine calls the sink of
	// Watch on the caller's goroutine).
	cursor time.Time // resume point: the time of the last event processed
	// gap: the start of a gap that the replay did not cover and that is
	// not reconciled yet (zero: none).
	gap time.Time
	// floor: events at or before it were processed by an earlier run.
	floor    time.Time
	seen     map[eventKey]time.Time
	listed   bool              // services reflects a successful listing
	services map[string]string // container ID → service name
	present  map[string]bool   // IDs of the last listing
	tracked  map[string]*containerState
	// told is what the engine incident was last told: 0 nothing yet,
	// engineAnswers or engineUnreachable; a signal is sent on a change
	// only (and at start: an incident left open by the last run recovers).
	told int8
}

const (
	engineAnswers     int8 = 1
	engineUnreachable int8 = -1
)

type eventKey struct {
	nano   int64
	id     string
	action string
}

// containerState is what the watcher remembers of one container.
type containerState struct {
	stopAt time.Time // last stop request (kill with SIGTERM/SIGKILL)
	oomAt  time.Time // last oom event
	diedAt time.Time // last die event
	// reportedExit is the FinishedAt of an exit a reconciliation reported:
	// the die event of that exit, if it still comes, is not reported again.
	reportedExit time.Time
	// status is the last known state: starting, running (no healthcheck),
	// healthy, unhealthy, exited; "" = unknown.
	status string
	// healthcheck: 0 unknown, 1 has one, -1 has none.
	healthcheck int8
}

// NewDockerWatcher prepares a watcher of env's services on engine. Run
// starts it.
func NewDockerWatcher(env config.Environment, engine containers.Engine, opts DockerOptions) *DockerWatcher {
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = defaultBackoffMin
	}
	if opts.BackoffMax < opts.BackoffMin {
		opts.BackoffMax = max(defaultBackoffMax, opts.BackoffMin)
	}
	if opts.StopWindow <= 0 {
		opts.StopWindow = defaultStopWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	w := &DockerWatcher{
		env:      env,
		engine:   engine,
		opts:     opts,
		log:      log.With("env", env.Name, "source", SourceDocker),
		sleep:    sleepCtx,
		cursor:   opts.Cursor,
		floor:    opts.Cursor,
		seen:     map[eventKey]time.Time{},
		services: map[string]string{},
		present:  map[string]bool{},
		tracked:  map[string]*containerState{},
	}
	if !opts.Cursor.IsZero() {
		w.lastEvent.Store(opts.Cursor.UnixNano())
	}
	return w
}

// Reconnects is how many times the watcher reconnected after the stream
// broke or could not be opened.
func (w *DockerWatcher) Reconnects() int { return int(w.reconnects.Load()) }

// LastEvent is the time of the last event processed (zero: none yet).
func (w *DockerWatcher) LastEvent() time.Time {
	if n := w.lastEvent.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Run watches until ctx ends, sending signals; it returns nil then. A
// broken stream is reopened from the cursor with exponential backoff. Run
// must not be called twice at the same time.
func (w *DockerWatcher) Run(ctx context.Context, signals chan<- incident.Signal) error {
	delay := w.opts.BackoffMin
	for {
		streamed, err := w.session(ctx, signals)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("the events stream ended")
		}
		if errors.Is(err, containers.ErrUnreachable) && w.told != engineUnreachable {
			// A broken stream alone is no outage: the engine is unreachable
			// when the next listing or replay cannot reach it.
			sig := w.engineSignal(incident.SignalUnreachable, truncate(err.Error(), detailMax))
			if send(ctx, signals, sig) != nil {
				return nil
			}
			w.told = engineUnreachable
		}
		if streamed >= healthyStream {
			delay = w.opts.BackoffMin
		}
		w.log.Warn("Docker events interrupted, retrying", "err", err, "retry_in", delay, "cursor", w.cursor)
		if w.sleep(ctx, delay) != nil {
			return nil
		}
		delay = min(2*delay, w.opts.BackoffMax)
		w.reconnects.Add(1)
	}
}

// session brings the watcher up to date (a first reconciliation, or the
// replay of a gap) then follows the live stream until it breaks; it
// returns how long the live stream lasted.
func (w *DockerWatcher) session(ctx context.Context, signals chan<- incident.Signal) (time.Duration, error) {
	if w.cursor.IsZero() {
		// First start: the current state is reported once, then events
		// from the moment before the listing are followed.
		t0 := w.opts.Now()
		list, err := w.relist(ctx)
		if err != nil {
			return 0, err
		}
		if err := w.reconcile(ctx, signals, list, time.Time{}, t0); err != nil {
			return 0, err
		}
		w.cursor = t0
		if w.opts.OnCursor != nil {
			w.opts.OnCursor(t0)
		}
	} else if err := w.catchUp(ctx, signals); err != nil {
		return 0, err
	}
	// The listing or the replay answered: the engine is up.
	w.heard()
	if w.told != engineAnswers {
		if err := send(ctx, signals, w.engineSignal(incident.SignalHealthy, "the engine answers")); err != nil {
			return 0, err
		}
		w.told = engineAnswers
	}
	start := w.opts.Now()
	err := w.engine.Watch(ctx, w.cursor, func(ev containers.Event) error { return w.handle(ctx, signals, ev) })
	return w.opts.Now().Sub(start), err
}

// engineSignal is a signal about the engine itself. It reports health, so
// that only "healthy" counts as its recovery.
func (w *DockerWatcher) engineSignal(kind incident.SignalKind, detail string) incident.Signal {
	return incident.Signal{Key: w.key(DockerEngineTarget), Kind: kind, Time: w.opts.Now(), HasHealthcheck: true, Detail: detail}
}

// heard reports that the engine was heard from now.
func (w *DockerWatcher) heard() {
	if w.opts.Seen != nil {
		w.opts.Seen(w.opts.Now())
	}
}

// catchUp replays what the engine still remembers since the cursor. The
// engine keeps only its last 256 events in memory (healthchecks' exec
// events included, a few minutes' worth) and none from before its own
// restart: when the event at the cursor is no longer among them, the gap
// was not fully replayed, and the state of the containers is compared with
// what is known instead.
func (w *DockerWatcher) catchUp(ctx context.Context, signals chan<- incident.Signal) error {
	gapStart := w.cursor
	rctx, cancel := context.WithTimeout(ctx, replayTimeout)
	events, err := w.engine.Events(rctx, gapStart, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("replay the events of %s since %s: %w", w.env.Name, gapStart.Format(time.RFC3339Nano), err)
	}
	covered := false
	for _, ev := range events {
		if ev.Time.Equal(gapStart) {
			covered = true
		}
		if err := w.handle(ctx, signals, ev); err != nil {
			return err
		}
	}
	if !covered && w.gap.IsZero() {
		// Kept until reconciled: the replay moved the cursor, and a retry
		// after a failed reconciliation must still look from here.
		w.gap = gapStart
	}
	if w.gap.IsZero() {
		return nil
	}
	w.log.Info("Docker events since the cursor not all replayed: reconciling", "since", w.gap)
	list, err := w.relist(ctx)
	if err != nil {
		return err
	}
	if err := w.reconcile(ctx, signals, list, w.gap, time.Time{}); err != nil {
		return err
	}
	w.gap = time.Time{}
	return nil
}

// handle processes one event: dedupe, attribution, translation, cursor.
func (w *DockerWatcher) handle(ctx context.Context, signals chan<- incident.Signal, ev containers.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.heard()
	if !w.floor.IsZero() && !ev.Time.After(w.floor) {
		return nil // processed before the restart that gave the cursor
	}
	key := eventKey{ev.Time.UnixNano(), ev.ID, ev.Action}
	if _, dup := w.seen[key]; dup {
		return nil // replayed around a resume point
	}
	w.seen[key] = ev.Time
	if svc, ok := w.serviceOf(ctx, ev); ok {
		if s, ok := w.translate(ctx, svc, ev); ok {
			if err := send(ctx, signals, s); err != nil {
				return err
			}
		}
	}
	w.advance(ev.Time)
	return nil
}

func (w *DockerWatcher) advance(t time.Time) {
	if t.After(w.cursor) {
		w.cursor = t
		w.lastEvent.Store(t.UnixNano())
	}
	if len(w.seen) > dedupeMax {
		for k, at := range w.seen {
			if at.Before(w.cursor.Add(-dedupeWindow)) {
				delete(w.seen, k)
			}
		}
	}
	if w.opts.OnCursor != nil {
		w.opts.OnCursor(w.cursor)
	}
}

// serviceOf says which service an event's container is, if any. The
// listing is refreshed when containers come, go or change names (a
// recreated container has a new ID).
func (w *DockerWatcher) serviceOf(ctx context.Context, ev containers.Event) (string, bool) {
	switch ev.Action {
	case "create", "rename", "destroy":
		w.listed = false
	}
	if !w.listed {
		if _, err := w.relist(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("cannot list containers; judging the event by its attributes", "err", err, "container", ev.Name)
		}
	}
	if svc, ok := w.services[ev.ID]; ok {
		return svc, true
	}
	if w.listed && w.present[ev.ID] {
		return "", false // a container that is not a service's
	}
	// Gone since (a replay after a restart), or the listing failed: the
	// event carries the container's name and labels.
	pseudo := []containers.Container{{ID: ev.ID, Name: ev.Name, Labels: ev.Attributes}}
	for _, svc := range w.env.Services {
		if commands.ResolveContainer(svc, w.env.ComposeProject, pseudo) != nil {
			return svc.Name, true
		}
	}
	return "", false
}

// relist resolves the services' containers with one listing.
func (w *DockerWatcher) relist(ctx context.Context) ([]containers.Container, error) {
	lctx, cancel := context.WithTimeout(ctx, listTimeout)
	list, err := w.engine.Containers(lctx)
	cancel()
	if err != nil {
		w.listed = false
		return nil, fmt.Errorf("list the containers of %s: %w", w.env.Name, err)
	}
	services := make(map[string]string, len(w.env.Services))
	present := make(map[string]bool, len(list))
	for _, c := range list {
		present[c.ID] = true
	}
	for _, svc := range w.env.Services {
		c := commands.ResolveContainer(svc, w.env.ComposeProject, list)
		if c == nil {
			continue
		}
		if other, dup := services[c.ID]; dup {
			w.log.Warn("two services resolve to the same container; the first one gets its alerts", "container", c.Name, "service", other, "ignored", svc.Name)
			continue
		}
		services[c.ID] = svc.Name
	}
	for id := range w.tracked {
		if !present[id] {
			delete(w.tracked, id)
		}
	}
	w.services, w.present, w.listed = services, present, true
	return list, nil
}

func (w *DockerWatcher) state(id string) *containerState {
	st := w.tracked[id]
	if st == nil {
		st = &containerState{}
		w.tracked[id] = st
	}
	return st
}

func (w *DockerWatcher) key(svc string) incident.Key {
	return incident.Key{Env: w.env.Name, Source: SourceDocker, Target: svc}
}

// translate turns one event of a service's container into a signal, if
// the event says something about its health.
func (w *DockerWatcher) translate(ctx context.Context, svc string, ev containers.Event) (incident.Signal, bool) {
	st := w.state(ev.ID)
	s := incident.Signal{Key: w.key(svc), Time: ev.Time, Detail: ev.Attributes["image"], HasHealthcheck: st.healthcheck > 0}
	switch {
	case ev.Action == "kill":
		if isStopSignal(ev.Attributes["signal"]) {
			st.stopAt = ev.Time
		}
	case ev.Action == "oom":
		st.oomAt = ev.Time
		w.log.Info("OOM kill in a container", "service", svc, "container", ev.Name)
	case ev.Action == "die":
		code, err := strconv.Atoi(ev.Attributes["exitCode"])
		if err != nil {
			w.log.Warn("die event without a readable exit code", "service", svc, "container", ev.Name, "exitCode", ev.Attributes["exitCode"])
		}
		oom := !st.oomAt.IsZero() && ev.Time.Sub(st.oomAt) <= oomWindow
		stopped := !st.stopAt.IsZero() && ev.Time.Sub(st.stopAt) <= w.opts.StopWindow
		reported := !st.reportedExit.IsZero()
		st.oomAt, st.stopAt, st.reportedExit = time.Time{}, time.Time{}, time.Time{}
		st.diedAt, st.status = ev.Time, "exited"
		if reported {
			return s, false // a reconciliation already reported this exit
		}
		s.ExitCode = code
		switch {
		case oom:
			s.Kind, s.OOM = incident.SignalOOMKilled, true
		case stopped || code == 0:
			s.Kind = incident.SignalStopped
		default:
			s.Kind = incident.SignalCrashed
		}
		return s, true
	case ev.Action == "start":
		// A stop request or an exit before this start is spent.
		st.stopAt, st.oomAt, st.reportedExit = time.Time{}, time.Time{}, time.Time{}
		s.Kind, s.HasHealthcheck = incident.SignalRunning, w.hasHealthcheck(ctx, ev.ID, st)
		st.status = "running"
		if s.HasHealthcheck {
			st.status = "starting"
		}
		return s, true
	case strings.HasPrefix(ev.Action, "health_status"):
		s.HasHealthcheck = true
		switch strings.TrimSpace(strings.TrimPrefix(ev.Action, "health_status:")) {
		case "unhealthy":
			s.Kind, s.Detail = incident.SignalUnhealthy, w.healthOutput(ctx, ev.ID)
			st.status = "unhealthy"
			return s, true
		case "healthy":
			s.Kind, st.status = incident.SignalHealthy, "healthy"
			return s, true
		}
	}
	return s, false
}

// isStopSignal says whether a kill event is a request to stop: SIGTERM
// (docker stop, compose stop, mfbot's stop, restart and recreate, the
// daemon's own shutdown) or SIGKILL (docker kill, docker rm -f, a stop
// whose grace period ran out). Other signals (HUP to reload, QUIT for a
// thread dump) are not.
func isStopSignal(sig string) bool {
	switch strings.TrimPrefix(strings.ToUpper(sig), "SIG") {
	case "15", "TERM", "9", "KILL":
		return true
	}
	return false
}

// hasHealthcheck reads (once per container: its configuration does not
// change) whether the container reports health. When the engine does not
// say, it is assumed to have one, so that a start is not taken for a
// recovery.
func (w *DockerWatcher) hasHealthcheck(ctx context.Context, id string, st *containerState) bool {
	if st.healthcheck == 0 {
		d, err := w.inspect(ctx, id)
		if err != nil {
			w.log.Warn("cannot tell whether a container has a healthcheck", "err", err)
			return true
		}
		st.healthcheck = healthcheckOf(d)
	}
	return st.healthcheck > 0
}

func healthcheckOf(d containers.ContainerDetails) int8 {
	// The engine sets State.Health when a container with a healthcheck
	// starts (before the start event) and keeps it after it stops.
	if d.Health != "" || len(d.HealthLog) > 0 {
		return 1
	}
	return -1
}

// healthOutput is the last healthcheck output, trimmed: why it is unhealthy.
func (w *DockerWatcher) healthOutput(ctx context.Context, id string) string {
	d, err := w.inspect(ctx, id)
	if err != nil {
		w.log.Warn("cannot read the healthcheck output", "err", err)
		return ""
	}
	return lastHealthOutput(d)
}

func lastHealthOutput(d containers.ContainerDetails) string {
	if len(d.HealthLog) == 0 {
		return ""
	}
	return truncate(strings.TrimSpace(d.HealthLog[len(d.HealthLog)-1].Output), detailMax)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func (w *DockerWatcher) inspect(ctx context.Context, id string) (containers.ContainerDetails, error) {
	ictx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	d, err := w.engine.Inspect(ictx, id)
	if err != nil {
		return d, fmt.Errorf("inspect container %s of %s: %w", shortID(id), w.env.Name, err)
	}
	return d, nil
}

// reconcile reports the state of the services' containers that the events
// did not tell. At a first start (gapStart zero) it reports every
// container that exited with an error before t0, is unhealthy, or is up
// (so that an incident persisted open can recover); after a gap the events
// could not fill, only what changed during the gap, as far as the engine's
// state shows it. Services without a container are a configuration
// matter, not an alert.
func (w *DockerWatcher) reconcile(ctx context.Context, signals chan<- incident.Signal, list []containers.Container, gapStart, t0 time.Time) error {
	fresh := gapStart.IsZero()
	for _, svc := range w.env.Services {
		c := commands.ResolveContainer(svc, w.env.ComposeProject, list)
		if c == nil || w.services[c.ID] != svc.Name {
			continue
		}
		d, err := w.inspect(ctx, c.ID)
		if errors.Is(err, containers.ErrNoSuchContainer) {
			continue // removed since the listing: its events tell the rest
		}
		if err != nil {
			return err
		}
		st := w.state(d.ID)
		if st.healthcheck == 0 {
			st.healthcheck = healthcheckOf(d)
		}
		s, ok := w.stateSignal(svc.Name, d, st, gapStart, t0, fresh)
		if !ok {
			continue
		}
		w.log.Info("reconciled container state", "service", svc.Name, "container", d.Name, "state", d.State, "health", d.Health, "signal", s.Kind)
		if err := send(ctx, signals, s); err != nil {
			return err
		}
	}
	return nil
}

// stateSignal is the signal, if any, that a container's current state
// calls for at a reconciliation; it updates what is known of it.
func (w *DockerWatcher) stateSignal(svc string, d containers.ContainerDetails, st *containerState, gapStart, t0 time.Time, fresh bool) (incident.Signal, bool) {
	s := incident.Signal{Key: w.key(svc), Time: w.opts.Now(), Detail: d.Image, HasHealthcheck: st.healthcheck > 0}
	switch d.State {
	case "exited", "dead", "restarting":
		switch {
		case fresh && (d.State == "restarting" || !d.FinishedAt.Before(t0)):
			// Restarting: its next die or start will tell. Exited after
			// t0: its die event is replayed.
			return s, false
		case !fresh && !d.FinishedAt.After(gapStart):
			return s, false // exited before the gap: reported then
		case !st.diedAt.IsZero() && !st.diedAt.Before(d.FinishedAt):
			return s, false // its die event was seen (the die comes after FinishedAt)
		case st.reportedExit.Equal(d.FinishedAt):
			return s, false // reported by an earlier attempt
		}
		st.reportedExit, st.status = d.FinishedAt, "exited"
		if !d.FinishedAt.IsZero() {
			s.Time = d.FinishedAt
		}
		s.ExitCode = d.ExitCode
		switch {
		case d.OOMKilled:
			s.Kind, s.OOM = incident.SignalOOMKilled, true
		case d.ExitCode == 0 || d.ExitCode == 143:
			// 143 is death by SIGTERM: a stop (a JVM exits so on docker
			// stop), not a crash, even without its kill event.
			s.Kind = incident.SignalStopped
		default:
			s.Kind = incident.SignalCrashed
		}
		return s, true
	case "running":
		if !fresh && d.FinishedAt.After(gapStart) && d.StartedAt.After(d.FinishedAt) && st.diedAt.Before(d.FinishedAt) {
			w.log.Warn("container stopped and started again while the events stream was down; its exit code is unknown",
				"service", svc, "container", d.Name, "finished_at", d.FinishedAt, "started_at", d.StartedAt)
		}
		status := d.Health
		if status == "" {
			status = "running"
		}
		if status == st.status {
			return s, false // nothing new
		}
		switch status {
		case "unhealthy":
			if !fresh && st.status == "" && failingBefore(d, gapStart) {
				// Failing since before the gap: its health_status event
				// came before the cursor and was reported then.
				st.status = status
				return s, false
			}
			s.Kind, s.Detail = incident.SignalUnhealthy, lastHealthOutput(d)
		case "healthy":
			s.Kind = incident.SignalHealthy
		case "running":
			s.Kind = incident.SignalRunning
		default: // starting: its health_status event will tell
			return s, false
		}
		st.status = status
		return s, true
	}
	return s, false
}

// failingBefore says whether the container's current failing streak has
// at least the engine's default number of retries (3) of probes at or
// before t: it was then unhealthy already, most likely.
func failingBefore(d containers.ContainerDetails, t time.Time) bool {
	if d.StartedAt.After(t) {
		return false
	}
	n := 0
	for i := len(d.HealthLog) - 1; i >= 0; i-- {
		p := d.HealthLog[i]
		if p.ExitCode == 0 {
			break
		}
		if !p.Start.After(t) {
			n++
		}
	}
	return n >= 3
}

func send(ctx context.Context, signals chan<- incident.Signal, s incident.Signal) error {
	select {
	case signals <- s:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

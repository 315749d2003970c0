// Package incident turns failure signals into incidents: one per failure
// identity, opened, counted, marked crash-looping, recovered. It knows
// nothing of Docker or Slack: watchers feed it signals, notifiers read its
// changes. Like Alertmanager's pipeline, each decision is a small step.
package incident

import (
	"fmt"
	"time"
)

// Key is the identity of a failure: the same key failing again updates
// the same incident instead of opening a new one.
type Key struct {
	Env    string // environment name
	Source string // "docker", "prefect", "freshness", "mfbot"
	Target string // service, flow or check name
}

func (k Key) String() string { return k.Env + "/" + k.Source + "/" + k.Target }

// SignalKind classifies what a watcher saw.
type SignalKind string

const (
	// Failures.
	SignalCrashed   SignalKind = "crashed"   // exited with a non-zero code, or stopped unexpectedly
	SignalOOMKilled SignalKind = "oom"       // killed by the kernel for memory
	SignalUnhealthy SignalKind = "unhealthy" // healthcheck failing
	SignalDown      SignalKind = "down"      // absent or stopped when it should run (reconciliation)
	SignalFailed    SignalKind = "failed"    // a job ended in failure (a flow run): each one counts
	// Conditions found by polling: reported at every poll while they last.
	SignalFailing     SignalKind = "failing"     // a check fails (data stale, a sudden drop, an endpoint in error)
	SignalUnreachable SignalKind = "unreachable" // a dependency does not answer (database, API)
	// Signs of life.
	SignalHealthy SignalKind = "healthy" // healthcheck passing, check passing, dependency answering
	SignalRunning SignalKind = "running" // started (for targets without a healthcheck)
	// SignalSucceeded: a job of the target completed (a flow run): a
	// definite recovery, closing the incident at once.
	SignalSucceeded SignalKind = "succeeded"
	// Neutral.
	SignalStopped SignalKind = "stopped" // stopped on purpose (an operator, mfbot): not a failure
)

// IsFailure says whether a signal opens or feeds an incident.
func (k SignalKind) IsFailure() bool {
	return k == SignalCrashed || k == SignalOOMKilled || k == SignalUnhealthy || k == SignalDown ||
		k == SignalFailed || k == SignalFailing || k == SignalUnreachable
}

// IsCondition says whether a failure is a lasting condition rather than
// an event: reported again while it lasts (a watcher polling, or
// reconciling after a restart), it is the same failure, not a new one.
func (k SignalKind) IsCondition() bool {
	return k == SignalUnhealthy || k == SignalFailing || k == SignalUnreachable
}

// Signal is one observation about a target.
type Signal struct {
	Key
	Kind     SignalKind
	Time     time.Time
	ExitCode int  // for crashed/oom
	OOM      bool // the container was OOM-killed
	// HasHealthcheck says whether the target reports health: then only
	// "healthy" counts as recovery, not a mere start.
	HasHealthcheck bool
	Detail         string // e.g. the image, the last healthcheck output
	// Ref is what the failure is about, for the alert's buttons: a flow
	// run's ID ("" = nothing beyond the target).
	Ref string
}

// State of an incident.
type State string

const (
	StateOpen         State = "open"          // failing
	StateCrashLooping State = "crash-looping" // failing repeatedly within the crash-loop window
	StateRecovered    State = "recovered"     // up again long enough: closed
	StateResolved     State = "resolved"      // closed without recovery (stopped on purpose, removed)
)

// Closed says whether the incident is over.
func (s State) Closed() bool { return s == StateRecovered || s == StateResolved }

// Incident is one failure identity's story.
type Incident struct {
	ID        int64
	Key       Key
	State     State
	FirstSeen time.Time
	LastSeen  time.Time // last failure
	Count     int       // failures seen
	ExitCode  int       // of the last crash
	OOM       bool      // any failure was an OOM kill
	Reason    SignalKind
	Detail    string
	Ref       string // the last failure's Signal.Ref
	// UpSince is when the target was last seen up while the incident is
	// open (zero: not up); recovery is declared RecoveryAfter later.
	UpSince  time.Time
	ClosedAt time.Time
	// Failures keeps the recent failure times, for crash-loop detection.
	Failures []time.Time
	Timeline []Entry
	// Noted counts the timeline entries ever noted: Timeline keeps only the
	// last maxTimeline, and a reader (the notifier) that delivered n of
	// them finds the newer ones as the last Noted-n.
	Noted int
	// Version is the incident's version in the store: 0 before its first
	// save, then bumped by every save (see Store.SaveIncident).
	Version int64
}

// Entry is one line of an incident's timeline.
type Entry struct {
	Time time.Time
	Text string
}

// maxTimeline bounds the timeline kept with an incident: a crash loop
// going on for hours must not grow it without end.
const maxTimeline = 200

func (inc *Incident) note(t time.Time, format string, args ...any) {
	inc.Timeline = append(inc.Timeline, Entry{Time: t, Text: fmt.Sprintf(format, args...)})
	inc.Noted++
	if n := len(inc.Timeline); n > maxTimeline {
		inc.Timeline = append(inc.Timeline[:1], inc.Timeline[n-maxTimeline+1:]...)
	}
}

// Duration is how long the incident lasted (so far, at now).
func (inc *Incident) Duration(now time.Time) time.Duration {
	end := now
	if !inc.ClosedAt.IsZero() {
		end = inc.ClosedAt
	}
	return end.Sub(inc.FirstSeen)
}

package incident

import (
	"fmt"
	"slices"
	"time"
)

// Rules are the thresholds of the incident life cycle.
type Rules struct {
	CrashLoopRestarts int           // failures within CrashLoopWindow that make a crash loop (default 3)
	CrashLoopWindow   time.Duration // default 10m
	RecoveryAfter     time.Duration // up this long = recovered (default 2m)
}

func (r Rules) withDefaults() Rules {
	if r.CrashLoopRestarts <= 0 {
		r.CrashLoopRestarts = 3
	}
	if r.CrashLoopWindow <= 0 {
		r.CrashLoopWindow = 10 * time.Minute
	}
	if r.RecoveryAfter <= 0 {
		r.RecoveryAfter = 2 * time.Minute
	}
	return r
}

// Change says what a signal or a tick did to an incident.
type Change string

const (
	ChangeNone      Change = ""          // nothing worth telling
	ChangeOpened    Change = "opened"    // a new incident
	ChangeRecurred  Change = "recurred"  // another failure of an open incident
	ChangeEscalated Change = "escalated" // it became a crash loop
	ChangeUp        Change = "up"        // the target is up again, recovery pending
	ChangeRecovered Change = "recovered" // up long enough: closed
	ChangeResolved  Change = "resolved"  // closed without recovery
)

// Apply folds a signal into the open incident of its key (nil: none) and
// returns the incident afterwards (nil when none is opened) and what changed.
// It is a pure function of its inputs: the caller persists the result.
func Apply(r Rules, open *Incident, s Signal) (*Incident, Change) {
	r = r.withDefaults()
	switch {
	case s.Kind.IsFailure() && open == nil:
		inc := &Incident{Key: s.Key, State: StateOpen, FirstSeen: s.Time}
		fail(r, inc, s)
		inc.note(s.Time, "%s", describe(s))
		return inc, ChangeOpened
	case s.Kind.IsFailure() && s.Ref != "" && s.Kind == open.Reason && s.Ref == open.Ref && s.Time.Equal(open.LastSeen):
		// The same failure of the same object (a flow run), seen again.
		return open, ChangeNone
	case s.Kind.IsFailure() && s.Ref == "" && (s.Time.Equal(open.LastSeen) || slices.ContainsFunc(open.Failures, s.Time.Equal)):
		// A failure already counted, seen again (a watcher replaying its
		// stream after a restart). Failures of distinct objects (two runs
		// ending at the same instant) are told apart by their Ref.
		return open, ChangeNone
	case s.Kind.IsCondition() && open.Reason == s.Kind && open.UpSince.IsZero():
		// Still unhealthy, stale or unreachable, reported again (a watcher
		// polling, or reconciling after a restart): the same failure.
		return open, ChangeNone
	case s.Kind.IsFailure():
		inc := clone(open)
		before := inc.State
		fail(r, inc, s)
		inc.note(s.Time, "%s", describe(s))
		if before != StateCrashLooping && inc.State == StateCrashLooping {
			return inc, ChangeEscalated
		}
		return inc, ChangeRecurred
	case open == nil:
		return nil, ChangeNone
	case s.Kind == SignalHealthy || s.Kind == SignalRunning && !s.HasHealthcheck:
		if !open.UpSince.IsZero() {
			return open, ChangeNone
		}
		inc := clone(open)
		inc.UpSince = s.Time
		inc.note(s.Time, "%s", describe(s))
		return inc, ChangeUp
	case s.Kind == SignalSucceeded:
		// Only a success after the last failure recovers: runs are not
		// always seen in the order they ended.
		if !s.Time.After(open.LastSeen) {
			return open, ChangeNone
		}
		inc := clone(open)
		inc.State, inc.ClosedAt, inc.UpSince = StateRecovered, s.Time, time.Time{}
		inc.note(s.Time, "%s", describe(s))
		return inc, ChangeRecovered
	case s.Kind == SignalStopped:
		inc := clone(open)
		inc.State, inc.ClosedAt, inc.UpSince = StateResolved, s.Time, time.Time{}
		inc.note(s.Time, "stopped on purpose: incident closed")
		return inc, ChangeResolved
	}
	return open, ChangeNone
}

// Tick closes an incident whose target has been up for RecoveryAfter.
func Tick(r Rules, open *Incident, now time.Time) (*Incident, Change) {
	r = r.withDefaults()
	if open == nil || open.State.Closed() || open.UpSince.IsZero() || now.Sub(open.UpSince) < r.RecoveryAfter {
		return open, ChangeNone
	}
	inc := clone(open)
	inc.State, inc.ClosedAt = StateRecovered, open.UpSince.Add(r.RecoveryAfter)
	inc.note(inc.ClosedAt, "recovered: up for %s", r.RecoveryAfter)
	return inc, ChangeRecovered
}

// fail records one failure: count, exit code, crash-loop detection.
func fail(r Rules, inc *Incident, s Signal) {
	inc.Count++
	inc.LastSeen, inc.Reason, inc.UpSince = s.Time, s.Kind, time.Time{}
	if s.Kind == SignalCrashed || s.Kind == SignalOOMKilled {
		inc.ExitCode = s.ExitCode
	}
	if s.OOM || s.Kind == SignalOOMKilled {
		inc.OOM = true
	}
	if s.Detail != "" {
		inc.Detail = s.Detail
	}
	inc.Ref = s.Ref
	// Keep only the failures inside the window: the crash-loop test is
	// "N failures within W", and the slice stays short.
	recent := inc.Failures[:0:0]
	for _, t := range inc.Failures {
		if s.Time.Sub(t) < r.CrashLoopWindow {
			recent = append(recent, t)
		}
	}
	inc.Failures = append(recent, s.Time)
	if len(inc.Failures) >= r.CrashLoopRestarts {
		inc.State = StateCrashLooping
	} else if inc.State != StateCrashLooping {
		inc.State = StateOpen
	}
}

func clone(inc *Incident) *Incident {
	c := *inc
	c.Failures = append([]time.Time(nil), inc.Failures...)
	c.Timeline = append([]Entry(nil), inc.Timeline...)
	return &c
}

func describe(s Signal) string {
	switch s.Kind {
	case SignalCrashed:
		return fmt.Sprintf("exited with code %d", s.ExitCode)
	case SignalOOMKilled:
		return fmt.Sprintf("OOM-killed (exit code %d)", s.ExitCode)
	case SignalUnhealthy:
		if s.Detail != "" {
			return "unhealthy: " + s.Detail
		}
		return "unhealthy"
	case SignalDown, SignalFailed, SignalFailing, SignalUnreachable:
		if s.Detail != "" {
			return string(s.Kind) + ": " + s.Detail
		}
		return string(s.Kind)
	case SignalHealthy:
		if s.Detail != "" {
			return "ok again: " + s.Detail
		}
		return "healthy again"
	case SignalRunning:
		return "running again"
	case SignalSucceeded:
		if s.Detail != "" {
			return "recovered: " + s.Detail
		}
		return "recovered: succeeded"
	}
	return string(s.Kind)
}

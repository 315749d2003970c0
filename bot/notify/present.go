package notify

import (
	"fmt"
	"slices"

	"mfbot/incident"
	"mfbot/reply"
)

// Presenter shows the incidents of one source (Docker, freshness,
// Prefect ...) in their root message. The notifier knows sources only
// through it: a new source brings its Presenter, the notifier is unchanged.
type Presenter interface {
	Present(inc *incident.Incident) Presentation
}

// PresenterFunc adapts a function to a Presenter.
type PresenterFunc func(inc *incident.Incident) Presentation

// Present calls f.
func (f PresenterFunc) Present(inc *incident.Incident) Presentation { return f(inc) }

// Presentation is how a source shows one incident.
type Presentation struct {
	// TargetLabel names what failed: "Service", "Check", "Flow" (default
	// "Target").
	TargetLabel string
	// Reason is the last failure in a few words ("exited with code 3",
	// "12 min old"); "" lets the notifier say it from the signal kind.
	Reason string
	// Fields come after the state and the last failure: exit code, OOM,
	// the source's own facts.
	Fields []reply.Field
	// Actions are the root's buttons (Logs, Restart, Mute 1h). The
	// notifier shows them while the incident is open, and only those
	// marked KeepWhenClosed once it is closed.
	Actions []PresentedAction
	// Thread is what a mention in the alert's thread is about (`@mfbot
	// logs`); nil: the incident's environment only.
	Thread *reply.Target
}

// PresentedAction is a button of an alert.
type PresentedAction struct {
	reply.Action
	KeepWhenClosed bool
}

// genericPresenter shows an incident of a source without a Presenter.
func genericPresenter(inc *incident.Incident) Presentation {
	return withReport(inc, Presentation{Thread: &reply.Target{Env: inc.Key.Env}})
}

// WithReport is p whose closed incidents offer a Report button
// (`<env> incident <id> report`): the postmortem starts from the root
// that told the story. An open incident has no Report: its story is not
// over.
func WithReport(p Presenter) Presenter {
	return PresenterFunc(func(inc *incident.Incident) Presentation {
		return withReport(inc, p.Present(inc))
	})
}

func withReport(inc *incident.Incident, pr Presentation) Presentation {
	if !inc.State.Closed() || inc.ID == 0 {
		return pr
	}
	// Appended to a copy: the source may share its Actions between calls.
	pr.Actions = append(slices.Clip(pr.Actions), PresentedAction{
		Action:         reply.Action{Label: "Report", Command: fmt.Sprintf("%s incident %d report", inc.Key.Env, inc.ID)},
		KeepWhenClosed: true,
	})
	return pr
}

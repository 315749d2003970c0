package commands

import (
	"context"

	"mfbot/reply"
)

// Steps receives the steps of a long action (restart, rollback,
// deploy …) as they happen, so that the transport shows them in place of
// the reply to come: Slack updates one message, the console prints on
// stderr. Calls return at once: the transport coalesces and paces what
// it shows.
type Steps interface {
	// Step says where the action is now.
	Step(p reply.Progress)
	// Output is one line written by a program the action runs (the
	// deploy-flows container), not yet redacted: the transport redacts it
	// like everything it shows.
	Output(line string)
}

// Announcer makes a long action known beyond the user who runs it: a
// deploy is announced in the alert channel with one message that follows
// its steps and ends with its outcome (bot: the Slack alert channel).
type Announcer interface {
	Announce(ctx context.Context, env string, first reply.Progress) Announcement
}

// Announcement is one announced action.
type Announcement interface {
	Steps
	// Finish shows the outcome in place of the steps; the announcement
	// takes no more steps after it.
	Finish(ctx context.Context, rep reply.Reply)
}

// progressOf is the call's progress sink; never nil.
func progressOf(call *call) Steps {
	if call.request.Progress != nil {
		return call.request.Progress
	}
	return noProgress{}
}

type noProgress struct{}

func (noProgress) Step(reply.Progress) {}
func (noProgress) Output(string)       {}

// fanOut sends the same steps to several sinks (the user's reply and the
// announcement).
type fanOut []Steps

func (f fanOut) Step(p reply.Progress) {
	for _, s := range f {
		s.Step(p)
	}
}

func (f fanOut) Output(line string) {
	for _, s := range f {
		s.Output(line)
	}
}

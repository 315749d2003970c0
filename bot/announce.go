package bot

import (
	"context"
	"log/slog"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/commands"
	"mfbot/reply"
)

// SlackAnnouncer announces long actions (deploys) in the alert channel:
// one message that follows the steps, at most one update every Gap, and
// ends with the outcome. It implements commands.Announcer.
type SlackAnnouncer struct {
	API     SlackAPI
	Channel string
	Gap     time.Duration // default ProgressGap
	Log     *slog.Logger
}

// Announce posts the first step; a failed post is logged and the outcome
// is posted again at the end.
func (a *SlackAnnouncer) Announce(ctx context.Context, env string, first reply.Progress) commands.Announcement {
	gap := a.Gap
	if gap <= 0 {
		gap = ProgressGap
	}
	log := a.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ann := &slackAnnouncement{a: a, log: log.With("env", env, "channel", a.Channel)}
	ts, err := a.API.Post(ctx, a.Channel, "", slackapi.Render(first.Reply()))
	if err != nil {
		ann.log.Error("announce a deploy", "err", err)
	}
	ann.ts = ts
	ann.paced = newPacedSteps(ctx, gap, time.Now(), func(ctx context.Context, p reply.Progress) {
		if ann.ts == "" {
			return
		}
		if err := a.API.Update(ctx, a.Channel, ann.ts, slackapi.Render(p.Reply())); err != nil {
			ann.log.Error("update a deploy's announcement", "err", err)
		}
	}, nil)
	return ann
}

type slackAnnouncement struct {
	a     *SlackAnnouncer
	log   *slog.Logger
	ts    string // "" when the first post failed
	paced *pacedSteps
}

func (s *slackAnnouncement) Step(p reply.Progress) { s.paced.Step(p) }

// Output is not announced: the program's output goes to the thread of
// the command's own message.
func (s *slackAnnouncement) Output(string) {}

// Finish shows the outcome in the announcement.
func (s *slackAnnouncement) Finish(ctx context.Context, rep reply.Reply) {
	s.paced.finish(s.ts != "")
	msg := slackapi.Render(rep)
	msg.Ephemeral = false
	var err error
	if s.ts != "" {
		err = s.a.API.Update(ctx, s.a.Channel, s.ts, msg)
	} else {
		_, err = s.a.API.Post(ctx, s.a.Channel, "", msg)
	}
	if err != nil {
		s.log.Error("announce a deploy's outcome", "err", err)
	}
}

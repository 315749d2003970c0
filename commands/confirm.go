package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mfbot/audit"
	"mfbot/confirm"
	"mfbot/reply"
	"time"
)

// askConfirmation answers a mutating command that was not confirmed yet.
// Over Slack the pending command is stored and its ID travels in the
// Confirm/Cancel buttons; the console asks inline instead.
func (c *Catalogue) askConfirmation(ctx context.Context, call *call) reply.Reply {
	conf := &reply.Confirmation{Prompt: c.confirmPrompt(call), Command: c.canonical(call)}
	if c.confirmations != nil && call.request.Via != ViaConsole {
		now := c.now()
		p := confirm.Request{ID: newConfirmationID(), Command: conf.Command, Env: call.env.Config.Name,
			RequestedBy: call.request.User, Channel: call.request.Channel, CreatedAt: now, ExpiresAt: now.Add(c.confirmTTL)}
		if call.service != nil {
			p.Target = call.service.Name
		}
		if err := c.confirmations.CreateConfirmation(ctx, p); err != nil {
			return reply.Reply{Status: reply.StatusFailed, Title: "Could not ask for a confirmation", Blocks: []reply.Block{&reply.Text{Text: err.Error()}}}
		}
		conf.ID, conf.ExpiresAt = p.ID, p.ExpiresAt
	}
	return reply.Reply{Status: reply.StatusPending, Title: "Confirmation needed", Confirm: conf, Target: call.target(), RequestedBy: call.request.User}
}

// newConfirmationID is unguessable: whoever holds it can confirm (once
// authorized), so it must not be predictable.
func newConfirmationID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}

// Decision is a click on Confirm or Cancel.
type Decision struct {
	ID      string
	User    string
	Channel string
	Confirm bool // false: Cancel
	// Progress shows the steps of the confirmed command while it runs
	// (bot: in the confirmation message); nil: not shown.
	Progress Steps
}

// DecisionOutcome tells the transport what to do with the reply: update
// the confirmation message (ran, cancelled, expired) or answer only the
// clicking user (duplicate, denied, unknown).
type DecisionOutcome int

const (
	DecisionRan       DecisionOutcome = iota // confirmed: the command ran, the reply is its outcome
	DecisionCancelled                        // cancelled: nothing ran
	DecisionExpired                          // too late: nothing ran
	DecisionDuplicate                        // already decided by an earlier click: nothing ran
	DecisionDenied                           // this user may not decide: nothing ran
	DecisionUnknown                          // no such confirmation: nothing ran
)

// UpdatesMessage says whether the confirmation message should show the reply.
func (o DecisionOutcome) UpdatesMessage() bool { return o <= DecisionExpired }

// Decide handles a Confirm or Cancel click: only an operator of the
// command's environment may confirm (the requester or an operator may
// cancel), and of two clicks only the first counts. onClaimed, when not
// nil, is called once the click won and before the command runs, so the
// message can say it is running.
func (c *Catalogue) Decide(ctx context.Context, d Decision, onClaimed func(confirm.Record)) (reply.Reply, DecisionOutcome) {
	started := c.now()
	req := Request{User: d.User, Channel: d.Channel, Via: ViaButton}
	rep, outcome, rec := c.decide(ctx, d, onClaimed)
	req.Line = fmt.Sprintf("%s (%s)", clickName(d.Confirm), rec.Command)
	entry := outcomeNames[outcome]
	if outcome == DecisionRan && rep.Status != reply.StatusOK {
		entry = "confirmed, " + rep.Status.String()
	}
	c.recordClick(ctx, req, rec, entry, started)
	return rep, outcome
}

var outcomeNames = map[DecisionOutcome]string{
	DecisionRan: "confirmed", DecisionCancelled: "cancelled", DecisionExpired: "expired",
	DecisionDuplicate: "duplicate", DecisionDenied: "denied", DecisionUnknown: "unknown",
}

func clickName(confirmed bool) string {
	if confirmed {
		return "confirm"
	}
	return "cancel"
}

func (c *Catalogue) decide(ctx context.Context, d Decision, onClaimed func(confirm.Record)) (reply.Reply, DecisionOutcome, confirm.Record) {
	if c.confirmations == nil {
		return reply.Reply{Status: reply.StatusFailed, Title: "Confirmations are not available (no store)"}, DecisionUnknown, confirm.Record{}
	}
	rec, err := c.confirmations.Confirmation(ctx, d.ID)
	if errors.Is(err, confirm.ErrNotFound) {
		return reply.Reply{Status: reply.StatusFailed, Title: "Unknown confirmation: nothing was done",
			Blocks: []reply.Block{&reply.Text{Text: "mfbot has no record of it (another store, or purged). Type the command again."}}}, DecisionUnknown, rec
	}
	if err != nil {
		return reply.Reply{Status: reply.StatusFailed, Title: "Could not read the confirmation", Blocks: []reply.Block{&reply.Text{Text: err.Error()}}}, DecisionUnknown, rec
	}
	env, ok := c.envs[rec.Env]
	if !ok {
		return reply.Reply{Status: reply.StatusFailed, Title: "Environment " + rec.Env + " is no longer configured: nothing was done"}, DecisionUnknown, rec
	}
	// Confirming needs an operator; cancelling is also open to the requester.
	if d.Confirm || d.User != rec.RequestedBy {
		req := Request{User: d.User, Channel: d.Channel, Via: ViaButton}
		if err := c.authorize(ctx, env.Config, req, clickName(d.Confirm), true); err != nil {
			return denial(err), DecisionDenied, rec
		}
	}
	state := confirm.Cancelled
	if d.Confirm {
		state = confirm.Confirmed
	}
	rec, decided, err := c.confirmations.DecideConfirmation(ctx, d.ID, state, d.User, c.now())
	if err != nil {
		return reply.Reply{Status: reply.StatusFailed, Title: "Could not record the decision: nothing was done", Blocks: []reply.Block{&reply.Text{Text: err.Error()}}}, DecisionUnknown, rec
	}
	target := &reply.Target{Env: rec.Env, Service: rec.Target}
	if !decided {
		if rec.State == confirm.Expired {
			return reply.Reply{Status: reply.StatusCancelled, Title: "Expired: nothing was done", Target: target, RequestedBy: rec.RequestedBy,
				Blocks: []reply.Block{&reply.Text{Text: fmt.Sprintf("`%s` was not confirmed within %s. Type it again.", rec.Command, c.confirmTTL)}}}, DecisionExpired, rec
		}
		return reply.Reply{Status: reply.StatusDenied, Title: fmt.Sprintf("Already %s by %s at %s", rec.State, rec.DecidedBy, rec.DecidedAt.UTC().Format(time.TimeOnly)),
			Blocks: []reply.Block{&reply.Text{Text: "Nothing more was done."}}}, DecisionDuplicate, rec
	}
	if !d.Confirm {
		return reply.Reply{Status: reply.StatusCancelled, Title: "Cancelled: nothing was done", Target: target, RequestedBy: rec.RequestedBy,
			DecidedBy: d.User, Blocks: []reply.Block{&reply.Text{Text: "`" + rec.Command + "`"}}}, DecisionCancelled, rec
	}
	if onClaimed != nil {
		onClaimed(rec)
	}
	rep := c.Run(ctx, Request{Line: rec.Command, User: d.User, Channel: d.Channel, Via: ViaButton, Confirmed: true, Progress: d.Progress})
	rep.RequestedBy, rep.DecidedBy = rec.RequestedBy, d.User
	return rep, DecisionRan, rec
}

func (c *Catalogue) recordClick(ctx context.Context, req Request, rec confirm.Record, outcome string, started time.Time) {
	entry := audit.Entry{Time: started, User: req.User, Channel: req.Channel, Env: rec.Env, Target: rec.Target,
		Command: c.redactor.String(req.Line), Outcome: outcome, Duration: c.now().Sub(started), Via: req.Via}
	c.writeAudit(ctx, entry)
}

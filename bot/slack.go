package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/commands"
	"mfbot/confirm"
	"mfbot/reply"
)

// SlackAPI is what the Slack transports need from the Web API
// (adapters/slack.Client: paced, retried on 429).
type SlackAPI interface {
	Post(ctx context.Context, channel, threadTS string, m slackapi.Message) (string, error)
	UploadFiles(ctx context.Context, channel, threadTS string, files []slackapi.Upload) error
	Update(ctx context.Context, channel, ts string, m slackapi.Message) error
	PostEphemeral(ctx context.Context, channel, user, threadTS string, m slackapi.Message) error
	Respond(ctx context.Context, responseURL string, m slackapi.Message, replaceOriginal bool) error
	React(ctx context.Context, channel, ts, emoji string) error
	Unreact(ctx context.Context, channel, ts, emoji string) error
}

// ThreadStore remembers what each bot message is about, so a mention in
// its thread defaults to the same target.
type ThreadStore interface {
	SaveThreadTarget(ctx context.Context, channel, ts string, t reply.Target) error
	ThreadTarget(ctx context.Context, channel, ts string) (reply.Target, bool, error)
}

// Deliveries is where the replicas of mfbot agree on which one handles a
// Slack delivery (adapters/store.Store; shared with the other replicas
// on PostgreSQL).
type Deliveries interface {
	// ClaimDelivery reports whether this call is the first to claim id
	// (an envelope or event ID), in this process or another.
	ClaimDelivery(ctx context.Context, id string, now time.Time) (first bool, err error)
}

// claimTimeout bounds asking Deliveries, which delays the command.
const claimTimeout = 2 * time.Second

// Catalogue is what the Slack transports need from the command catalogue.
type Catalogue interface {
	Run(ctx context.Context, req commands.Request) reply.Reply
	Decide(ctx context.Context, d commands.Decision, onClaimed func(confirm.Record)) (reply.Reply, commands.DecisionOutcome)
}

// SlashCommand is a `/mf ...` from either transport.
type SlashCommand struct {
	Text, UserID, ChannelID, ResponseURL string
	Via                                  string // commands.ViaSocket or commands.ViaHTTP
	// DeliveryID is Slack's ID of the delivery (Socket Mode envelope,
	// Events API event), which another replica may get too; "": none.
	DeliveryID string
}

// Click is a button press on one of mfbot's messages.
type Click struct {
	UserID, ChannelID   string
	MessageTS, ThreadTS string // the message clicked, and its thread if it is a reply
	ResponseURL         string
	ActionID, Value     string
	Via                 string
	MessageIsEphemeral  bool
	DeliveryID          string // see SlashCommand; one per action of an envelope
}

// Mention is an `@mfbot ...` message.
type Mention struct {
	UserID, ChannelID, TS, ThreadTS, Text string
	Via                                   string
	DeliveryID                            string // see SlashCommand
}

// SlackOptions tune the dispatcher.
type SlackOptions struct {
	Workers      int           // concurrent commands (default 8)
	Queue        int           // waiting commands before "busy" (default 64)
	WorkingAfter time.Duration // show that a command is working after this (default 1s)
	// ProgressGap is the least time between two updates of a message that
	// shows a long command's steps (default ProgressGap).
	ProgressGap time.Duration
	Log         *slog.Logger
	Metrics     *Metrics // Socket Mode reconnections; nil: not counted
	// Deliveries deduplicates Slack's redeliveries across replicas: Slack
	// may deliver an envelope again to another connection, another
	// replica's. nil: in this process only.
	Deliveries Deliveries
}

// Slack dispatches what arrives from Slack to the catalogue: transports
// acknowledge at once and hand over here; a bounded pool of workers runs
// the commands and delivers the answers.
type Slack struct {
	catalogue    Catalogue
	api          SlackAPI
	threads      ThreadStore
	log          *slog.Logger
	workingAfter time.Duration
	workers      int
	jobs         chan func(context.Context)
	fatal        chan error
	fatalOnce    sync.Once
	lastEvent    atomic.Int64 // unix nanos of the last thing received from Slack
	metrics      *Metrics
	socketUp     atomic.Bool // Socket Mode connected
	seen         *recentIDs
	deliveries   Deliveries // nil: seen alone deduplicates
	progressGap  time.Duration
}

// ErrBusy is returned when the queue is full: the transport tells the user.
var ErrBusy = errors.New("mfbot is busy: too many commands are running, try again in a moment")

// NewSlack builds the dispatcher; Run starts its workers.
func NewSlack(catalogue Catalogue, api SlackAPI, threads ThreadStore, opts SlackOptions) *Slack {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.Queue <= 0 {
		opts.Queue = 64
	}
	if opts.WorkingAfter <= 0 {
		opts.WorkingAfter = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.ProgressGap <= 0 {
		opts.ProgressGap = ProgressGap
	}
	return &Slack{progressGap: opts.ProgressGap, catalogue: catalogue, api: api, threads: threads, log: opts.Log, workingAfter: opts.WorkingAfter,
		workers: opts.Workers, jobs: make(chan func(context.Context), opts.Queue), fatal: make(chan error, 1), seen: newRecentIDs(4096), metrics: opts.Metrics, deliveries: opts.Deliveries}
}

// Run runs the workers until ctx ends, then lets the commands in flight
// finish (bounded by drain) before returning. It returns early with the
// error that makes the bot useless (Slack refused its token).
func (s *Slack) Run(ctx context.Context, drain time.Duration) error {
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopping := make(chan struct{})
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for {
				select {
				case job := <-s.jobs:
					job(workCtx)
				case <-stopping:
					// The commands Slack was told were received and
					// that wait in the queue still run, within drain.
					for {
						select {
						case job := <-s.jobs:
							job(workCtx)
						default:
							return
						}
					}
				}
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.fatal:
	}
	close(stopping)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drain):
		s.log.Warn("commands still running at shutdown were cancelled", "after", drain)
		cancelWork()
		<-done
	}
	return err
}

// Fatal reports an error that must stop the bot (the token was revoked).
func (s *Slack) Fatal(err error) {
	s.fatalOnce.Do(func() { s.fatal <- err })
}

// Touch records that Slack talked to us (liveness for /healthz).
func (s *Slack) Touch() { s.lastEvent.Store(time.Now().UnixNano()) }

// LastEvent is when Slack last talked to us (zero: never).
func (s *Slack) LastEvent() time.Time {
	n := s.lastEvent.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// FirstDelivery deduplicates Slack's redeliveries to this process (event
// IDs, envelope IDs): it is true the first time an ID is seen here. The
// transports ask it before queuing; the other replicas are asked by the
// job itself (firstAnywhere).
func (s *Slack) FirstDelivery(id string) bool { return id == "" || s.seen.add(id) }

// firstAnywhere reports whether this replica is the first to handle the
// delivery id, asking Deliveries (true without them, or without an ID).
// The job asks it, on a worker: a round trip to the store on the
// transport's goroutine would delay the acks of the envelopes behind it
// (measured: the Socket Mode ack p99 went from 46 ms to 183 ms with 50
// concurrent commands). When Deliveries cannot answer, the delivery is
// handled: a command run twice is better than one that nobody runs.
func (s *Slack) firstAnywhere(ctx context.Context, id string) bool {
	if id == "" || s.deliveries == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	first, err := s.deliveries.ClaimDelivery(ctx, id, time.Now())
	if err != nil {
		s.log.Error("cannot record a Slack delivery: handling it (another replica may handle it too)", "delivery", id, "err", err)
		return true
	}
	if !first {
		s.log.Info("Slack delivery already handled by another replica", "delivery", id)
	}
	return first
}

// deliveryOfAction is the delivery ID of the i-th action of an envelope:
// each action of a block_actions envelope is a job of its own.
func deliveryOfAction(envelopeID string, i int) string {
	if envelopeID == "" || i == 0 {
		return envelopeID
	}
	return fmt.Sprintf("%s#%d", envelopeID, i+1)
}

// submit queues a job without blocking the transport.
func (s *Slack) submit(job func(context.Context)) error {
	select {
	case s.jobs <- job:
		return nil
	default:
		return ErrBusy
	}
}

// HandleSlashCommand queues a slash command; the transport has acked it.
func (s *Slack) HandleSlashCommand(cmd SlashCommand) error {
	s.Touch()
	return s.submit(func(ctx context.Context) {
		if !s.firstAnywhere(ctx, cmd.DeliveryID) {
			return
		}
		req := commands.Request{Line: cmd.Text, User: cmd.UserID, Channel: cmd.ChannelID, Via: cmd.Via}
		stop := s.whileSlow(ctx, "say working", func(ctx context.Context) error {
			return s.api.Respond(ctx, cmd.ResponseURL, slackapi.Message{Ephemeral: true, Text: "⏳ Working on `" + escapeCode(cmd.Text) + "`…"}, false)
		})
		rep := s.catalogue.Run(ctx, req)
		stop()
		s.deliver(ctx, rep, place{channel: cmd.ChannelID, user: cmd.UserID, responseURL: cmd.ResponseURL})
	})
}

// HandleMention queues an `@mfbot <command>`: answered in its thread, with
// the thread's target (a reply or alert about app) as the default.
func (s *Slack) HandleMention(m Mention) error {
	s.Touch()
	return s.submit(func(ctx context.Context) {
		if !s.firstAnywhere(ctx, m.DeliveryID) {
			return
		}
		thread := m.ThreadTS
		if thread == "" {
			thread = m.TS
		}
		req := commands.Request{Line: stripMentions(m.Text), User: m.UserID, Channel: m.ChannelID, Via: m.Via}
		if req.Line == "" {
			req.Line = "help"
		}
		if m.ThreadTS != "" && s.threads != nil {
			t, ok, err := s.threads.ThreadTarget(ctx, m.ChannelID, m.ThreadTS)
			s.check(err, "read the thread's target")
			if ok {
				req.Default = &t
			}
		}
		stop := s.whileSlow(ctx, "react", func(ctx context.Context) error {
			return s.api.React(ctx, m.ChannelID, m.TS, "hourglass_flowing_sand")
		})
		rep := s.catalogue.Run(ctx, req)
		if stop() {
			s.check(s.api.Unreact(ctx, m.ChannelID, m.TS, "hourglass_flowing_sand"), "unreact")
		}
		s.deliver(ctx, rep, place{channel: m.ChannelID, user: m.UserID, thread: thread})
	})
}

// HandleClick queues a button press.
func (s *Slack) HandleClick(c Click) error {
	s.Touch()
	return s.submit(func(ctx context.Context) {
		if !s.firstAnywhere(ctx, c.DeliveryID) {
			return
		}
		switch slackapi.ActionOf(c.ActionID) {
		case slackapi.ActionConfirm, slackapi.ActionCancel:
			s.decide(ctx, c)
		case slackapi.ActionRun:
			thread := c.ThreadTS
			if thread == "" {
				thread = c.MessageTS
			}
			stop := s.whileSlow(ctx, "say working", func(ctx context.Context) error {
				return s.api.PostEphemeral(ctx, c.ChannelID, c.UserID, thread, slackapi.Message{Text: "⏳ Working on `" + escapeCode(c.Value) + "`…"})
			})
			rep := s.catalogue.Run(ctx, commands.Request{Line: c.Value, User: c.UserID, Channel: c.ChannelID, Via: commands.ViaButton})
			stop()
			s.deliver(ctx, rep, place{channel: c.ChannelID, user: c.UserID, thread: thread})
		default:
			s.log.Warn("unknown button", "action_id", c.ActionID)
		}
	})
}

// decide handles Confirm/Cancel: the confirmation message itself shows
// the outcome; refusals and double clicks are answered to the clicker only.
func (s *Slack) decide(ctx context.Context, c Click) {
	steps := s.progressIn(ctx, c)
	d := commands.Decision{ID: c.Value, User: c.UserID, Channel: c.ChannelID, Confirm: slackapi.ActionOf(c.ActionID) == slackapi.ActionConfirm, Progress: steps}
	rep, outcome := s.catalogue.Decide(ctx, d, func(rec confirm.Record) {
		running := reply.Reply{Status: reply.StatusPending, Title: "Running " + rec.Command + "…", RequestedBy: rec.RequestedBy, DecidedBy: c.UserID}
		s.replaceClicked(ctx, c, slackapi.Render(running))
		steps.shown(time.Now())
	})
	steps.finish(outcome == commands.DecisionRan)
	msg := slackapi.Render(rep)
	if !outcome.UpdatesMessage() {
		s.check(s.api.PostEphemeral(ctx, c.ChannelID, c.UserID, c.ThreadTS, msg), "answer a click")
		return
	}
	msg.Ephemeral = false
	s.replaceClicked(ctx, c, msg)
	s.remember(ctx, c.ChannelID, c.MessageTS, rep)
}

// progressIn shows the steps of a confirmed command in place of its
// confirmation message, and the output of the programs it runs in that
// message's thread (to the clicker alone when the message is ephemeral).
func (s *Slack) progressIn(ctx context.Context, c Click) *pacedSteps {
	show := func(ctx context.Context, p reply.Progress) {
		s.replaceClicked(ctx, c, slackapi.Render(p.Reply()))
	}
	thread := c.ThreadTS
	if thread == "" {
		thread = c.MessageTS
	}
	post := func(ctx context.Context, lines []string) {
		msg := outputMessage(lines)
		if c.MessageIsEphemeral {
			s.check(s.api.PostEphemeral(ctx, c.ChannelID, c.UserID, c.ThreadTS, msg), "post a program's output")
			return
		}
		_, err := s.api.Post(ctx, c.ChannelID, thread, msg)
		s.check(err, "post a program's output")
	}
	return newPacedSteps(ctx, s.progressGap, time.Time{}, show, post)
}

// outputMessage shows lines of a program's output as code.
func outputMessage(lines []string) slackapi.Message {
	return slackapi.RenderWithEmoji(reply.Reply{Status: reply.StatusOK, Title: "output",
		Blocks: []reply.Block{&reply.Code{Text: strings.Join(lines, "\n")}}}, "📜")
}

// replaceClicked shows msg in place of the clicked message. chat.update
// cannot reach an ephemeral message: its response_url can.
func (s *Slack) replaceClicked(ctx context.Context, c Click, msg slackapi.Message) {
	if c.MessageIsEphemeral {
		msg.Ephemeral = true
		s.check(s.api.Respond(ctx, c.ResponseURL, msg, true), "replace the clicked message")
		return
	}
	s.check(s.api.Update(ctx, c.ChannelID, c.MessageTS, msg), "update the clicked message")
}

// place is where an answer goes.
type place struct {
	channel, user, thread, responseURL string
}

// deliver posts a reply: ephemeral ones to the user alone, the others in
// the channel (or thread) where everyone sees what was done.
func (s *Slack) deliver(ctx context.Context, rep reply.Reply, at place) {
	if rep.RequestedBy == "" && !isEphemeralStatus(rep.Status) {
		rep.RequestedBy = at.user
	}
	msg := slackapi.Render(rep)
	if msg.Ephemeral {
		if at.responseURL != "" {
			s.check(s.api.Respond(ctx, at.responseURL, msg, false), "answer ephemerally")
			return
		}
		s.check(s.api.PostEphemeral(ctx, at.channel, at.user, at.thread, msg), "answer ephemerally")
		return
	}
	// The files go up after the message is remembered: uploads take
	// seconds (paced, retried), and a mention in the reply's thread
	// meanwhile must already find the reply's target.
	files := msg.Files
	msg.Files = nil
	ts, err := s.api.Post(ctx, at.channel, at.thread, msg)
	if err != nil && ts == "" && at.responseURL != "" && notInChannel(err) {
		// Slash commands work in channels the bot has not joined; its
		// response_url still can answer there (without files).
		msg.Files = files
		s.check(s.api.Respond(ctx, at.responseURL, msg, false), "answer through response_url")
		return
	}
	s.check(err, "post a reply")
	if ts == "" {
		return
	}
	s.remember(ctx, at.channel, ts, rep)
	if len(files) > 0 {
		thread := at.thread
		if thread == "" {
			thread = ts
		}
		s.check(s.api.UploadFiles(ctx, at.channel, thread, files), "upload the reply's files")
	}
}

func isEphemeralStatus(st reply.Status) bool {
	return st == reply.StatusUsage || st == reply.StatusDenied
}

func (s *Slack) remember(ctx context.Context, channel, ts string, rep reply.Reply) {
	if rep.Target == nil || s.threads == nil {
		return
	}
	s.check(s.threads.SaveThreadTarget(ctx, channel, ts, *rep.Target), "remember the reply's target")
}

// check logs a failed Slack call and stops the bot on a fatal auth error:
// a bot whose token was revoked must not look alive.
func (s *Slack) check(err error, doing string) {
	if err == nil {
		return
	}
	if slackapi.IsFatalAuthError(err) {
		s.log.Error("Slack refused the bot token: stopping", "while", doing, "err", err)
		s.Fatal(fmt.Errorf("%s: %w", doing, err))
		return
	}
	s.log.Error("Slack call failed", "while", doing, "err", err)
}

// whileSlow runs show once if the returned stop is not called within
// workingAfter; stop reports whether show ran. stop cancels a show still
// in flight (a post being retried) and waits for it to return, so that
// the answer never comes before the sign that it is working, nor a ⏳
// reaction lands after its removal.
func (s *Slack) whileSlow(ctx context.Context, doing string, show func(context.Context) error) (stop func() bool) {
	showCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	timer := time.AfterFunc(s.workingAfter, func() {
		defer close(done)
		if err := show(showCtx); showCtx.Err() == nil {
			s.check(err, doing)
		}
	})
	return func() bool {
		defer cancel()
		if timer.Stop() {
			return false
		}
		cancel()
		<-done
		return true
	}
}

func notInChannel(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "not_in_channel") || strings.Contains(msg, "channel_not_found")
}

var leadingMentions = regexp.MustCompile(`^(\s*<@[A-Z0-9]+(\|[^>]*)?>)+\s*`)

// stripMentions removes the leading `<@BOT>` of an app_mention's text.
func stripMentions(text string) string {
	return strings.TrimSpace(leadingMentions.ReplaceAllString(text, ""))
}

// escapeCode keeps user text inert inside an inline code span.
func escapeCode(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

// recentIDs remembers the last n IDs (bounded memory) to drop redeliveries.
type recentIDs struct {
	mu    sync.Mutex
	set   map[string]struct{}
	order []string
	next  int
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{set: make(map[string]struct{}, n), order: make([]string, n)}
}

func (r *recentIDs) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.order[r.next]; old != "" {
		delete(r.set, old)
	}
	r.order[r.next] = id
	r.next = (r.next + 1) % len(r.order)
	r.set[id] = struct{}{}
	return true
}

func busyMessage() slackapi.Message {
	return slackapi.Message{Ephemeral: true, Text: "⚠️ " + ErrBusy.Error()}
}

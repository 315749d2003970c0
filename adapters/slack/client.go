package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ClientOptions tune a Client; zero values take the defaults.
type ClientOptions struct {
	// PerChannelInterval spaces the messages posted to one channel
	// (default 1s: Slack allows about one message per second per channel):
	// they are sent one at a time, in the order of the calls, each at least
	// this long after the answer to the previous one, 429 waits included.
	// Negative: no pacing (nor ordering).
	PerChannelInterval time.Duration
	// RetryFor bounds the retries of transient failures (5xx, connection
	// errors, timeouts), from the first attempt (default 2 min). 429s are
	// always waited out, whatever this says: a message is never dropped
	// because of a rate limit.
	RetryFor time.Duration
	// RetryBackoff and RetryBackoffMax: first and largest wait between
	// retries of transient failures (default 500 ms and 30 s).
	RetryBackoff, RetryBackoffMax time.Duration
	// UsergroupTTL: how long a user group's member list is served from the
	// cache (default 5 min). UsergroupStale: how long a stale list keeps
	// being served while refreshing it fails (default 1 h).
	UsergroupTTL, UsergroupStale time.Duration
	// HTTPClient is the base HTTP client (default: 30 s timeout); the
	// Client wraps its transport and leaves the original untouched.
	HTTPClient *http.Client
	// Logger receives retries, rate limits and dropped files (default:
	// discard). Tokens are never logged.
	Logger *slog.Logger
	// OnCall, if set, is told of every HTTP call (metrics: latency,
	// outcome). OnRateLimited of every 429 and the wait it imposes.
	OnCall        func(method string, took time.Duration, err error)
	OnRateLimited func(method string, wait time.Duration)
	// Metrics counts every Web API call by method and outcome, its
	// latency and the 429s; nil: not counted.
	Metrics *Metrics
	// Redactor, if set, redacts every message, update, ephemeral,
	// response and file before it leaves (the redaction boundary).
	Redactor Redactor
}

// Client is the Web API client of mfbot: it posts, updates and uploads
// within Slack's rate limits. Safe for concurrent use.
type Client struct {
	api    *slack.Client
	opts   ClientOptions
	log    *slog.Logger
	pacer  *pacer
	gate   *gate
	groups *usergroupCache
}

// NewClient returns a client for the bot token; apiURL is the Web API base
// URL ("" for https://slack.com/api/).
func NewClient(botToken, apiURL string, opts ClientOptions) *Client {
	if opts.PerChannelInterval == 0 {
		opts.PerChannelInterval = time.Second
	}
	if opts.RetryFor == 0 {
		opts.RetryFor = 2 * time.Minute
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 500 * time.Millisecond
	}
	if opts.RetryBackoffMax <= 0 {
		opts.RetryBackoffMax = 30 * time.Second
	}
	if opts.UsergroupTTL <= 0 {
		opts.UsergroupTTL = 5 * time.Minute
	}
	if opts.UsergroupStale <= 0 {
		opts.UsergroupStale = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = retryAfterTransport{next: next}

	// slack-go's own retries (OptionRetry) stay off: this client does the
	// waiting, so that a 429 is never waited for twice and never given up on.
	options := []slack.Option{slack.OptionHTTPClient(hc)}
	if apiURL != "" {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/" // slack-go appends the method name as is
		}
		options = append(options, slack.OptionAPIURL(apiURL))
	}
	c := &Client{
		api:   slack.New(botToken, options...),
		opts:  opts,
		log:   opts.Logger.With("component", "slack"),
		pacer: newPacer(opts.PerChannelInterval),
		gate:  newGate(),
	}
	c.groups = newUsergroupCache(opts.UsergroupTTL, opts.UsergroupStale, c.log)
	return c
}

// API is the underlying slack-go client, for what this package does not wrap.
func (c *Client) API() *slack.Client { return c.api }

// UploadError is a file of a message that could not be uploaded; the
// message itself was delivered.
type UploadError struct {
	Name string
	Err  error
}

func (e *UploadError) Error() string { return fmt.Sprintf("upload of %s: %v", e.Name, e.Err) }
func (e *UploadError) Unwrap() error { return e.Err }

func messageOptions(m Message) []slack.MsgOption {
	opts := []slack.MsgOption{
		slack.MsgOptionText(m.Text, false), // Render escaped it already
		slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if m.Metadata != nil {
		opts = append(opts, slack.MsgOptionMetadata(*m.Metadata))
	}
	return opts
}

// blocksRejected: Slack refused the blocks themselves. The message goes
// out again as text only rather than not at all.
func blocksRejected(err error) bool {
	switch slackErrorCode(err) {
	case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long":
		return true
	}
	return false
}

func textOnly(m Message, err error) Message {
	note := fmt.Sprintf("(the full message could not be displayed: %s)", slackErrorCode(err))
	return Message{Text: m.Text, Blocks: []slack.Block{mrkdwnSection(m.Text + "\n_" + note + "_")}, Metadata: m.Metadata}
}

// Post sends m to channel (in the thread of threadTS if set) with
// chat.postMessage, then uploads m.Files in the thread of the posted
// message (or threadTS). ts is set as soon as the message is posted: with
// ts != "" and an error, only uploads failed (the error is *UploadError,
// possibly joined) and the message must not be posted again.
//
// Posts to one channel go out one at a time, in the order of the calls, at
// most one per PerChannelInterval, 429 waits included (see pacer); the
// files are uploaded after the message has left the channel's queue.
func (c *Client) Post(ctx context.Context, channel, threadTS string, m Message) (ts string, err error) {
	if m, err = c.redact(m); err != nil {
		return "", err
	}
	turn, err := c.pacer.enter(ctx, channel)
	if err != nil {
		return "", fmt.Errorf("slack chat.postMessage: %w", err)
	}
	post := func(m Message) error {
		opts := messageOptions(m)
		if threadTS != "" {
			opts = append(opts, slack.MsgOptionTS(threadTS))
		}
		return c.call(ctx, "chat.postMessage", turn.write(func(ctx context.Context) error {
			_, t, err := c.api.PostMessageContext(ctx, channel, opts...)
			ts = t
			return err
		}))
	}
	err = post(m)
	if blocksRejected(err) {
		c.log.Error("slack refused the blocks of a message, posting it as text", "channel", channel, "err", err)
		err = post(textOnly(m, err))
	}
	turn.leave()
	if err != nil {
		return "", err
	}
	thread := threadTS
	if thread == "" {
		thread = ts
	}
	return ts, c.UploadFiles(ctx, channel, thread, m.Files)
}

// Update replaces the message channel/ts with m (chat.update) and uploads
// m.Files in its thread. Every call uploads m.Files again: pass a message
// without files when only the text changes.
//
// Updates are not paced: the one-message-per-second-per-channel rule is
// chat.postMessage's; chat.update has its method's rate limit, whose 429s
// are waited out like any other.
func (c *Client) Update(ctx context.Context, channel, ts string, m Message) error {
	m, err := c.redact(m)
	if err != nil {
		return err
	}
	update := func(m Message) error {
		opts := messageOptions(m)
		return c.call(ctx, "chat.update", func(ctx context.Context) error {
			_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, opts...)
			return err
		})
	}
	err = update(m)
	if blocksRejected(err) {
		c.log.Error("slack refused the blocks of an update, sending it as text", "channel", channel, "err", err)
		err = update(textOnly(m, err))
	}
	if err != nil {
		return err
	}
	return c.UploadFiles(ctx, channel, ts, m.Files)
}

// PostEphemeral shows m to user only (chat.postEphemeral), in the thread
// of threadTS if set. Files cannot be ephemeral: they are not sent (and
// logged), which is why Render keeps errors short.
func (c *Client) PostEphemeral(ctx context.Context, channel, user, threadTS string, m Message) error {
	m, err := c.redact(m)
	if err != nil {
		return err
	}
	turn, err := c.pacer.enter(ctx, channel)
	if err != nil {
		return fmt.Errorf("slack chat.postEphemeral: %w", err)
	}
	opts := messageOptions(m)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	err = c.call(ctx, "chat.postEphemeral", turn.write(func(ctx context.Context) error {
		_, err := c.api.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	}))
	turn.leave()
	c.dropFiles("ephemeral message", m.Files)
	return err
}

// Respond answers through a response_url (slash commands, button clicks):
// ephemeral if m.Ephemeral, else in the channel; replaceOriginal replaces
// the message that carried the button. A response_url takes no files: send
// m.Files with UploadFiles when the channel is known (they are logged and
// dropped here).
func (c *Client) Respond(ctx context.Context, responseURL string, m Message, replaceOriginal bool) error {
	m, err := c.redact(m)
	if err != nil {
		return err
	}
	responseType := slack.ResponseTypeInChannel
	if m.Ephemeral {
		responseType = slack.ResponseTypeEphemeral
	}
	opts := append(messageOptions(m), slack.MsgOptionResponseURL(responseURL, responseType))
	if replaceOriginal {
		opts = append(opts, slack.MsgOptionReplaceOriginal(responseURL))
	}
	err = c.call(ctx, "response_url", func(ctx context.Context) error {
		_, _, _, err := c.api.SendMessageContext(ctx, "", opts...)
		return err
	})
	c.dropFiles("response_url", m.Files)
	return err
}

func (c *Client) dropFiles(where string, files []Upload) {
	for _, f := range files {
		c.log.Warn("file not sent: "+where+" cannot carry files", "file", f.Name, "bytes", len(f.Content))
	}
}

// React adds the emoji reaction (name without colons) to channel/ts; an
// existing reaction is not an error.
func (c *Client) React(ctx context.Context, channel, ts, emoji string) error {
	err := c.call(ctx, "reactions.add", func(ctx context.Context) error {
		return c.api.AddReactionContext(ctx, strings.Trim(emoji, ":"), slack.NewRefToMessage(channel, ts))
	})
	if slackErrorCode(err) == "already_reacted" {
		return nil
	}
	return err
}

// Unreact removes the bot's emoji reaction from channel/ts; a missing
// reaction is not an error.
func (c *Client) Unreact(ctx context.Context, channel, ts, emoji string) error {
	err := c.call(ctx, "reactions.remove", func(ctx context.Context) error {
		return c.api.RemoveReactionContext(ctx, strings.Trim(emoji, ":"), slack.NewRefToMessage(channel, ts))
	})
	if slackErrorCode(err) == "no_reaction" {
		return nil
	}
	return err
}

// AuthTest checks the token: the bot's user ID and the workspace name.
func (c *Client) AuthTest(ctx context.Context) (botUserID, team string, err error) {
	var resp *slack.AuthTestResponse
	err = c.call(ctx, "auth.test", func(ctx context.Context) error {
		var err error
		resp, err = c.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return "", "", err
	}
	team = resp.Team
	if team == "" {
		team = resp.TeamID
	}
	return resp.UserID, team, nil
}

// UsergroupMembers returns the user IDs of a user group (S...), from a
// cache refreshed every UsergroupTTL; when a refresh fails the previous
// list is served for up to UsergroupStale.
func (c *Client) UsergroupMembers(ctx context.Context, groupID string) ([]string, error) {
	return c.groups.get(ctx, groupID, func(ctx context.Context, haveStale bool) ([]string, error) {
		if !haveStale {
			return c.groupMembers(ctx, groupID, c.opts.RetryFor)
		}
		// A stale list beats a command waiting minutes on Slack: one
		// attempt, briefly (a 429 is still waited for, within that time).
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.groupMembers(ctx, groupID, 0)
	})
}

func (c *Client) groupMembers(ctx context.Context, groupID string, retryFor time.Duration) ([]string, error) {
	var members []string
	err := c.callFor(ctx, "usergroups.users.list", retryFor, func(ctx context.Context) error {
		var err error
		members, err = c.api.GetUserGroupMembersContext(ctx, groupID)
		return err
	})
	if err == nil && members == nil {
		members = []string{}
	}
	return members, err
}

package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	slackapi "mfbot/adapters/slack"
	"mfbot/commands"
)

// RunSocketMode connects to Slack over Socket Mode (no public URL needed)
// and feeds the dispatcher until ctx ends. Each envelope is acknowledged
// before any work; the socketmode client reconnects by itself on
// disconnects and refresh requests. It returns an error only when Slack
// refuses the app token for good. opts tune the client (SocketActivity's
// Option records the socket's liveness for /healthz).
func (s *Slack) RunSocketMode(ctx context.Context, api *slack.Client, opts ...socketmode.Option) error {
	client := socketmode.New(api, opts...)
	go s.socketEvents(ctx, client)
	err := client.RunContext(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if slackapi.IsFatalAuthError(err) || isSocketAuthError(err) {
		return fmt.Errorf("Socket Mode: Slack refused the app token (SLACK_APP_TOKEN): %w", err)
	}
	return fmt.Errorf("socket mode stopped: %w", err)
}

// isSocketAuthError: slack-go gives up connecting on these (as plain
// errors, not always as Slack error responses).
func isSocketAuthError(err error) bool {
	if err == nil {
		return false
	}
	switch err.Error() {
	case "invalid_auth", "account_inactive", "not_authed", "token_revoked":
		return true
	}
	return false
}

func (s *Slack) socketEvents(ctx context.Context, client *socketmode.Client) {
	connected := false // once: later connections are reconnections
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-client.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeConnecting, socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError,
			socketmode.EventTypeErrorWriteFailed, socketmode.EventTypeInvalidAuth:
			// The client's own news (retrying, failing): Slack said nothing.
		default:
			s.Touch()
		}
		switch evt.Type {
		case socketmode.EventTypeConnecting:
			s.socketUp.Store(false)
			s.log.Info("connecting to Slack (Socket Mode)")
		case socketmode.EventTypeConnected, socketmode.EventTypeHello:
			if evt.Type == socketmode.EventTypeConnected {
				if connected {
					s.metrics.reconnected()
				}
				connected = true
			}
			s.socketUp.Store(true)
			s.log.Info("connected to Slack (Socket Mode)", "event", evt.Type)
		case socketmode.EventTypeDisconnect:
			s.socketUp.Store(false)
			s.log.Info("Slack asked to reconnect (Socket Mode)")
		case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
			s.socketUp.Store(evt.Type != socketmode.EventTypeConnectionError && s.socketUp.Load())
			if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && slackapi.IsFatalAuthError(ce.ErrorObj) {
				// slack-go retries these for ever (not_allowed_token_type: a
				// bot token given as the app token, token_expired...).
				s.log.Error("Slack refused the app token (SLACK_APP_TOKEN): stopping", "err", ce.ErrorObj)
				s.Fatal(fmt.Errorf("Socket Mode: Slack refused the app token (SLACK_APP_TOKEN): %w", ce.ErrorObj))
				continue
			}
			s.log.Warn("Socket Mode trouble", "type", evt.Type, "data", fmt.Sprint(evt.Data))
		case socketmode.EventTypeInvalidAuth:
			s.Fatal(fmt.Errorf("Socket Mode: Slack refused the app token (invalid_auth)"))
		case socketmode.EventTypeSlashCommand:
			cmd, ok := evt.Data.(slack.SlashCommand)
			s.ack(client, evt)
			if ok && s.FirstDelivery(envelopeID(evt)) {
				s.busy(s.HandleSlashCommand(SlashCommand{Text: cmd.Text, UserID: cmd.UserID, ChannelID: cmd.ChannelID, ResponseURL: cmd.ResponseURL, Via: commands.ViaSocket,
					DeliveryID: envelopeID(evt)}), cmd.ResponseURL)
			}
		case socketmode.EventTypeInteractive:
			cb, ok := evt.Data.(slack.InteractionCallback)
			s.ack(client, evt)
			if ok && cb.Type == slack.InteractionTypeBlockActions && s.FirstDelivery(envelopeID(evt)) {
				for i, click := range clicksOf(cb, commands.ViaSocket) {
					click.DeliveryID = deliveryOfAction(envelopeID(evt), i)
					s.busy(s.HandleClick(click), cb.ResponseURL)
				}
			}
		case socketmode.EventTypeEventsAPI:
			outer, ok := evt.Data.(slackevents.EventsAPIEvent)
			s.ack(client, evt)
			if !ok || outer.Type != slackevents.CallbackEvent || !s.FirstDelivery(envelopeID(evt)) {
				continue
			}
			if m, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent); ok {
				s.busy(s.HandleMention(Mention{UserID: m.User, ChannelID: m.Channel, TS: m.TimeStamp, ThreadTS: m.ThreadTimeStamp, Text: m.Text, Via: commands.ViaSocket,
					DeliveryID: envelopeID(evt)}), "")
			}
		}
	}
}

// ack acknowledges an envelope at once: Slack retries unacknowledged ones
// after 3 seconds and shows the user an error.
func (s *Slack) ack(client *socketmode.Client, evt socketmode.Event) {
	if evt.Request == nil {
		return
	}
	if err := client.Ack(*evt.Request); err != nil {
		s.log.Warn("Socket Mode ack failed", "err", err)
	}
}

func envelopeID(evt socketmode.Event) string {
	if evt.Request == nil {
		return ""
	}
	return evt.Request.EnvelopeID
}

// busy tells the user when the queue is full rather than dropping silently.
func (s *Slack) busy(err error, responseURL string) {
	if err == nil {
		return
	}
	s.log.Warn("command refused", "err", err)
	if responseURL != "" {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.workingAfter*10)
			defer cancel()
			s.check(s.api.Respond(ctx, responseURL, busyMessage(), false), "say busy")
		}()
	}
}

// clicksOf extracts the button presses of a block_actions callback.
func clicksOf(cb slack.InteractionCallback, via string) []Click {
	var out []Click
	for _, a := range cb.ActionCallback.BlockActions {
		out = append(out, Click{
			UserID: cb.User.ID, ChannelID: cb.Channel.ID,
			MessageTS: cb.Container.MessageTs, ThreadTS: cb.Container.ThreadTs,
			ResponseURL: cb.ResponseURL, ActionID: a.ActionID, Value: a.Value, Via: via,
			MessageIsEphemeral: cb.Container.IsEphemeral,
		})
	}
	return out
}

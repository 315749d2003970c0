package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	slackapi "mfbot/adapters/slack"
	"mfbot/audit"
)

// AuditMirror keeps the audit log in the store and copies each entry to a
// Slack channel. The copy is asynchronous and bounded: a slow Slack never
// slows a command, and the store keeps the record whatever happens.
type AuditMirror struct {
	audit.Log
	api     SlackAPI
	channel string
	log     *slog.Logger
	queue   chan audit.Entry
}

// NewAuditMirror wraps log; Run posts the copies.
func NewAuditMirror(log audit.Log, api SlackAPI, channel string, logger *slog.Logger) *AuditMirror {
	return &AuditMirror{Log: log, api: api, channel: channel, log: logger, queue: make(chan audit.Entry, 256)}
}

// AppendAudit stores the entry, then queues its copy.
func (m *AuditMirror) AppendAudit(ctx context.Context, e audit.Entry) error {
	if err := m.Log.AppendAudit(ctx, e); err != nil {
		return err
	}
	select {
	case m.queue <- e:
	default:
		m.log.Warn("audit channel copy skipped: queue full (the store has the entry)", "command", e.Command)
	}
	return nil
}

// Run posts queued copies until ctx ends.
func (m *AuditMirror) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-m.queue:
			text := fmt.Sprintf("%s · %s in %s via %s: `%s` → %s (%s)", e.Time.UTC().Format(time.DateTime), e.User, e.Channel, e.Via,
				escapeCode(e.Command), e.Outcome, e.Duration.Round(time.Millisecond))
			if _, err := m.api.Post(ctx, m.channel, "", slackapi.Message{Text: text}); err != nil {
				m.log.Error("audit channel copy failed", "err", err)
			}
		}
	}
}

// Package audit holds the audit log's entries: every command and click,
// who, where, what, and how it ended. adapters/store keeps them; the
// command catalogue writes and shows them. It imports nothing of mfbot.
package audit

import (
	"context"
	"time"
)

// Entry is one line of the audit log: every command and click.
type Entry struct {
	Time     time.Time
	User     string // Slack user ID, or console:<login>
	Channel  string
	Env      string
	Command  string // the command line, redacted
	Target   string // service, flow or run the command was about ("" when none)
	Outcome  string // ok, failed, usage, denied, pending, confirmed, cancelled, expired
	Duration time.Duration
	Via      string // console, slack-socket, slack-http, button
}

// Log keeps the audit entries (adapters/store implements it).
type Log interface {
	AppendAudit(ctx context.Context, e Entry) error
	// RecentAudit returns the newest entries first.
	RecentAudit(ctx context.Context, limit int) ([]Entry, error)
}

package commands

import (
	"context"
	"errors"
	"time"
)

// AuditEntry is one line of the audit log: every command and click.
type AuditEntry struct {
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

// AuditLog keeps the audit entries (adapters/store implements it).
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	// RecentAudit returns the newest entries first.
	RecentAudit(ctx context.Context, limit int) ([]AuditEntry, error)
}

// ConfirmState is the life cycle of a confirmation.
type ConfirmState string

const (
	ConfirmPending   ConfirmState = "pending"
	ConfirmConfirmed ConfirmState = "confirmed"
	ConfirmCancelled ConfirmState = "cancelled"
	ConfirmExpired   ConfirmState = "expired"
)

// PendingConfirmation is a mutating command waiting for its Confirm click.
type PendingConfirmation struct {
	ID          string // random, unguessable: it travels in the button's value
	Command     string // canonical command line to run once confirmed
	Env         string
	Target      string
	RequestedBy string
	Channel     string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// ConfirmationRecord is a confirmation with its decision.
type ConfirmationRecord struct {
	PendingConfirmation
	State     ConfirmState
	DecidedBy string
	DecidedAt time.Time
}

// ErrConfirmationNotFound is returned for an unknown confirmation ID.
var ErrConfirmationNotFound = errors.New("no such confirmation")

// ConfirmationStore keeps pending confirmations (adapters/store implements it).
type ConfirmationStore interface {
	CreateConfirmation(ctx context.Context, p PendingConfirmation) error
	// Confirmation reads one as it stands; unknown IDs give ErrConfirmationNotFound.
	Confirmation(ctx context.Context, id string) (ConfirmationRecord, error)
	// DecideConfirmation atomically moves a pending confirmation to state
	// (confirmed or cancelled) when it has not expired at now, and reports
	// whether this call made the decision. Otherwise it returns the record
	// as it stands, with decided false: a second click of a double click, or
	// a click after expiry (the record then reads expired). Unknown IDs give
	// ErrConfirmationNotFound.
	DecideConfirmation(ctx context.Context, id string, state ConfirmState, by string, now time.Time) (rec ConfirmationRecord, decided bool, err error)
}

// Package confirm holds the confirmations of mutating commands: a
// command waiting for its Confirm click, and the decision taken once.
// adapters/store keeps them; the command catalogue asks and decides. It
// imports nothing of mfbot.
package confirm

import (
	"context"
	"errors"
	"time"
)

// State is the life cycle of a confirmation.
type State string

const (
	Pending   State = "pending"
	Confirmed State = "confirmed"
	Cancelled State = "cancelled"
	Expired   State = "expired"
)

// Request is a mutating command waiting for its Confirm click.
type Request struct {
	ID          string // random, unguessable: it travels in the button's value
	Command     string // canonical command line to run once confirmed
	Env         string
	Target      string
	RequestedBy string
	Channel     string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Record is a confirmation with its decision.
type Record struct {
	Request
	State     State
	DecidedBy string
	DecidedAt time.Time
}

// ErrNotFound is returned for an unknown confirmation ID.
var ErrNotFound = errors.New("no such confirmation")

// Store keeps pending confirmations (adapters/store implements it).
type Store interface {
	CreateConfirmation(ctx context.Context, p Request) error
	// Confirmation reads one as it stands; unknown IDs give ErrNotFound.
	Confirmation(ctx context.Context, id string) (Record, error)
	// DecideConfirmation atomically moves a pending confirmation to state
	// (confirmed or cancelled) when it has not expired at now, and reports
	// whether this call made the decision. Otherwise it returns the record
	// as it stands, with decided false: a second click of a double click, or
	// a click after expiry (the record then reads expired). Unknown IDs give
	// ErrNotFound.
	DecideConfirmation(ctx context.Context, id string, state State, by string, now time.Time) (rec Record, decided bool, err error)
}

// Package reply is the transport-neutral answer to a command or an alert:
// a status, a title, blocks of text, fields, tables, code and files, and
// the follow-up actions. The command catalogue and the notifier build
// replies; the console and the Slack client render them. It imports
// nothing of mfbot.
package reply

import (
	"strings"
	"time"
)

// Reply is the transport-neutral answer to a command. Slack renders it as Block
// Kit, the console as plain text, tests inspect it directly.
type Reply struct {
	// Status classifies the outcome; transports use it for exit codes and
	// for choosing ephemeral (errors, denials) or public messages.
	Status Status
	// Title is a one-line headline ("app restarted", "logs of app").
	Title string
	// Blocks are the body, in order.
	Blocks []Block
	// Actions are follow-up buttons (Logs, Roll back ...).
	Actions []Action
	// Confirm, when set, means nothing ran yet: the transport must ask the
	// user and run Confirm.Command again with Request.Confirmed set.
	Confirm *Confirmation
	// Target is what the reply is about, so a thread under it can default to it.
	Target *Target
	// RequestedBy and DecidedBy are user IDs for confirmations: who asked
	// and who confirmed or cancelled (transports render them as mentions).
	RequestedBy, DecidedBy string
}

// Status of a reply.
type Status int

const (
	StatusOK        Status = iota // the command ran and succeeded
	StatusFailed                  // the command ran (or tried) and failed
	StatusUsage                   // bad input: nothing was executed
	StatusDenied                  // not allowed: nothing was executed
	StatusPending                 // waiting for a confirmation: nothing was executed
	StatusCancelled               // the user declined the confirmation
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusFailed:
		return "failed"
	case StatusUsage:
		return "usage"
	case StatusDenied:
		return "denied"
	case StatusPending:
		return "pending"
	case StatusCancelled:
		return "cancelled"
	}
	return "unknown"
}

// Block is one element of a reply body: *Text, *Fields, *Table, *Code or *File.
type Block interface{ block() }

// Text is a paragraph of plain text.
type Text struct{ Text string }

// Fields is a list of label/value pairs.
type Fields struct{ Fields []Field }

// Field is one label/value pair.
type Field struct{ Label, Value string }

// Table is a header and rows of cells.
type Table struct {
	Header []string
	Rows   [][]string
}

// Code is preformatted text such as log lines.
type Code struct{ Text string }

// File is an attachment: output too long for a message, or a picture.
type File struct {
	Name    string
	Title   string
	Content []byte
	// MediaType is the content's type when it is not text ("image/png"):
	// binary content is neither redacted (it would break) nor printed;
	// whoever builds it draws it from redacted data only.
	MediaType string
	// Alt describes a picture for those who cannot see it (Slack's alt
	// text, the console's line); it is redacted like any text.
	Alt string
	// Path is where the console writes a binary file (--out FILE); empty:
	// Name, in the working directory. Slack ignores it.
	Path string
}

// Binary says whether the content is not text.
func (f *File) Binary() bool { return f.MediaType != "" && !strings.HasPrefix(f.MediaType, "text/") }

func (*Text) block()   {}
func (*Fields) block() {}
func (*Table) block()  {}
func (*Code) block()   {}
func (*File) block()   {}

// Action is a follow-up the user can trigger with one click (or by typing
// Command): "Logs" → "logs app", "Roll back" → "rollback app --to sha256:...".
type Action struct {
	Label   string
	Command string
	// Style is "", "primary" or "danger".
	Style string
}

// Confirmation describes a mutating command waiting for an explicit yes.
type Confirmation struct {
	// Prompt says what will happen ("Pull and recreate app in prod?").
	Prompt string
	// Command is the canonical command line to run once confirmed.
	Command string
	// ID identifies the pending confirmation; it travels in the Confirm and
	// Cancel buttons' value.
	ID string
	// ExpiresAt is when the confirmation stops being accepted.
	ExpiresAt time.Time
}

// Target is the environment and service (or flow) a reply is about.
type Target struct {
	Env     string
	Service string
	// At is the moment the message is about (an alert's last failure):
	// `logs` in its thread shows the lines around it. Zero: now.
	At time.Time
}

// Progress is one step of a long action (restart, deploy, rollback …), as
// it happens: transports show it in place of the command's reply until
// the reply itself comes.
type Progress struct {
	// Title names the action ("Deploying v1.54.0 to app in prod").
	Title string
	// Step is where it is: "pulling", "recreating", "waiting for healthy",
	// "checking /version", "rolling back" …
	Step string
	// Detail adds what the step knows: "12.3 of 40.0 MB", "8s, last
	// probe: exit 1: connection refused".
	Detail string
	// Elapsed is the time since the action started.
	Elapsed time.Duration
	// Done lists the steps already passed, with their outcome, oldest first.
	Done []string
}

// Reply shows the step as a pending reply, the form in which a transport
// updates the message that will carry the outcome.
func (p Progress) Reply() Reply {
	step := p.Step
	if p.Detail != "" {
		step += ": " + p.Detail
	}
	rep := Reply{Status: StatusPending, Title: p.Title + "…",
		Blocks: []Block{&Fields{Fields: []Field{{Label: "Now", Value: step}, {Label: "Elapsed", Value: p.Elapsed.Round(time.Second).String()}}}}}
	if len(p.Done) > 0 {
		done := ""
		for i, d := range p.Done {
			if i > 0 {
				done += "\n"
			}
			done += "✓ " + d
		}
		rep.Blocks = append(rep.Blocks, &Text{Text: done})
	}
	return rep
}

// Package pipeline is MonitorFish's data pipeline as mfbot sees it: flows,
// their runs, task runs and logs, whatever Prefect generation serves them
// (Prefect Server 1 over GraphQL, Prefect 3 over REST; adapters/prefect
// implements both). The command catalogue and the Prefect watcher know
// Prefect only through API. It imports nothing of mfbot.
package pipeline

import (
	"context"
	"errors"
	"strings"
	"time"
)

// API is one environment's Prefect. Every call is bounded by ctx; the
// adapter adds its own timeout.
type API interface {
	// Version says what answers: "Prefect 3.6.9", "Prefect Server 1 (GraphQL)".
	Version(ctx context.Context) (string, error)
	// Flows lists the flows that can be run (Prefect 3: the deployments),
	// by name, each with its schedule and, when known, its last run (the
	// newest not scheduled ahead of now).
	Flows(ctx context.Context) ([]Flow, error)
	// Runs lists recent runs, newest expected start first: never the runs
	// scheduled ahead of now.
	Runs(ctx context.Context, q RunQuery) ([]Run, error)
	// Run reads one run; ErrNotFound when there is none with that ID.
	Run(ctx context.Context, id string) (Run, error)
	// TaskRuns lists the task runs of a flow run, in start order.
	TaskRuns(ctx context.Context, runID string) ([]TaskRun, error)
	// Logs returns the last limit log lines of a flow run (its tasks'
	// included), oldest first.
	Logs(ctx context.Context, runID string, limit int) ([]LogLine, error)
	// StartRun creates a run of flow now. The idempotency key makes a
	// retried request find the run it created instead of starting another.
	StartRun(ctx context.Context, flow Flow, idempotencyKey string) (Started, error)
	// CancelRun asks Prefect to cancel a run and reports what it decided.
	CancelRun(ctx context.Context, runID string) (Cancellation, error)
	// SetScheduleActive pauses (false) or resumes (true) a flow's schedule,
	// and nothing else of the flow.
	SetScheduleActive(ctx context.Context, flow Flow, active bool) error
	// FinishedSince returns, in ONE request in the steady state, the runs
	// that reached a final state (completed, failed, crashed, cancelled)
	// at or after since — by Run.EndOrStateTime — oldest first, at most
	// limit of them: the watcher's poll. Runs at since may come again:
	// callers tell them apart by ID.
	FinishedSince(ctx context.Context, since time.Time, limit int) ([]Run, error)
	// RunningSince returns the runs in state RUNNING that started before
	// startedBefore: the stuck-run check.
	RunningSince(ctx context.Context, startedBefore time.Time) ([]Run, error)
	// RunURL is a link to the run in the Prefect UI; "" when no UI URL is
	// configured.
	RunURL(runID string) string
}

// Errors the adapters wrap, so callers can tell them apart.
var (
	// ErrUnreachable: no answer (connection refused, timeout, 5xx, proxy
	// error): the Prefect API is down.
	ErrUnreachable = errors.New("Prefect does not answer")
	// ErrNotFound: the API answered that the object does not exist.
	ErrNotFound = errors.New("not found in Prefect")
	// ErrRefused: the API answered and refused the request (validation
	// error, 4xx, a GraphQL resolver error).
	ErrRefused = errors.New("Prefect refused the request")
)

// StateType is a run's state, in Prefect 3's vocabulary. Prefect 1 state
// names map onto it (Success → COMPLETED, TimedOut → FAILED ...).
type StateType string

const (
	Scheduled  StateType = "SCHEDULED"
	Pending    StateType = "PENDING"
	Running    StateType = "RUNNING"
	Completed  StateType = "COMPLETED"
	Failed     StateType = "FAILED"
	Cancelled  StateType = "CANCELLED"
	Crashed    StateType = "CRASHED"
	Paused     StateType = "PAUSED"
	Cancelling StateType = "CANCELLING"
)

// State is a run's state: its type and its name as Prefect shows it
// ("TimedOut" is a name of type FAILED; "Late" one of type SCHEDULED).
type State struct {
	Type    StateType
	Name    string
	Message string
}

// Failure says whether the state is a failure: FAILED (Prefect 1 Failed,
// TimedOut, TriggerFailed, ValidationFailed) or CRASHED. Cancelled is not.
func (s State) Failure() bool { return s.Type == Failed || s.Type == Crashed }

// Success says whether the run completed.
func (s State) Success() bool { return s.Type == Completed }

// Final says whether the run is over.
func (s State) Final() bool {
	return s.Type == Completed || s.Type == Failed || s.Type == Crashed || s.Type == Cancelled
}

// String is the name Prefect shows, else the type.
func (s State) String() string {
	if s.Name != "" {
		return s.Name
	}
	if s.Type == "" {
		return "unknown"
	}
	return string(s.Type)
}

// Flow is what an operator runs, pauses and resumes by name.
type Flow struct {
	// ID is what the API acts on: the deployment ID (Prefect 3), the
	// flow group ID (Prefect 1, stable across flow versions).
	ID string
	// Name is the flow's name as Prefect shows it ("Monitorfish -
	// Logbook", "Logbook").
	Name string
	// VersionID is, on Prefect 1, the ID of the flow's newest version
	// (what create_flow_run runs); "" on Prefect 3.
	VersionID string
	// Schedule says when it runs ("*/1 * * * * (UTC)"); "" when it has none.
	Schedule string
	// ScheduleActive: the schedule creates runs (not paused).
	ScheduleActive bool
	// LastRun is the newest run that is not scheduled ahead; nil: unknown.
	LastRun *Run
	// Version is the deployment's version as registered (Prefect 3: set
	// by the deploy-flows container to MONITORFISH_VERSION); "" when
	// unknown.
	Version string
	// Image is the container image its runs use (Prefect 3: the
	// deployment's job_variables.image); "" when not set.
	Image string
}

// RunQuery selects recent runs.
type RunQuery struct {
	Flows  []Flow // nil: every flow
	Failed bool   // only failed and crashed runs
	Limit  int    // at most this many (the adapter pages when needed)
}

// Run is one flow run.
type Run struct {
	ID       string
	Name     string // "crimson-fox"
	FlowID   string // the Flow.ID it belongs to
	FlowName string
	State    State
	// ExpectedStart is when it was scheduled to start; Start and End are
	// zero until it started or ended. StateTime is when its state was set.
	ExpectedStart, Start, End, StateTime time.Time
}

// EndOrStateTime is when the run ended: End, else when its state was set
// (Prefect 1 sets no end time on TriggerFailed and ValidationFailed).
func (r Run) EndOrStateTime() time.Time {
	if !r.End.IsZero() {
		return r.End
	}
	return r.StateTime
}

// TaskRun is one task run of a flow run.
type TaskRun struct {
	ID         string
	Name       string
	State      State
	Start, End time.Time
}

// LogLine is one log line of a run.
type LogLine struct {
	Time    time.Time
	Level   string // DEBUG INFO WARNING ERROR CRITICAL
	Logger  string // "prefect.flow_runs", "prefect.task_runs" ...
	Message string
}

// IsError says whether the line is at ERROR level or above.
func (l LogLine) IsError() bool {
	switch strings.ToUpper(l.Level) {
	case "ERROR", "CRITICAL", "FATAL":
		return true
	}
	return false
}

// Started is the outcome of StartRun.
type Started struct {
	Run Run
	// Created is false when the idempotency key matched a run that already
	// existed (Prefect 3 answers 200 instead of 201): no new run started.
	Created bool
}

// Cancellation is Prefect's decision on a cancel request.
type Cancellation struct {
	// Status is Prefect's answer: ACCEPT, REJECT, ABORT or WAIT (Prefect 1
	// always accepts or errs).
	Status string
	// Reason is Prefect's explanation, when it gave one.
	Reason string
	// State is the run's state afterwards, when known.
	State State
}

// Accepted says whether the run is being cancelled.
func (c Cancellation) Accepted() bool { return c.Status == "ACCEPT" }

// ShortName is a flow's name without MonitorFish's "Monitorfish - "
// prefix: the name of its incidents and mutes ("Logbook").
func ShortName(flow string) string {
	if len(flow) > len(namePrefix) && strings.EqualFold(flow[:len(namePrefix)], namePrefix) {
		return strings.TrimSpace(flow[len(namePrefix):])
	}
	return flow
}

const namePrefix = "Monitorfish - "

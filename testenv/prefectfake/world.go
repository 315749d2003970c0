// Package prefectfake is an in-process fake of Prefect for tests: one
// World of flows, deployments, runs, task runs and logs, served both as
// Prefect Server 1's GraphQL API (every document validated against the
// schema files in ../shared/prefect, answered like its Hasura, null
// filters collapsed) and as Prefect 3's REST API (every body validated
// against the OpenAPI subset, answered with its shapes and status codes).
//
//	srv := prefectfake.Start(t)
//	flow := srv.World.AddFlow("Monitorfish - Logbook", "* * * * *")
//	srv.World.FailedRun(flow, time.Now(), "extract", "psycopg2.OperationalError: ...")
//	api := prefect.New(srv.GraphQLURL(), ...) // or srv.RESTURL()
//
// Everything the fake is asked is counted (Requests) and every request
// that does not validate is recorded (Invalid): tests assert there are none.
package prefectfake

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// State types, Prefect 3's vocabulary; the GraphQL front maps them to
// Prefect 1's state names (COMPLETED → Success; a FAILED run keeps its
// name: Failed, TimedOut, TriggerFailed, ValidationFailed).
const (
	Scheduled  = "SCHEDULED"
	Pending    = "PENDING"
	Running    = "RUNNING"
	Completed  = "COMPLETED"
	Failed     = "FAILED"
	Cancelled  = "CANCELLED"
	Crashed    = "CRASHED"
	Paused     = "PAUSED"
	Cancelling = "CANCELLING"
)

// Flow is a flow with its one deployment (Prefect 3) or its flow group
// (Prefect 1): MonitorFish has one of each per flow.
type Flow struct {
	ID           string // flow ID (Prefect 1: the flow version's ID)
	GroupID      string // Prefect 1 flow_group ID
	DeploymentID string // Prefect 3 deployment ID
	Name         string // "Monitorfish - Logbook"
	Cron         string // "" = no schedule
	Paused       bool   // schedule inactive
	Tags         []string
	Created      time.Time
	// Version is the deployment's version ("" = null), as deploy-flows
	// registers it: AddFlow sets DeploymentVersion.
	Version string
	// JobVariables is the deployment's job_variables (nil = {}): AddFlow
	// sets {"image": PipelineImage + ":" + DeploymentVersion}.
	JobVariables map[string]any
}

// What AddFlow registers a deployment with, as MonitorFish's
// deploy-flows container would have (MONITORFISH_VERSION, the pipeline
// image at that version).
const (
	PipelineImage     = "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3"
	DeploymentVersion = "v1.0.0"
)

// image is job_variables.image when it is a string.
func (f *Flow) image() string {
	image, _ := f.JobVariables["image"].(string)
	return image
}

// clone is a copy of f that shares nothing with it.
func (f *Flow) clone() Flow {
	out := *f
	out.Tags = slices.Clone(f.Tags)
	if f.JobVariables != nil {
		out.JobVariables = cloneJSON(f.JobVariables).(map[string]any)
	}
	return out
}

// cloneJSON deeply copies a decoded JSON value.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneJSON(e)
		}
		return out
	}
	return v
}

// Run is a flow run.
type Run struct {
	ID, FlowID, Name string
	StateType        string // SCHEDULED ... CANCELLING
	StateName        string // "Failed", "TimedOut", "Running" ...
	Message          string
	Created          time.Time
	ExpectedStart    time.Time
	Start, End       time.Time // zero = not set
	StateTime        time.Time
	IdempotencyKey   string
}

// TaskRun is a task run of a flow run.
type TaskRun struct {
	ID, FlowRunID, Name  string
	StateType, StateName string
	Message              string
	Start, End           time.Time
	Created              time.Time
}

// Log is one log line.
type Log struct {
	ID, FlowRunID, TaskRunID string
	Level                    int // 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL
	Name                     string
	Message                  string
	Time                     time.Time
}

// World is the fake's state. Its methods are safe for concurrent use.
type World struct {
	mu       sync.Mutex
	seq      int
	flows    []*Flow
	runs     []*Run // creation order
	runByID  map[string]*Run
	tasks    []*TaskRun
	logs     []*Log
	requests map[string]int
	invalid  []string
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
}

// NewWorld returns an empty world.
func NewWorld() *World {
	return &World{runByID: map[string]*Run{}, requests: map[string]int{}}
}

func (w *World) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// newID returns a fresh UUID-shaped ID; kind keeps IDs of different kinds apart.
func (w *World) newID(kind byte) string {
	w.seq++
	return fmt.Sprintf("%08x-0000-4000-8%03x-%012x", w.seq, kind, w.seq)
}

// AddFlow adds a flow with its deployment / flow group; cron "" = none.
// The deployment carries DeploymentVersion and the PipelineImage at that
// version (SetDeployment changes them).
func (w *World) AddFlow(name, cron string) *Flow {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := &Flow{ID: w.newID(1), GroupID: w.newID(2), DeploymentID: w.newID(3), Name: name, Cron: cron,
		Tags: []string{"monitorfish"}, Created: w.now(),
		Version: DeploymentVersion, JobVariables: map[string]any{"image": PipelineImage + ":" + DeploymentVersion}}
	w.flows = append(w.flows, f)
	return f
}

// AddRun adds a run of flow in a state; times that are zero stay unset.
// Its name is derived from its ID; its creation time is now.
func (w *World) AddRun(f *Flow, r Run) *Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addRun(f, r)
}

func (w *World) addRun(f *Flow, r Run) *Run {
	run := r
	if run.ID == "" {
		run.ID = w.newID(4)
	}
	run.FlowID = f.ID
	if run.Name == "" {
		run.Name = fmt.Sprintf("run-%d", w.seq)
	}
	if run.Created.IsZero() {
		run.Created = w.now()
	}
	if run.ExpectedStart.IsZero() {
		run.ExpectedStart = run.Start
		if run.ExpectedStart.IsZero() {
			run.ExpectedStart = run.Created
		}
	}
	if run.StateName == "" {
		run.StateName = defaultStateName(run.StateType)
	}
	if run.StateTime.IsZero() {
		run.StateTime = latest(run.End, run.Start, run.Created)
	}
	w.runs = append(w.runs, &run)
	w.runByID[run.ID] = &run
	return &run
}

// StartRun adds a run of f Running since at.
func (w *World) StartRun(f *Flow, at time.Time) *Run {
	return w.AddRun(f, Run{StateType: Running, Start: at, ExpectedStart: at, Created: at})
}

// Finish ends a run in a state (name "" = the type's usual name) at at.
func (w *World) Finish(runID, stateType, stateName, message string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.runByID[runID]
	if r == nil {
		panic("prefectfake: no run " + runID)
	}
	if stateName == "" {
		stateName = defaultStateName(stateType)
	}
	r.StateType, r.StateName, r.Message, r.StateTime = stateType, stateName, message, at
	// Prefect 1 sets no end time on TriggerFailed and ValidationFailed.
	if stateName != "TriggerFailed" && stateName != "ValidationFailed" {
		r.End = at
	}
}

// FailedRun adds a run of f that started 30 s before at and failed at at
// (state name "" = Failed), with a failed task run named task and ERROR
// log lines errorLines.
func (w *World) FailedRun(f *Flow, at time.Time, stateName, task string, errorLines ...string) *Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	if stateName == "" {
		stateName = "Failed"
	}
	typ := Failed
	if stateName == "Crashed" {
		typ = Crashed
	}
	start := at.Add(-30 * time.Second)
	r := w.addRun(f, Run{StateType: typ, StateName: stateName, Message: "Flow run encountered an exception.",
		Created: start.Add(-time.Second), ExpectedStart: start, Start: start, End: at, StateTime: at})
	if stateName == "TriggerFailed" || stateName == "ValidationFailed" {
		r.End = time.Time{}
	}
	w.addLog(r.ID, "", 20, "prefect.flow_runs", "Beginning flow run "+r.Name, start)
	if task != "" {
		t := w.addTask(r.ID, task, Failed, "Failed", "Task run encountered an exception", start.Add(time.Second), at.Add(-time.Second))
		for i, line := range errorLines {
			w.addLog(r.ID, t.ID, 40, "prefect.task_runs", line, at.Add(-time.Second+time.Duration(i)*time.Millisecond))
		}
	}
	w.addLog(r.ID, "", 40, "prefect.flow_runs", "Finished in state "+stateName+"('Flow run encountered an exception.')", at)
	return r
}

// SucceededRun adds a run of f that started 10 s before at and completed at at.
func (w *World) SucceededRun(f *Flow, at time.Time) *Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := at.Add(-10 * time.Second)
	r := w.addRun(f, Run{StateType: Completed, Created: start.Add(-time.Second), ExpectedStart: start, Start: start, End: at, StateTime: at})
	w.addTask(r.ID, "extract", Completed, "Success", "", start, at)
	w.addLog(r.ID, "", 20, "prefect.flow_runs", "Finished in state Completed()", at)
	return r
}

// AddTaskRun adds a task run to a flow run.
func (w *World) AddTaskRun(runID, name, stateType, stateName, message string, start, end time.Time) *TaskRun {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addTask(runID, name, stateType, stateName, message, start, end)
}

func (w *World) addTask(runID, name, stateType, stateName, message string, start, end time.Time) *TaskRun {
	if stateName == "" {
		stateName = defaultStateName(stateType)
	}
	t := &TaskRun{ID: w.newID(5), FlowRunID: runID, Name: name, StateType: stateType, StateName: stateName, Message: message,
		Start: start, End: end, Created: start}
	w.tasks = append(w.tasks, t)
	return t
}

// AddLog adds a log line to a run (taskRunID "" = the flow run's own).
func (w *World) AddLog(runID, taskRunID string, level int, message string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	name := "prefect.flow_runs"
	if taskRunID != "" {
		name = "prefect.task_runs"
	}
	w.addLog(runID, taskRunID, level, name, message, at)
}

func (w *World) addLog(runID, taskRunID string, level int, name, message string, at time.Time) {
	w.logs = append(w.logs, &Log{ID: w.newID(6), FlowRunID: runID, TaskRunID: taskRunID, Level: level, Name: name, Message: message, Time: at})
}

// Flow returns a copy of a flow found by any of its IDs (flow, group,
// deployment); ok false when none.
func (w *World) Flow(id string) (Flow, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.flowByAnyID(id); f != nil {
		return f.clone(), true
	}
	return Flow{}, false
}

func (w *World) flowByAnyID(id string) *Flow {
	for _, f := range w.flows {
		if f.ID == id || f.GroupID == id || f.DeploymentID == id {
			return f
		}
	}
	return nil
}

// Flows returns copies of the flows, in creation order.
func (w *World) Flows() []Flow {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Flow, len(w.flows))
	for i, f := range w.flows {
		out[i] = f.clone()
	}
	return out
}

// Run returns a copy of a run.
func (w *World) Run(id string) (Run, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.runByID[id]; r != nil {
		return *r, true
	}
	return Run{}, false
}

// Runs returns copies of the runs, in creation order.
func (w *World) Runs() []Run {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Run, len(w.runs))
	for i, r := range w.runs {
		out[i] = *r
	}
	return out
}

// TaskRuns returns copies of the task runs, in creation order.
func (w *World) TaskRuns() []TaskRun {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]TaskRun, len(w.tasks))
	for i, t := range w.tasks {
		out[i] = *t
	}
	return out
}

// Logs returns copies of the log lines, in insertion order.
func (w *World) Logs() []Log {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Log, len(w.logs))
	for i, l := range w.logs {
		out[i] = *l
	}
	return out
}

// CreateRun starts a run of the flow with that ID (any of its IDs) now,
// in state SCHEDULED, unless a run of it already carries the idempotency
// key: that run is returned with created false.
func (w *World) CreateRun(flowID, idempotencyKey string) (run Run, created bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flowByAnyID(flowID)
	if f == nil {
		return Run{}, false, fmt.Errorf("no flow %s", flowID)
	}
	if idempotencyKey != "" {
		for _, r := range w.runs {
			if r.FlowID == f.ID && r.IdempotencyKey == idempotencyKey {
				return *r, false, nil
			}
		}
	}
	now := w.now()
	r := w.addRun(f, Run{StateType: Scheduled, StateName: "Scheduled", ExpectedStart: now, Created: now, StateTime: now, IdempotencyKey: idempotencyKey})
	return *r, true, nil
}

// Orchestration results of SetState.
const (
	Accept = "ACCEPT"
	Reject = "REJECT"
	Abort  = "ABORT"
)

// SetState asks for a run's new state the way Prefect's orchestration
// does for cancellation: a finished run cannot change (ABORT), a
// cancelling one is rejected (REJECT), any other is accepted. It returns
// the decision, the reason and the run afterwards.
func (w *World) SetState(runID, stateType string) (decision, reason string, run Run, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.runByID[runID]
	if r == nil {
		return "", "", Run{}, fmt.Errorf("no run %s", runID)
	}
	switch {
	case r.StateType == Completed || r.StateType == Failed || r.StateType == Crashed || r.StateType == Cancelled:
		return Abort, "This run is in terminal state " + r.StateType + ".", *r, nil
	case r.StateType == Cancelling && stateType == Cancelling:
		return Reject, "This run is already being cancelled.", *r, nil
	}
	now := w.now()
	r.StateType, r.StateName, r.StateTime, r.Message = stateType, defaultStateName(stateType), now, ""
	if stateType == Cancelled || stateType == Completed || stateType == Failed || stateType == Crashed {
		r.End = now
	}
	return Accept, "", *r, nil
}

// SetPaused pauses or resumes the schedule of a flow (any of its IDs).
func (w *World) SetPaused(flowID string, paused bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flowByAnyID(flowID)
	if f == nil {
		return fmt.Errorf("no flow %s", flowID)
	}
	f.Paused = paused
	return nil
}

// SetDeployment registers a flow's deployment (any of the flow's IDs) at
// version with image as job_variables.image, as deploy-flows does:
// version "" is null, image "" leaves job_variables empty.
func (w *World) SetDeployment(flowID, version, image string) error {
	vars := map[string]any{}
	if image != "" {
		vars["image"] = image
	}
	return w.UpdateDeployment(flowID, DeploymentChange{Version: &version, JobVariables: vars})
}

// DeploymentChange is a PATCH of a deployment (DeploymentUpdate): nil
// fields are left as they are.
type DeploymentChange struct {
	Paused *bool
	// Version: "" sets it to null.
	Version *string
	// JobVariables replaces the whole job_variables (as Prefect does);
	// an empty map clears it.
	JobVariables map[string]any
}

// UpdateDeployment changes a flow's deployment (any of the flow's IDs).
func (w *World) UpdateDeployment(flowID string, c DeploymentChange) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.flowByAnyID(flowID)
	if f == nil {
		return fmt.Errorf("no flow %s", flowID)
	}
	if c.Paused != nil {
		f.Paused = *c.Paused
	}
	if c.Version != nil {
		f.Version = *c.Version
	}
	if c.JobVariables != nil {
		f.JobVariables = cloneJSON(c.JobVariables).(map[string]any)
	}
	return nil
}

// DeploymentVersion reads the version a flow's deployment (any of the
// flow's IDs) carries and its job_variables.image; "" for null, for an
// image that is not set (or not a string), or for no such flow.
func (w *World) DeploymentVersion(flowID string) (version, image string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.flowByAnyID(flowID); f != nil {
		return f.Version, f.image()
	}
	return "", ""
}

// Count records one request of an operation ("graphql flow_run",
// "POST /flow_runs/filter").
func (w *World) Count(op string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests[op]++
}

// Requests returns how many requests of each operation were served.
func (w *World) Requests() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.requests))
	for k, v := range w.requests {
		out[k] = v
	}
	return out
}

// TotalRequests is the number of requests served.
func (w *World) TotalRequests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, v := range w.requests {
		n += v
	}
	return n
}

// ResetRequests forgets the counts.
func (w *World) ResetRequests() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.requests)
}

// Reject records a request that did not validate.
func (w *World) Reject(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.invalid = append(w.invalid, what)
}

// Invalid lists the requests that did not validate.
func (w *World) Invalid() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.invalid)
}

func defaultStateName(stateType string) string {
	switch stateType {
	case Scheduled:
		return "Scheduled"
	case Pending:
		return "Pending"
	case Running:
		return "Running"
	case Completed:
		return "Completed"
	case Failed:
		return "Failed"
	case Cancelled:
		return "Cancelled"
	case Crashed:
		return "Crashed"
	case Paused:
		return "Paused"
	case Cancelling:
		return "Cancelling"
	}
	return stateType
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

package prefect

import (
	"encoding/json"
	"time"

	"mfbot/pipeline"
)

// Request bodies, exactly as Prefect's schemas accept them: every filter
// is a pointer left out when not used (Prefect reads a null filter as no
// filter, and its filter models forbid unknown keys), and every list is
// built non-nil (a null any_ would match every row).

// flowRunsQuery is the body of POST /flow_runs/filter.
type flowRunsQuery struct {
	FlowRuns *flowRunFilter `json:"flow_runs,omitempty"`
	Sort     string         `json:"sort,omitempty"`
	Limit    int            `json:"limit,omitempty"`
	Offset   int            `json:"offset,omitempty"`
}

// flowRunsCount is the body of POST /flow_runs/count: no sort, no paging.
type flowRunsCount struct {
	FlowRuns *flowRunFilter `json:"flow_runs,omitempty"`
}

// flowRunFilter is Prefect's FlowRunFilter; its criteria are ANDed.
type flowRunFilter struct {
	ID                *anyIDs          `json:"id,omitempty"`
	DeploymentID      *anyIDs          `json:"deployment_id,omitempty"`
	State             *stateTypeFilter `json:"state,omitempty"`
	StartTime         *timeRange       `json:"start_time,omitempty"`
	EndTime           *timeRange       `json:"end_time,omitempty"`
	ExpectedStartTime *timeRange       `json:"expected_start_time,omitempty"`
}

// anyIDs is an `any_` criterion (FlowRunFilterId, …DeploymentId,
// LogFilterFlowRunId).
type anyIDs struct {
	Any []string `json:"any_"`
}

func idsIn(ids ...string) *anyIDs {
	if ids == nil {
		ids = []string{}
	}
	return &anyIDs{Any: ids}
}

// stateTypeFilter is FlowRunFilterState with only its type criterion.
type stateTypeFilter struct {
	Type anyStateTypes `json:"type"`
}

type anyStateTypes struct {
	Any []pipeline.StateType `json:"any_"`
}

func statesIn(types ...pipeline.StateType) *stateTypeFilter {
	return &stateTypeFilter{Type: anyStateTypes{Any: append([]pipeline.StateType{}, types...)}}
}

// timeRange is a before_/after_ criterion; both bounds are inclusive.
type timeRange struct {
	Before string `json:"before_,omitempty"`
	After  string `json:"after_,omitempty"`
}

func before(t time.Time) *timeRange { return &timeRange{Before: stamp(t)} }
func after(t time.Time) *timeRange  { return &timeRange{After: stamp(t)} }

// stamp writes a time as Prefect stores it: UTC, to the microsecond.
func stamp(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
}

// taskRunsQuery is the body of POST /task_runs/filter.
type taskRunsQuery struct {
	FlowRuns *flowRunFilter `json:"flow_runs,omitempty"`
	Sort     string         `json:"sort,omitempty"`
	Limit    int            `json:"limit,omitempty"`
	Offset   int            `json:"offset,omitempty"`
}

// logsQuery is the body of POST /logs/filter.
type logsQuery struct {
	Logs   *logFilter `json:"logs,omitempty"`
	Sort   string     `json:"sort,omitempty"`
	Limit  int        `json:"limit,omitempty"`
	Offset int        `json:"offset,omitempty"`
}

type logFilter struct {
	FlowRunID *anyIDs `json:"flow_run_id,omitempty"`
}

// listQuery is the body of POST /deployments/filter and /flows/filter
// when every row is wanted.
type listQuery struct {
	Sort   string `json:"sort,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Offset int    `json:"offset,omitempty"`
}

// createRun is the body of POST /deployments/{id}/create_flow_run: only
// the idempotency key, so that the run takes every setting (parameters,
// tags, work queue) from its deployment.
type createRun struct {
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// setState is the body of POST /flow_runs/{id}/set_state.
type setState struct {
	State stateCreate `json:"state"`
	// Force false: Prefect's orchestration rules decide (a finished run
	// cannot be cancelled).
	Force bool `json:"force"`
}

type stateCreate struct {
	Type pipeline.StateType `json:"type"`
}

// pausedUpdate is the body of PATCH /deployments/{id}: DeploymentUpdate
// with paused alone, the only body that carries paused.
type pausedUpdate struct {
	Paused bool `json:"paused"`
}

// Answers: only the fields mfbot reads. Nulls decode to zero values.

// flowRunJSON is a FlowRunResponse.
type flowRunJSON struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	FlowID            string     `json:"flow_id"`
	DeploymentID      string     `json:"deployment_id"`
	StateType         string     `json:"state_type"`
	StateName         string     `json:"state_name"`
	State             *stateJSON `json:"state"`
	ExpectedStartTime time.Time  `json:"expected_start_time"`
	StartTime         time.Time  `json:"start_time"`
	EndTime           time.Time  `json:"end_time"`
}

// stateJSON is a State.
type stateJSON struct {
	Type      string    `json:"type"`
	Name      string    `json:"name"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
}

// taskRunJSON is a TaskRun.
type taskRunJSON struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	StateType         string     `json:"state_type"`
	StateName         string     `json:"state_name"`
	State             *stateJSON `json:"state"`
	ExpectedStartTime time.Time  `json:"expected_start_time"`
	StartTime         time.Time  `json:"start_time"`
	EndTime           time.Time  `json:"end_time"`
}

// logJSON is a Log.
type logJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Level     int       `json:"level"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
}

// deploymentJSON is a DeploymentResponse.
type deploymentJSON struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	FlowID    string               `json:"flow_id"`
	Paused    bool                 `json:"paused"`
	Schedules []deploymentSchedule `json:"schedules"`
	// Version is the deployment's version (string or null).
	Version string `json:"version"`
	// JobVariables is the deployment's job_variables object, read
	// leniently by image: its keys are the work pool's business.
	JobVariables json.RawMessage `json:"job_variables"`
}

// image is job_variables.image when it is a string; "" otherwise (no
// job_variables, no image key, null, another type).
func (d deploymentJSON) image() string {
	var vars map[string]json.RawMessage
	if json.Unmarshal(d.JobVariables, &vars) != nil {
		return ""
	}
	var image string
	if json.Unmarshal(vars["image"], &image) != nil {
		return ""
	}
	return image
}

// deploymentSchedule is a DeploymentSchedule: one of CronSchedule,
// IntervalSchedule (seconds) or RRuleSchedule, active or not.
type deploymentSchedule struct {
	Active   bool `json:"active"`
	Schedule struct {
		Cron     string  `json:"cron"`
		Interval float64 `json:"interval"`
		RRule    string  `json:"rrule"`
		Timezone string  `json:"timezone"`
	} `json:"schedule"`
}

// flowJSON is a Flow.
type flowJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// orchestrationResult is the answer of set_state.
type orchestrationResult struct {
	State   *stateJSON `json:"state"`
	Status  string     `json:"status"`
	Details struct {
		Reason string `json:"reason"`
	} `json:"details"`
}

// state is a run's or task run's state: the denormalized state_type and
// state_name, completed by the state object.
func state(stateType, stateName string, s *stateJSON) pipeline.State {
	out := pipeline.State{Type: pipeline.StateType(stateType), Name: stateName}
	if s != nil {
		if out.Type == "" {
			out.Type = pipeline.StateType(s.Type)
		}
		if out.Name == "" {
			out.Name = s.Name
		}
		out.Message = s.Message
	}
	return out
}

// run is a flow run as pipeline sees it, its flow's ID and name left to
// the caller.
func (fr flowRunJSON) run() pipeline.Run {
	r := pipeline.Run{ID: fr.ID, Name: fr.Name, FlowID: fr.DeploymentID, State: state(fr.StateType, fr.StateName, fr.State),
		ExpectedStart: fr.ExpectedStartTime, Start: fr.StartTime, End: fr.EndTime}
	if fr.State != nil {
		r.StateTime = fr.State.Timestamp
	}
	return r
}

func (tr taskRunJSON) taskRun() pipeline.TaskRun {
	return pipeline.TaskRun{ID: tr.ID, Name: tr.Name, State: state(tr.StateType, tr.StateName, tr.State), Start: tr.StartTime, End: tr.EndTime}
}

// started is when a task run started, else when it was expected to.
func (tr taskRunJSON) started() time.Time {
	if !tr.StartTime.IsZero() {
		return tr.StartTime
	}
	return tr.ExpectedStartTime
}

func (l logJSON) line() pipeline.LogLine {
	return pipeline.LogLine{Time: l.Timestamp, Level: levelName(l.Level), Logger: l.Name, Message: l.Message}
}

// levelName is the name of a Python logging level.
func levelName(level int) string {
	switch {
	case level >= 50:
		return "CRITICAL"
	case level >= 40:
		return "ERROR"
	case level >= 30:
		return "WARNING"
	case level >= 20:
		return "INFO"
	case level >= 10:
		return "DEBUG"
	}
	return "NOTSET"
}

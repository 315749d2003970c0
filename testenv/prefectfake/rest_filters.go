package prefectfake

import (
	"slices"
	"strings"
	"time"
)

// The fake's models of Prefect's filters: the criteria mfbot may use, with
// the server's semantics (schemas/filters.py). A filter model's criteria
// are combined with its operator (and_ by default; no criterion matches
// every row); the top-level filters of a body are ANDed. A key the models
// lack makes a 501 (restAPI.model), never a silently ignored criterion.

// combine joins a model's criteria as Prefect's operator filters do.
func combine(operator *string, conds []bool) bool {
	if len(conds) == 0 {
		return true
	}
	if operator != nil && *operator == "or_" {
		return slices.Contains(conds, true)
	}
	return !slices.Contains(conds, false)
}

// valueFilter is a criterion on a string column (an ID, a name, a state
// type, a key); "" is NULL, which no any_/not_any_/like_ matches (SQL).
type valueFilter struct {
	Operator *string   `json:"operator"`
	Any      *[]string `json:"any_"`
	NotAny   *[]string `json:"not_any_"`
	Like     *string   `json:"like_"`
	IsNull   *bool     `json:"is_null_"`
}

func (f *valueFilter) match(v string) bool {
	if f == nil {
		return true
	}
	var conds []bool
	if f.Any != nil {
		conds = append(conds, v != "" && slices.Contains(*f.Any, v))
	}
	if f.NotAny != nil {
		conds = append(conds, v != "" && !slices.Contains(*f.NotAny, v))
	}
	if f.Like != nil {
		conds = append(conds, v != "" && strings.Contains(strings.ToLower(v), strings.ToLower(*f.Like)))
	}
	if f.IsNull != nil {
		conds = append(conds, (v == "") == *f.IsNull)
	}
	return combine(f.Operator, conds)
}

// tagsFilter is a criterion on a tags column.
type tagsFilter struct {
	Operator *string   `json:"operator"`
	All      *[]string `json:"all_"`
	Any      *[]string `json:"any_"`
	IsNull   *bool     `json:"is_null_"`
}

func (f *tagsFilter) match(tags []string) bool {
	if f == nil {
		return true
	}
	var conds []bool
	if f.All != nil {
		all := true
		for _, t := range *f.All {
			all = all && slices.Contains(tags, t)
		}
		conds = append(conds, all)
	}
	if f.Any != nil {
		conds = append(conds, slices.ContainsFunc(*f.Any, func(t string) bool { return slices.Contains(tags, t) }))
	}
	if f.IsNull != nil {
		conds = append(conds, (len(tags) == 0) == *f.IsNull)
	}
	return combine(f.Operator, conds)
}

// timeFilter is a before_/after_ (both inclusive) / is_null_ criterion. A
// NULL time is in no range.
type timeFilter struct {
	Before *time.Time `json:"before_"`
	After  *time.Time `json:"after_"`
	IsNull *bool      `json:"is_null_"`
}

// match compares ranged (zero = NULL) with the bounds and tests nullable
// for is_null_: Prefect ranges a flow run's start_time over
// COALESCE(start_time, expected_start_time) but tests start_time itself.
func (f *timeFilter) match(ranged, nullable time.Time) bool {
	if f == nil {
		return true
	}
	var conds []bool
	if f.Before != nil {
		conds = append(conds, !ranged.IsZero() && !ranged.After(*f.Before))
	}
	if f.After != nil {
		conds = append(conds, !ranged.IsZero() && !ranged.Before(*f.After))
	}
	if f.IsNull != nil {
		conds = append(conds, nullable.IsZero() == *f.IsNull)
	}
	return combine(nil, conds)
}

// stateFilter is FlowRunFilterState / TaskRunFilterState.
type stateFilter struct {
	Operator *string      `json:"operator"`
	Type     *valueFilter `json:"type"`
	Name     *valueFilter `json:"name"`
}

func (f *stateFilter) match(stateType, stateName string) bool {
	if f == nil {
		return true
	}
	var conds []bool
	if f.Type != nil {
		conds = append(conds, f.Type.match(stateType))
	}
	if f.Name != nil {
		conds = append(conds, f.Name.match(stateName))
	}
	return combine(f.Operator, conds)
}

// flowRunFilter is FlowRunFilter.
type flowRunFilter struct {
	Operator          *string      `json:"operator"`
	ID                *valueFilter `json:"id"`
	Name              *valueFilter `json:"name"`
	Tags              *tagsFilter  `json:"tags"`
	DeploymentID      *valueFilter `json:"deployment_id"`
	State             *stateFilter `json:"state"`
	StartTime         *timeFilter  `json:"start_time"`
	EndTime           *timeFilter  `json:"end_time"`
	ExpectedStartTime *timeFilter  `json:"expected_start_time"`
	IdempotencyKey    *valueFilter `json:"idempotency_key"`
}

func (f *flowRunFilter) match(r Run, flow *Flow) bool {
	if f == nil {
		return true
	}
	var conds []bool
	add := func(present bool, ok func() bool) {
		if present {
			conds = append(conds, ok())
		}
	}
	add(f.ID != nil, func() bool { return f.ID.match(r.ID) })
	add(f.Name != nil, func() bool { return f.Name.match(r.Name) })
	add(f.Tags != nil, func() bool { return f.Tags.match(flowTags(flow)) })
	add(f.DeploymentID != nil, func() bool { return f.DeploymentID.match(deploymentID(flow)) })
	add(f.State != nil, func() bool { return f.State.match(r.StateType, r.StateName) })
	add(f.StartTime != nil, func() bool { return f.StartTime.match(coalesce(r.Start, r.ExpectedStart), r.Start) })
	add(f.EndTime != nil, func() bool { return f.EndTime.match(r.End, r.End) })
	add(f.ExpectedStartTime != nil, func() bool { return f.ExpectedStartTime.match(r.ExpectedStart, r.ExpectedStart) })
	add(f.IdempotencyKey != nil, func() bool { return f.IdempotencyKey.match(r.IdempotencyKey) })
	return combine(f.Operator, conds)
}

// flowFilter is FlowFilter.
type flowFilter struct {
	Operator *string      `json:"operator"`
	ID       *valueFilter `json:"id"`
	Name     *valueFilter `json:"name"`
	Tags     *tagsFilter  `json:"tags"`
}

func (f *flowFilter) match(flow *Flow) bool {
	if f == nil {
		return true
	}
	if flow == nil {
		return false
	}
	var conds []bool
	if f.ID != nil {
		conds = append(conds, f.ID.match(flow.ID))
	}
	if f.Name != nil {
		conds = append(conds, f.Name.match(flow.Name))
	}
	if f.Tags != nil {
		conds = append(conds, f.Tags.match(flow.Tags))
	}
	return combine(f.Operator, conds)
}

// deploymentFilter is DeploymentFilter; a World flow's deployment is
// named after it.
type deploymentFilter struct {
	Operator             *string      `json:"operator"`
	ID                   *valueFilter `json:"id"`
	Name                 *valueFilter `json:"name"`
	FlowOrDeploymentName *valueFilter `json:"flow_or_deployment_name"`
	Paused               *struct {
		Eq *bool `json:"eq_"`
	} `json:"paused"`
	Tags *tagsFilter `json:"tags"`
}

func (f *deploymentFilter) match(flow *Flow) bool {
	if f == nil {
		return true
	}
	if flow == nil || flow.DeploymentID == "" {
		return false
	}
	var conds []bool
	if f.ID != nil {
		conds = append(conds, f.ID.match(flow.DeploymentID))
	}
	if f.Name != nil {
		conds = append(conds, f.Name.match(flow.Name))
	}
	if f.FlowOrDeploymentName != nil {
		conds = append(conds, f.FlowOrDeploymentName.match(flow.Name))
	}
	if f.Paused != nil && f.Paused.Eq != nil {
		conds = append(conds, flow.Paused == *f.Paused.Eq)
	}
	if f.Tags != nil {
		conds = append(conds, f.Tags.match(flow.Tags))
	}
	return combine(f.Operator, conds)
}

// taskRunFilter is TaskRunFilter.
type taskRunFilter struct {
	Operator          *string      `json:"operator"`
	ID                *valueFilter `json:"id"`
	Name              *valueFilter `json:"name"`
	State             *stateFilter `json:"state"`
	StartTime         *timeFilter  `json:"start_time"`
	ExpectedStartTime *timeFilter  `json:"expected_start_time"`
	FlowRunID         *valueFilter `json:"flow_run_id"`
}

func (f *taskRunFilter) match(t TaskRun) bool {
	if f == nil {
		return true
	}
	var conds []bool
	if f.ID != nil {
		conds = append(conds, f.ID.match(t.ID))
	}
	if f.Name != nil {
		conds = append(conds, f.Name.match(t.Name))
	}
	if f.State != nil {
		conds = append(conds, f.State.match(t.StateType, t.StateName))
	}
	if f.StartTime != nil {
		conds = append(conds, f.StartTime.match(t.Start, t.Start))
	}
	if f.ExpectedStartTime != nil {
		conds = append(conds, f.ExpectedStartTime.match(taskExpectedStart(t), taskExpectedStart(t)))
	}
	if f.FlowRunID != nil {
		conds = append(conds, f.FlowRunID.match(t.FlowRunID))
	}
	return combine(f.Operator, conds)
}

// logFilter is LogFilter.
type logFilter struct {
	Operator *string `json:"operator"`
	Level    *struct {
		Ge *int `json:"ge_"`
		Le *int `json:"le_"`
	} `json:"level"`
	Timestamp *timeFilter  `json:"timestamp"`
	FlowRunID *valueFilter `json:"flow_run_id"`
	TaskRunID *valueFilter `json:"task_run_id"`
}

func (f *logFilter) match(l Log) bool {
	if f == nil {
		return true
	}
	var conds []bool
	if f.Level != nil {
		ok := (f.Level.Ge == nil || l.Level >= *f.Level.Ge) && (f.Level.Le == nil || l.Level <= *f.Level.Le)
		conds = append(conds, ok)
	}
	if f.Timestamp != nil {
		conds = append(conds, f.Timestamp.match(l.Time, l.Time))
	}
	if f.FlowRunID != nil {
		conds = append(conds, f.FlowRunID.match(l.FlowRunID))
	}
	if f.TaskRunID != nil {
		conds = append(conds, f.TaskRunID.match(l.TaskRunID))
	}
	return combine(f.Operator, conds)
}

func coalesce(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func flowTags(f *Flow) []string {
	if f == nil {
		return nil
	}
	return f.Tags
}

func deploymentID(f *Flow) string {
	if f == nil {
		return ""
	}
	return f.DeploymentID
}

// taskExpectedStart is a task run's expected start: when it started, else
// when it was created.
func taskExpectedStart(t TaskRun) time.Time { return coalesce(t.Start, t.Created) }

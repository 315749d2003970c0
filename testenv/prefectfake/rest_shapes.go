package prefectfake

import (
	"time"
)

// The answers' shapes: Prefect 3.6.9's FlowRunResponse, DeploymentResponse,
// Flow, TaskRun, Log, State and OrchestrationResult, every required field
// and every field a client may read (the fake's tests validate them against
// the OpenAPI document). A World flow is a flow with one deployment of the
// same name, on the "monitorfish" work pool, like MonitorFish's.

// stamp writes a time as Prefect does (UTC, microseconds); zero is null.
func stamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// orNull is s, or null when empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// relatedID derives a stable UUID from another (a run's state's, a
// deployment's schedule's) by changing its variant digit.
func relatedID(id string, variant byte) string {
	if !isUUID(id) {
		return id
	}
	b := []byte(id)
	b[19] = variant
	return string(b)
}

func stateShape(id, flowRunID, taskRunID, stateType, stateName, message string, at, scheduled time.Time) map[string]any {
	details := map[string]any{"flow_run_id": orNull(flowRunID), "task_run_id": orNull(taskRunID),
		"untrackable_result": false, "pause_reschedule": false}
	if stateType == Scheduled {
		details["scheduled_time"] = stamp(scheduled)
	}
	return map[string]any{"id": relatedID(id, 'a'), "type": stateType, "name": stateName, "timestamp": stamp(at),
		"message": orNull(message), "data": nil, "state_details": details}
}

func flowRunShape(r Run, f *Flow) map[string]any {
	var tags []string
	deployment, workPool, workQueue := "", "", ""
	if f != nil {
		tags, deployment, workPool, workQueue = f.Tags, f.DeploymentID, "monitorfish", "default"
	}
	if tags == nil {
		tags = []string{}
	}
	runTime := 0.0
	if !r.Start.IsZero() {
		runTime = coalesce(r.End, r.StateTime).Sub(r.Start).Seconds()
	}
	return map[string]any{
		"id": r.ID, "created": stamp(r.Created), "updated": stamp(coalesce(r.StateTime, r.Created)),
		"name": r.Name, "flow_id": r.FlowID, "state_id": relatedID(r.ID, 'a'),
		"deployment_id": orNull(deployment), "deployment_version": nil,
		"work_queue_id": nil, "work_queue_name": orNull(workQueue), "work_pool_id": nil, "work_pool_name": orNull(workPool),
		"flow_version": nil, "parameters": map[string]any{}, "idempotency_key": orNull(r.IdempotencyKey),
		"context": map[string]any{}, "tags": tags, "labels": map[string]any{}, "parent_task_run_id": nil,
		"empirical_policy": map[string]any{"max_retries": 0, "retry_delay_seconds": 0.0, "retries": 0, "retry_delay": 0,
			"pause_keys": []string{}, "resuming": false, "retry_type": nil},
		"state_type": r.StateType, "state_name": r.StateName,
		"state":     stateShape(r.ID, r.ID, "", r.StateType, r.StateName, r.Message, r.StateTime, r.ExpectedStart),
		"run_count": runCount(r), "expected_start_time": stamp(r.ExpectedStart),
		"next_scheduled_start_time": stamp(nextScheduledStart(r)),
		"start_time":                stamp(r.Start), "end_time": stamp(r.End),
		"total_run_time": runTime, "estimated_run_time": runTime, "estimated_start_time_delta": 0.0,
		"auto_scheduled": r.IdempotencyKey == "", "infrastructure_document_id": nil, "infrastructure_pid": nil,
		"created_by": nil, "job_variables": map[string]any{},
	}
}

func runCount(r Run) int {
	if r.Start.IsZero() {
		return 0
	}
	return 1
}

func deploymentShape(f Flow) map[string]any {
	schedules := []any{}
	if f.Cron != "" {
		schedules = append(schedules, map[string]any{
			"id": relatedID(f.DeploymentID, '9'), "created": stamp(f.Created), "updated": stamp(f.Created),
			"deployment_id": f.DeploymentID, "active": true, "max_scheduled_runs": nil, "parameters": map[string]any{}, "slug": nil,
			"schedule": map[string]any{"cron": f.Cron, "timezone": "UTC", "day_or": true},
		})
	}
	tags := f.Tags
	if tags == nil {
		tags = []string{}
	}
	jobVariables := f.JobVariables
	if jobVariables == nil {
		jobVariables = map[string]any{}
	}
	return map[string]any{
		"id": f.DeploymentID, "created": stamp(f.Created), "updated": stamp(f.Created),
		"name": f.Name, "version": orNull(f.Version), "description": nil, "flow_id": f.ID, "paused": f.Paused,
		"schedules": schedules, "concurrency_limit": 1, "global_concurrency_limit": nil,
		"concurrency_options": map[string]any{"collision_strategy": "CANCEL_NEW"},
		"job_variables":       jobVariables, "parameters": map[string]any{}, "tags": tags, "labels": map[string]any{},
		"work_queue_name": "default", "work_queue_id": nil, "work_pool_name": "monitorfish",
		"last_polled": nil, "parameter_openapi_schema": map[string]any{"type": "object", "properties": map[string]any{}},
		"path": nil, "pull_steps": nil, "entrypoint": nil, "storage_document_id": nil, "infrastructure_document_id": nil,
		"created_by": nil, "updated_by": nil, "status": "READY", "enforce_parameter_schema": true,
	}
}

func flowShape(f Flow) map[string]any {
	tags := f.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"id": f.ID, "created": stamp(f.Created), "updated": stamp(f.Created), "name": f.Name, "tags": tags, "labels": map[string]any{}}
}

func taskRunShape(t TaskRun) map[string]any {
	runTime := 0.0
	if !t.Start.IsZero() && !t.End.IsZero() {
		runTime = t.End.Sub(t.Start).Seconds()
	}
	stateTime := coalesce(t.End, t.Start, t.Created)
	return map[string]any{
		"id": t.ID, "created": stamp(t.Created), "updated": stamp(stateTime), "name": t.Name,
		"flow_run_id": orNull(t.FlowRunID), "task_key": t.Name, "dynamic_key": "0",
		"cache_key": nil, "cache_expiration": nil, "task_version": nil,
		"empirical_policy": map[string]any{"max_retries": 0, "retry_delay_seconds": 0.0, "retries": 0, "retry_delay": 0, "retry_jitter_factor": nil},
		"tags":             []string{}, "labels": map[string]any{}, "state_id": relatedID(t.ID, 'a'), "task_inputs": map[string]any{},
		"state_type": t.StateType, "state_name": t.StateName, "run_count": 1, "flow_run_run_count": 1,
		"expected_start_time": stamp(taskExpectedStart(t)), "next_scheduled_start_time": nil,
		"start_time": stamp(t.Start), "end_time": stamp(t.End),
		"total_run_time": runTime, "estimated_run_time": runTime, "estimated_start_time_delta": 0.0,
		"state": stateShape(t.ID, t.FlowRunID, t.ID, t.StateType, t.StateName, t.Message, stateTime, time.Time{}),
	}
}

func logShape(l Log) map[string]any {
	return map[string]any{
		"id": l.ID, "created": stamp(l.Time), "updated": stamp(l.Time), "name": l.Name, "level": l.Level,
		"message": l.Message, "timestamp": stamp(l.Time), "flow_run_id": orNull(l.FlowRunID), "task_run_id": orNull(l.TaskRunID),
	}
}

// orchestrationShape is set_state's answer: the state afterwards when
// there is one (ABORT proposes none), the decision, its details.
func orchestrationShape(decision, reason string, run *Run, f *Flow) map[string]any {
	var state any
	if run != nil {
		state = flowRunShape(*run, f)["state"]
	}
	details := map[string]any{"type": "accept_details"}
	switch decision {
	case Reject:
		details = map[string]any{"type": "reject_details", "reason": reason}
	case Abort:
		details = map[string]any{"type": "abort_details", "reason": reason}
	}
	return map[string]any{"state": state, "status": decision, "details": details}
}

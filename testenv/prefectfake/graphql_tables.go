package prefectfake

import (
	"fmt"
	"slices"
	"time"
)

// The GraphQL front shows the World as Prefect Server 1's PostgreSQL tables
// (what Hasura serves): project, flow_group, flow, flow_run,
// flow_run_state, task, task_run and log. A World Flow is one flow group
// with one flow version; a World TaskRun is a task with its one run.

// hasuraRow is one row: column → value (string, int, bool, time.Time, nil,
// or a jsonb value).
type hasuraRow map[string]any

// hasuraRelationship joins a row's column to the column of another table:
// an object relationship gives at most one row, an array one any number.
type hasuraRelationship struct {
	table, column, remoteColumn string
	array                       bool
}

// hasuraRelationships lists Prefect's Hasura relationships, by table then
// field name.
func hasuraRelationships() map[string]map[string]hasuraRelationship {
	object := func(table, column, remote string) hasuraRelationship {
		return hasuraRelationship{table: table, column: column, remoteColumn: remote}
	}
	array := func(table, column, remote string) hasuraRelationship {
		return hasuraRelationship{table: table, column: column, remoteColumn: remote, array: true}
	}
	return map[string]map[string]hasuraRelationship{
		"project":    {"flows": array("flow", "id", "project_id")},
		"flow_group": {"flows": array("flow", "id", "flow_group_id")},
		"flow": {
			"flow_group": object("flow_group", "flow_group_id", "id"),
			"project":    object("project", "project_id", "id"),
			"flow_runs":  array("flow_run", "id", "flow_id"),
			"tasks":      array("task", "id", "flow_id"),
		},
		"flow_run": {
			"flow":      object("flow", "flow_id", "id"),
			"logs":      array("log", "id", "flow_run_id"),
			"states":    array("flow_run_state", "id", "flow_run_id"),
			"task_runs": array("task_run", "id", "flow_run_id"),
		},
		"task": {
			"flow":      object("flow", "flow_id", "id"),
			"task_runs": array("task_run", "id", "task_id"),
		},
		"task_run": {
			"flow_run": object("flow_run", "flow_run_id", "id"),
			"task":     object("task", "task_id", "id"),
			"logs":     array("log", "id", "task_run_id"),
		},
		"flow_run_state": {"flow_run": object("flow_run", "flow_run_id", "id")},
		"log":            {},
	}
}

// IDs of the rows the World has no notion of.
const (
	hasuraTenantID  = "00000000-0000-4000-8fff-000000000001"
	hasuraProjectID = "00000000-0000-4000-8fff-000000000002"
)

// hasuraDB is the tables of one request, built from the World when first
// read, with their join indexes.
type hasuraDB struct {
	world   *World
	tables  map[string][]hasuraRow
	indexes map[string]map[any][]hasuraRow // "table.column" → value → rows
	runs    []Run
}

func newHasuraDB(w *World) *hasuraDB {
	return &hasuraDB{world: w, tables: map[string][]hasuraRow{}, indexes: map[string]map[any][]hasuraRow{}}
}

// isTable says whether Hasura serves a table of that name.
func isHasuraTable(name string) bool {
	switch name {
	case "project", "flow_group", "flow", "flow_run", "flow_run_state", "task", "task_run", "log":
		return true
	}
	return false
}

// rows returns a table's rows, in the World's creation order.
func (db *hasuraDB) rows(table string) []hasuraRow {
	if rows, ok := db.tables[table]; ok {
		return rows
	}
	var rows []hasuraRow
	switch table {
	case "project":
		rows = []hasuraRow{{"id": hasuraProjectID, "tenant_id": hasuraTenantID, "name": "monitorfish", "description": nil,
			"created": time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), "updated": time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}}
	case "flow_group":
		for _, f := range db.world.Flows() {
			rows = append(rows, hasuraFlowGroupRow(f))
		}
	case "flow":
		for _, f := range db.world.Flows() {
			rows = append(rows, hasuraFlowRow(f))
		}
	case "flow_run":
		for _, r := range db.worldRuns() {
			rows = append(rows, hasuraFlowRunRow(r))
		}
	case "flow_run_state":
		for _, r := range db.worldRuns() {
			rows = append(rows, hasuraFlowRunStateRow(r))
		}
	case "task", "task_run":
		flowOfRun := map[string]string{}
		for _, r := range db.worldRuns() {
			flowOfRun[r.ID] = r.FlowID
		}
		for _, t := range db.world.TaskRuns() {
			if table == "task" {
				rows = append(rows, hasuraTaskRow(t, flowOfRun[t.FlowRunID]))
			} else {
				rows = append(rows, hasuraTaskRunRow(t))
			}
		}
	case "log":
		for _, l := range db.world.Logs() {
			rows = append(rows, hasuraLogRow(l))
		}
	}
	db.tables[table] = rows
	return rows
}

func (db *hasuraDB) worldRuns() []Run {
	if db.runs == nil {
		db.runs = db.world.Runs()
	}
	return db.runs
}

// lookup returns the rows of table whose column equals value.
func (db *hasuraDB) lookup(table, column string, value any) []hasuraRow {
	if value == nil {
		return nil // SQL: NULL joins nothing
	}
	key := table + "." + column
	index, ok := db.indexes[key]
	if !ok {
		index = map[any][]hasuraRow{}
		for _, row := range db.rows(table) {
			if v := row[column]; v != nil {
				index[v] = append(index[v], row)
			}
		}
		db.indexes[key] = index
	}
	return index[value]
}

func hasuraFlowGroupRow(f Flow) hasuraRow {
	return hasuraRow{"id": f.GroupID, "tenant_id": hasuraTenantID, "created": f.Created, "updated": f.Created,
		"name": f.Name, "labels": []any{}, "schedule": nil, "settings": map[string]any{},
		"default_parameters": map[string]any{}, "run_config": nil, "description": nil}
}

func hasuraFlowRow(f Flow) hasuraRow {
	return hasuraRow{"id": f.ID, "tenant_id": hasuraTenantID, "created": f.Created, "updated": f.Created,
		"version": 1, "name": f.Name, "description": nil, "environment": nil, "parameters": []any{},
		"project_id": hasuraProjectID, "archived": false, "version_group_id": f.GroupID, "storage": nil,
		"core_version": hasuraCoreVersion, "settings": map[string]any{}, "serialized_flow": nil,
		"schedule": hasuraCronSchedule(f), "is_schedule_active": !f.Paused, "flow_group_id": f.GroupID, "run_config": nil}
}

// hasuraCronSchedule is a flow's schedule as Prefect 1 serializes it; nil when
// the flow has none.
func hasuraCronSchedule(f Flow) any {
	if f.Cron == "" {
		return nil
	}
	clock := map[string]any{"type": "CronClock", "__version__": hasuraCoreVersion, "cron": f.Cron, "day_or": true,
		"start_date": map[string]any{"dt": f.Created.UTC().Format("2006-01-02T15:04:05.999999"), "tz": "UTC"},
		"end_date":   nil, "labels": nil, "parameter_defaults": map[string]any{}}
	return map[string]any{"type": "Schedule", "__version__": hasuraCoreVersion, "clocks": []any{clock},
		"filters": []any{}, "not_filters": []any{}, "or_filters": []any{}, "adjustments": []any{}}
}

func hasuraFlowRunRow(r Run) hasuraRow {
	state := hasuraStateName(r.StateType, r.StateName)
	var stateStart any
	if state == "Scheduled" {
		stateStart = r.ExpectedStart
	}
	return hasuraRow{"id": r.ID, "tenant_id": hasuraTenantID, "created": r.Created, "updated": latest(r.StateTime, r.Created),
		"flow_id": r.FlowID, "parameters": map[string]any{}, "scheduled_start_time": r.ExpectedStart,
		"auto_scheduled": r.IdempotencyKey == "", "heartbeat": hasuraNullTime(r.Start), "start_time": hasuraNullTime(r.Start),
		"end_time": hasuraNullTime(r.End), "version": 3, "state": state, "state_timestamp": hasuraNullTime(r.StateTime),
		"state_message": hasuraNullString(r.Message), "state_result": nil, "state_start_time": stateStart,
		"serialized_state": map[string]any{"type": state, "message": r.Message}, "name": r.Name, "context": map[string]any{},
		"times_resurrected": 0, "idempotency_key": hasuraNullString(r.IdempotencyKey), "agent_id": nil,
		"labels": []any{"monitorfish"}, "run_config": nil}
}

func hasuraFlowRunStateRow(r Run) hasuraRow {
	state := hasuraStateName(r.StateType, r.StateName)
	return hasuraRow{"id": hasuraDerivedID(r.ID, "57a7"), "tenant_id": hasuraTenantID, "flow_run_id": r.ID,
		"timestamp": latest(r.StateTime, r.Created), "state": state, "message": hasuraNullString(r.Message), "result": nil,
		"start_time": hasuraNullTime(r.Start), "serialized_state": map[string]any{"type": state, "message": r.Message},
		"created": latest(r.StateTime, r.Created), "updated": latest(r.StateTime, r.Created), "version": 3}
}

func hasuraTaskRow(t TaskRun, flowID string) hasuraRow {
	return hasuraRow{"id": hasuraDerivedID(t.ID, "7a5c"), "tenant_id": hasuraTenantID, "created": t.Created, "updated": t.Created,
		"flow_id": hasuraNullString(flowID), "name": t.Name, "slug": t.Name + "-1", "description": nil,
		"type": "prefect.tasks.core.function.FunctionTask", "max_retries": 0, "retry_delay": nil,
		"trigger": "prefect.triggers.all_successful", "mapped": false, "auto_generated": false, "cache_key": nil,
		"is_root_task": true, "is_terminal_task": true, "is_reference_task": true, "tags": []any{}}
}

// hasuraTaskRunRow leaves name null, as Prefect 1 does unless a task_run_name
// template is set: a task run is named by its task.
func hasuraTaskRunRow(t TaskRun) hasuraRow {
	state := hasuraStateName(t.StateType, t.StateName)
	return hasuraRow{"id": t.ID, "tenant_id": hasuraTenantID, "created": t.Created, "updated": latest(t.End, t.Start, t.Created),
		"flow_run_id": t.FlowRunID, "task_id": hasuraDerivedID(t.ID, "7a5c"), "map_index": -1, "version": 2,
		"heartbeat": hasuraNullTime(t.Start), "start_time": hasuraNullTime(t.Start), "end_time": hasuraNullTime(t.End), "state": state,
		"state_timestamp": latest(t.End, t.Start, t.Created), "state_message": hasuraNullString(t.Message), "state_result": nil,
		"state_start_time": nil, "serialized_state": map[string]any{"type": state, "message": t.Message},
		"cache_key": nil, "name": nil}
}

func hasuraLogRow(l Log) hasuraRow {
	return hasuraRow{"id": l.ID, "tenant_id": hasuraTenantID, "flow_run_id": hasuraNullString(l.FlowRunID),
		"task_run_id": hasuraNullString(l.TaskRunID), "timestamp": l.Time, "name": l.Name, "level": hasuraLogLevel(l.Level),
		"message": l.Message, "info": nil, "created": l.Time, "updated": l.Time, "is_loaded_from_archive": false}
}

// hasuraCoreVersion is the Prefect Core version the fake claims.
const hasuraCoreVersion = "1.4.1"

// hasuraStateName is a World state as Prefect 1 names it: COMPLETED is
// Success, CRASHED (unknown to Prefect 1) is Failed; the subclasses
// Prefect 1 has keep their names (TimedOut, Cached, Submitted …).
func hasuraStateName(stateType, name string) string {
	keep := func(fallback string, names ...string) string {
		if slices.Contains(names, name) {
			return name
		}
		return fallback
	}
	switch stateType {
	case Completed:
		return keep("Success", "Success", "Cached", "Skipped", "Mapped")
	case Failed:
		return keep("Failed", "Failed", "TimedOut", "TriggerFailed", "ValidationFailed")
	case Crashed:
		return "Failed"
	case Cancelled:
		return "Cancelled"
	case Cancelling:
		return "Cancelling"
	case Running:
		return keep("Running", "Running", "Looped")
	case Scheduled:
		return keep("Scheduled", "Scheduled", "Queued", "Retrying", "Resume")
	case Pending:
		return keep("Pending", "Pending", "Submitted", "Retrying", "Queued")
	case Paused:
		return "Paused"
	}
	return name
}

func hasuraLogLevel(level int) string {
	switch level {
	case 10:
		return "DEBUG"
	case 20:
		return "INFO"
	case 30:
		return "WARNING"
	case 40:
		return "ERROR"
	case 50:
		return "CRITICAL"
	}
	return fmt.Sprintf("Level %d", level)
}

// hasuraDerivedID makes the ID of a row the World does not have (a task, a
// state) from the ID of one it has, still shaped like a UUID.
func hasuraDerivedID(id, tag string) string {
	if len(id) == 36 && id[8] == '-' && id[13] == '-' {
		return id[:9] + tag + id[13:]
	}
	return id + "-" + tag
}

func hasuraNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func hasuraNullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

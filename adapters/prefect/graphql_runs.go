package prefect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mfbot/pipeline"
)

// Defaults when a caller gives no limit.
const (
	gqlDefaultRunsLimit     = 50
	gqlDefaultFinishedLimit = 200
)

// Runs lists recent runs, newest expected start first, never those
// scheduled ahead of now. $where is built from non-null conditions only.
func (g *graphQL) Runs(ctx context.Context, q pipeline.RunQuery) ([]pipeline.Run, error) {
	op := "list runs"
	if q.Flows != nil && len(q.Flows) == 0 {
		return []pipeline.Run{}, nil // no flow asked for: no runs (nil would mean every flow)
	}
	conditions := []any{
		map[string]any{"scheduled_start_time": map[string]any{"_lte": gqlTimestamp(g.now())}},
	}
	if len(q.Flows) > 0 {
		groups := make([]string, 0, len(q.Flows))
		for _, f := range q.Flows {
			if err := gqlRequireUUID(op, "flow ID of "+gqlFlowName(f), f.ID); err != nil {
				return nil, err
			}
			groups = append(groups, f.ID)
		}
		conditions = append(conditions, map[string]any{"flow": map[string]any{"flow_group_id": map[string]any{"_in": groups}}})
	}
	if q.Failed {
		conditions = append(conditions, map[string]any{"state": map[string]any{"_in": gqlFailedStates()}})
	}
	limit := q.Limit
	if limit <= 0 {
		limit = gqlDefaultRunsLimit
	}
	var data struct {
		FlowRun []gqlRun `json:"flow_run"`
	}
	vars := map[string]any{"where": map[string]any{"_and": conditions}, "limit": limit}
	if err := g.do(ctx, op, gqlRunsDoc, vars, &data); err != nil {
		return nil, err
	}
	return gqlRunList(data.FlowRun), nil
}

// Run reads one run; ErrNotFound when Prefect has none with that ID.
func (g *graphQL) Run(ctx context.Context, id string) (pipeline.Run, error) {
	op := "read run " + id
	if err := gqlRequireUUID(op, "run ID", id); err != nil {
		return pipeline.Run{}, err
	}
	var data struct {
		FlowRunByPK *gqlRun `json:"flow_run_by_pk"`
	}
	if err := g.do(ctx, op, gqlRunDoc, map[string]any{"id": id}, &data); err != nil {
		return pipeline.Run{}, err
	}
	if data.FlowRunByPK == nil {
		return pipeline.Run{}, fmt.Errorf("%s: %w", op, pipeline.ErrNotFound)
	}
	return data.FlowRunByPK.run(), nil
}

// TaskRuns lists a run's task runs in start order. A task run has no name
// of its own unless templated: it is named by its task, with its map
// index when mapped ("extract[3]").
func (g *graphQL) TaskRuns(ctx context.Context, runID string) ([]pipeline.TaskRun, error) {
	op := "list the task runs of run " + runID
	if err := gqlRequireUUID(op, "run ID", runID); err != nil {
		return nil, err
	}
	var data struct {
		FlowRunByPK *struct {
			TaskRuns []struct {
				ID           string  `json:"id"`
				Name         string  `json:"name"`
				MapIndex     int     `json:"map_index"`
				State        string  `json:"state"`
				StateMessage string  `json:"state_message"`
				StartTime    gqlTime `json:"start_time"`
				EndTime      gqlTime `json:"end_time"`
				Task         *struct {
					Name string `json:"name"`
				} `json:"task"`
			} `json:"task_runs"`
		} `json:"flow_run_by_pk"`
	}
	if err := g.do(ctx, op, gqlTaskRunsDoc, map[string]any{"id": runID}, &data); err != nil {
		return nil, err
	}
	if data.FlowRunByPK == nil {
		return nil, fmt.Errorf("%s: %w", op, pipeline.ErrNotFound)
	}
	out := make([]pipeline.TaskRun, 0, len(data.FlowRunByPK.TaskRuns))
	for _, t := range data.FlowRunByPK.TaskRuns {
		name := t.Name
		if name == "" && t.Task != nil {
			name = t.Task.Name
			if t.MapIndex >= 0 {
				name += fmt.Sprintf("[%d]", t.MapIndex)
			}
		}
		out = append(out, pipeline.TaskRun{ID: t.ID, Name: name, State: gqlState(t.State, t.StateMessage),
			Start: t.StartTime.Time, End: t.EndTime.Time})
	}
	return out, nil
}

// Logs returns the last limit lines of a run, oldest first.
func (g *graphQL) Logs(ctx context.Context, runID string, limit int) ([]pipeline.LogLine, error) {
	op := "read the logs of run " + runID
	if err := gqlRequireUUID(op, "run ID", runID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []pipeline.LogLine{}, nil
	}
	var data struct {
		FlowRunByPK *struct {
			Logs []struct {
				Timestamp gqlTime `json:"timestamp"`
				Level     string  `json:"level"`
				Name      string  `json:"name"`
				Message   string  `json:"message"`
			} `json:"logs"`
		} `json:"flow_run_by_pk"`
	}
	if err := g.do(ctx, op, gqlLogsDoc, map[string]any{"id": runID, "limit": limit}, &data); err != nil {
		return nil, err
	}
	if data.FlowRunByPK == nil {
		return nil, fmt.Errorf("%s: %w", op, pipeline.ErrNotFound)
	}
	out := make([]pipeline.LogLine, 0, len(data.FlowRunByPK.Logs))
	for _, l := range data.FlowRunByPK.Logs {
		out = append(out, pipeline.LogLine{Time: l.Timestamp.Time, Level: l.Level, Logger: l.Name, Message: l.Message})
	}
	slices.Reverse(out) // asked newest first, to get the last ones
	return out, nil
}

// CancelRun asks Prefect to cancel a run. Prefect 1 either answers the
// run's new state (ACCEPT) or refuses with a resolver error (REJECT, with
// its message); an answer that is a final state other than Cancelled
// means the run had already finished (REJECT too).
func (g *graphQL) CancelRun(ctx context.Context, runID string) (pipeline.Cancellation, error) {
	op := "cancel run " + runID
	if err := gqlRequireUUID(op, "run ID", runID); err != nil {
		return pipeline.Cancellation{}, err
	}
	var data struct {
		CancelFlowRun *struct {
			State string `json:"state"`
		} `json:"cancel_flow_run"`
	}
	err := g.do(ctx, op, gqlCancelRunDoc, map[string]any{"id": runID}, &data)
	if refusal, ok := gqlIsResolverRefusal(err); ok {
		run, readErr := g.Run(ctx, runID)
		if errors.Is(readErr, pipeline.ErrNotFound) {
			return pipeline.Cancellation{}, fmt.Errorf("%s: %w (Prefect said: %s)", op, pipeline.ErrNotFound, refusal.detail)
		}
		c := pipeline.Cancellation{Status: "REJECT", Reason: refusal.detail}
		if readErr == nil {
			c.State = run.State
		}
		return c, nil
	}
	if err != nil {
		return pipeline.Cancellation{}, err
	}
	var state pipeline.State
	if data.CancelFlowRun != nil && data.CancelFlowRun.State != "" {
		state = gqlState(data.CancelFlowRun.State, "")
	} else if run, err := g.Run(ctx, runID); err == nil {
		state = run.State
	}
	if state.Final() && state.Type != pipeline.Cancelled {
		return pipeline.Cancellation{Status: "REJECT", Reason: "the run had already finished (" + state.String() + ")", State: state}, nil
	}
	return pipeline.Cancellation{Status: "ACCEPT", State: state}, nil
}

// FinishedSince is the watcher's poll, one request: runs that reached a
// final state after since, oldest first.
func (g *graphQL) FinishedSince(ctx context.Context, since time.Time, limit int) ([]pipeline.Run, error) {
	if limit <= 0 {
		limit = gqlDefaultFinishedLimit
	}
	var data struct {
		FlowRun []gqlRun `json:"flow_run"`
	}
	vars := map[string]any{"since": gqlTimestamp(since), "states": gqlFinalStates(), "limit": limit}
	if err := g.do(ctx, "list the runs finished since "+gqlTimestamp(since), gqlFinishedSinceDoc, vars, &data); err != nil {
		return nil, err
	}
	return gqlRunList(data.FlowRun), nil
}

// RunningSince lists the runs Running since before startedBefore.
func (g *graphQL) RunningSince(ctx context.Context, startedBefore time.Time) ([]pipeline.Run, error) {
	var data struct {
		FlowRun []gqlRun `json:"flow_run"`
	}
	vars := map[string]any{"startedBefore": gqlTimestamp(startedBefore)}
	if err := g.do(ctx, "list the runs running since before "+gqlTimestamp(startedBefore), gqlRunningSinceDoc, vars, &data); err != nil {
		return nil, err
	}
	return gqlRunList(data.FlowRun), nil
}

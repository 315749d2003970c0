package prefect

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"mfbot/pipeline"
)

// finalStates are the states a run ends in.
var finalStates = []pipeline.StateType{pipeline.Completed, pipeline.Failed, pipeline.Crashed, pipeline.Cancelled}

// Runs lists the runs expected to have started by now, newest expected
// start first. Filtering and sorting on expected_start_time is what keeps
// the runs scheduled ahead out: a start_time range compares
// COALESCE(start_time, expected_start_time), and the default sort (ID_DESC)
// is creation order, scheduled runs being created ahead of time.
func (c *restClient) Runs(ctx context.Context, q pipeline.RunQuery) ([]pipeline.Run, error) {
	const what = "list flow runs"
	filter := &flowRunFilter{ExpectedStartTime: before(c.now())}
	if q.Flows != nil {
		ids := make([]string, 0, len(q.Flows))
		for _, f := range q.Flows {
			if f.ID != "" {
				ids = append(ids, f.ID)
			}
		}
		if len(ids) == 0 {
			return nil, nil // no flow: no run
		}
		filter.DeploymentID = idsIn(ids...)
	}
	if q.Failed {
		filter.State = statesIn(pipeline.Failed, pipeline.Crashed)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = restPageLimit
	}
	runs, err := c.readFlowRuns(ctx, what, filter, "EXPECTED_START_TIME_DESC", limit)
	if err != nil {
		return nil, err
	}
	return c.named(ctx, what, runs)
}

// Run reads one run.
func (c *restClient) Run(ctx context.Context, id string) (pipeline.Run, error) {
	what := "read flow run " + id
	if err := checkID(what, id); err != nil {
		return pipeline.Run{}, err
	}
	var fr flowRunJSON
	if _, err := c.call(ctx, what, http.MethodGet, "/flow_runs/"+url.PathEscape(id), nil, &fr); err != nil {
		return pipeline.Run{}, err
	}
	runs, err := c.named(ctx, what, []flowRunJSON{fr})
	if err != nil {
		return pipeline.Run{}, err
	}
	return runs[0], nil
}

// FinishedSince reads the runs that ended at or after since (after_ is
// inclusive: a run ending at the very instant of the previous page's last
// is read again, not lost), oldest end first.
//
// Prefect sorts on end time only newest first (FlowRunSort has END_TIME_DESC,
// no END_TIME_ASC). So the poll asks for the newest 200: in steady state
// fewer ended since, that is all of them, and one request is enough. A
// full page means a backlog, of which the OLDEST must come first (the
// watcher pages on from the last end it got): the runs are then counted up
// to the newest end read, and the oldest page of them read at that offset,
// three requests whatever the backlog.
func (c *restClient) FinishedSince(ctx context.Context, since time.Time, limit int) ([]pipeline.Run, error) {
	const what = "list the runs finished since"
	if limit <= 0 || limit > restPageLimit {
		limit = restPageLimit
	}
	filter := &flowRunFilter{State: statesIn(finalStates...), EndTime: after(since)}
	var runs []flowRunJSON
	q := flowRunsQuery{FlowRuns: filter, Sort: "END_TIME_DESC", Limit: restPageLimit}
	if _, err := c.call(ctx, what, http.MethodPost, "/flow_runs/filter", q, &runs); err != nil {
		return nil, err
	}
	if len(runs) == restPageLimit {
		var err error
		if runs, err = c.oldestFinished(ctx, filter, runs[0].EndTime, limit); err != nil {
			return nil, err
		}
	}
	slices.Reverse(runs) // oldest end first
	runs = runs[:min(len(runs), limit)]
	return c.named(ctx, what, runs)
}

// oldestFinished reads the limit runs that ended first among those the
// filter selects up to newestEnd, newest first (Prefect's END_TIME_DESC).
// The upper bound keeps the count and the page on the same rows while
// runs keep ending.
func (c *restClient) oldestFinished(ctx context.Context, filter *flowRunFilter, newestEnd time.Time, limit int) ([]flowRunJSON, error) {
	const what = "read the backlog of finished runs"
	window := *filter
	window.EndTime = &timeRange{After: filter.EndTime.After, Before: stamp(newestEnd)}
	var count int
	if _, err := c.call(ctx, what, http.MethodPost, "/flow_runs/count", flowRunsCount{FlowRuns: &window}, &count); err != nil {
		return nil, err
	}
	var runs []flowRunJSON
	q := flowRunsQuery{FlowRuns: &window, Sort: "END_TIME_DESC", Limit: limit, Offset: max(count-limit, 0)}
	if _, err := c.call(ctx, what, http.MethodPost, "/flow_runs/filter", q, &runs); err != nil {
		return nil, err
	}
	return runs, nil
}

// RunningSince reads the runs Running since startedBefore or longer.
func (c *restClient) RunningSince(ctx context.Context, startedBefore time.Time) ([]pipeline.Run, error) {
	const what = "list the running runs"
	filter := &flowRunFilter{State: statesIn(pipeline.Running), StartTime: before(startedBefore)}
	runs, err := c.readFlowRuns(ctx, what, filter, "START_TIME_ASC", 0)
	if err != nil {
		return nil, err
	}
	return c.named(ctx, what, runs)
}

// readFlowRuns reads up to want runs (0: all) in pages with offset. A run
// read twice (rows shifting between pages) is kept once.
func (c *restClient) readFlowRuns(ctx context.Context, what string, filter *flowRunFilter, sort string, want int) ([]flowRunJSON, error) {
	var out []flowRunJSON
	seen := map[string]bool{}
	for page, offset := 0, 0; page < restMaxPages; page++ {
		limit := restPageLimit
		if want > 0 {
			limit = min(limit, want-len(out))
		}
		var batch []flowRunJSON
		q := flowRunsQuery{FlowRuns: filter, Sort: sort, Limit: limit, Offset: offset}
		if _, err := c.call(ctx, what, http.MethodPost, "/flow_runs/filter", q, &batch); err != nil {
			return nil, err
		}
		for _, fr := range batch {
			if !seen[fr.ID] {
				seen[fr.ID] = true
				out = append(out, fr)
			}
		}
		offset += len(batch)
		if len(batch) < limit || (want > 0 && len(out) >= want) {
			break
		}
	}
	return out, nil
}

// TaskRuns lists a run's task runs in start order (Prefect sorts task runs
// on expected start at best; those that started are ordered by their start).
func (c *restClient) TaskRuns(ctx context.Context, runID string) ([]pipeline.TaskRun, error) {
	what := "list the task runs of run " + runID
	if err := checkID(what, runID); err != nil {
		return nil, err
	}
	var runs []taskRunJSON
	seen := map[string]bool{}
	for page := 0; page < restMaxPages; page++ {
		var batch []taskRunJSON
		q := taskRunsQuery{FlowRuns: &flowRunFilter{ID: idsIn(runID)}, Sort: "EXPECTED_START_TIME_ASC", Limit: restPageLimit, Offset: page * restPageLimit}
		if _, err := c.call(ctx, what, http.MethodPost, "/task_runs/filter", q, &batch); err != nil {
			return nil, err
		}
		for _, tr := range batch {
			if !seen[tr.ID] {
				seen[tr.ID] = true
				runs = append(runs, tr)
			}
		}
		if len(batch) < restPageLimit {
			break
		}
	}
	slices.SortStableFunc(runs, func(a, b taskRunJSON) int { return compareKnownFirst(a.started(), b.started()) })
	out := make([]pipeline.TaskRun, len(runs))
	for i, tr := range runs {
		out[i] = tr.taskRun()
	}
	return out, nil
}

// Logs reads a run's last limit log lines (its task runs' included: they
// carry the flow run's ID), newest first as Prefect sorts them, and turns
// them oldest first.
func (c *restClient) Logs(ctx context.Context, runID string, limit int) ([]pipeline.LogLine, error) {
	what := "read the logs of run " + runID
	if err := checkID(what, runID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	var lines []pipeline.LogLine
	seen := map[string]bool{}
	for page, offset := 0, 0; page < restMaxPages && len(lines) < limit; page++ {
		pageLimit := min(restPageLimit, limit-len(lines))
		var batch []logJSON
		q := logsQuery{Logs: &logFilter{FlowRunID: idsIn(runID)}, Sort: "TIMESTAMP_DESC", Limit: pageLimit, Offset: offset}
		if _, err := c.call(ctx, what, http.MethodPost, "/logs/filter", q, &batch); err != nil {
			return nil, err
		}
		for _, l := range batch {
			// Lines logged while paging shift the pages: read twice, kept once.
			if !seen[l.ID] {
				seen[l.ID] = true
				lines = append(lines, l.line())
			}
		}
		offset += len(batch)
		if len(batch) < pageLimit {
			break
		}
	}
	slices.Reverse(lines)
	return lines, nil
}

// compareKnownFirst orders times with the unknown (zero) ones last.
func compareKnownFirst(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

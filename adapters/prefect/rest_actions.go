package prefect

import (
	"context"
	"net/http"
	"net/url"

	"mfbot/pipeline"
)

// StartRun creates a run of the flow's deployment, scheduled now, with
// everything else (parameters, tags, work queue) from the deployment.
// Prefect answers 201 for a new run and 200 when the idempotency key
// matched a run it had already created.
func (c *restClient) StartRun(ctx context.Context, flow pipeline.Flow, idempotencyKey string) (pipeline.Started, error) {
	what := "start a run of " + flow.Name
	if err := checkID(what, flow.ID); err != nil {
		return pipeline.Started{}, err
	}
	var fr flowRunJSON
	status, err := c.call(ctx, what, http.MethodPost, "/deployments/"+url.PathEscape(flow.ID)+"/create_flow_run",
		createRun{IdempotencyKey: idempotencyKey}, &fr)
	if err != nil {
		return pipeline.Started{}, err
	}
	run := fr.run()
	run.FlowID, run.FlowName = flow.ID, flow.Name
	return pipeline.Started{Run: run, Created: status == http.StatusCreated}, nil
}

// CancelRun proposes the state CANCELLING, leaving Prefect's orchestration
// rules to decide: ACCEPT (the run is being cancelled), REJECT (e.g. it
// already is), ABORT (it is over), WAIT.
func (c *restClient) CancelRun(ctx context.Context, runID string) (pipeline.Cancellation, error) {
	what := "cancel run " + runID
	if err := checkID(what, runID); err != nil {
		return pipeline.Cancellation{}, err
	}
	var result orchestrationResult
	body := setState{State: stateCreate{Type: pipeline.Cancelling}}
	if _, err := c.call(ctx, what, http.MethodPost, "/flow_runs/"+url.PathEscape(runID)+"/set_state", body, &result); err != nil {
		return pipeline.Cancellation{}, err
	}
	out := pipeline.Cancellation{Status: result.Status, Reason: result.Details.Reason}
	if result.State != nil {
		out.State = pipeline.State{Type: pipeline.StateType(result.State.Type), Name: result.State.Name, Message: result.State.Message}
	}
	return out, nil
}

// SetScheduleActive pauses or resumes the deployment with a PATCH that
// holds paused and nothing else (Prefect's own client does the same): a
// field left out is left as it is.
func (c *restClient) SetScheduleActive(ctx context.Context, flow pipeline.Flow, active bool) error {
	what := "pause the schedule of " + flow.Name
	if active {
		what = "resume the schedule of " + flow.Name
	}
	if err := checkID(what, flow.ID); err != nil {
		return err
	}
	_, err := c.call(ctx, what, http.MethodPatch, "/deployments/"+url.PathEscape(flow.ID), pausedUpdate{Paused: !active}, nil)
	return err
}

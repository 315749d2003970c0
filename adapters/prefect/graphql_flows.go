package prefect

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"mfbot/pipeline"
)

// Flows lists the flows that can run, one per flow group (its newest
// unarchived version), by name, with their last run: one request.
func (g *graphQL) Flows(ctx context.Context) ([]pipeline.Flow, error) {
	var data struct {
		Flow []struct {
			ID               string          `json:"id"`
			Name             string          `json:"name"`
			FlowGroupID      string          `json:"flow_group_id"`
			IsScheduleActive bool            `json:"is_schedule_active"`
			Schedule         json.RawMessage `json:"schedule"`
			FlowGroup        *struct {
				Schedule json.RawMessage `json:"schedule"`
			} `json:"flow_group"`
		} `json:"flow"`
		LastRuns []gqlRun `json:"last_runs"`
	}
	if err := g.do(ctx, "list flows", gqlFlowsDoc, map[string]any{"now": gqlTimestamp(g.now())}, &data); err != nil {
		return nil, err
	}
	// last_runs has the newest run of each flow version: keep the newest
	// of each flow group.
	lastRuns := map[string]pipeline.Run{}
	for _, row := range data.LastRuns {
		run := row.run()
		if last, ok := lastRuns[run.FlowID]; !ok || run.ExpectedStart.After(last.ExpectedStart) {
			lastRuns[run.FlowID] = run
		}
	}
	var flows []pipeline.Flow
	seen := map[string]bool{}
	for _, row := range data.Flow {
		// Rows come newest version first within a flow group.
		if seen[row.FlowGroupID] {
			continue
		}
		seen[row.FlowGroupID] = true
		var groupSchedule json.RawMessage
		if row.FlowGroup != nil {
			groupSchedule = row.FlowGroup.Schedule
		}
		flow := pipeline.Flow{ID: row.FlowGroupID, Name: row.Name, VersionID: row.ID,
			Schedule: gqlScheduleText(groupSchedule, row.Schedule), ScheduleActive: row.IsScheduleActive}
		if run, ok := lastRuns[row.FlowGroupID]; ok {
			flow.LastRun = &run
		}
		flows = append(flows, flow)
	}
	sort.SliceStable(flows, func(i, j int) bool { return flows[i].Name < flows[j].Name })
	return flows, nil
}

// flowVersionID is the flow version the mutations act on: flow.VersionID,
// else the newest unarchived version of the flow group flow.ID.
func (g *graphQL) flowVersionID(ctx context.Context, op string, flow pipeline.Flow) (string, error) {
	if flow.VersionID != "" {
		return flow.VersionID, gqlRequireUUID(op, "flow version ID", flow.VersionID)
	}
	if err := gqlRequireUUID(op, "flow ID", flow.ID); err != nil {
		return "", err
	}
	var data struct {
		Flow []struct {
			ID string `json:"id"`
		} `json:"flow"`
	}
	if err := g.do(ctx, op, gqlFlowVersionDoc, map[string]any{"flowGroupId": flow.ID}, &data); err != nil {
		return "", err
	}
	if len(data.Flow) == 0 || data.Flow[0].ID == "" {
		return "", fmt.Errorf("%s: %w: no unarchived version of flow group %s", op, pipeline.ErrNotFound, flow.ID)
	}
	return data.Flow[0].ID, nil
}

// StartRun creates a run of the flow's version with an idempotency key.
// Prefect 1's create_flow_run answers only an ID, new or not: a run the
// key already created is looked up first, so Created says the truth (two
// concurrent calls with one key may both say Created; Prefect still
// starts one run).
func (g *graphQL) StartRun(ctx context.Context, flow pipeline.Flow, idempotencyKey string) (pipeline.Started, error) {
	op := "start a run of " + gqlFlowName(flow)
	if idempotencyKey == "" {
		return pipeline.Started{}, fmt.Errorf("%s: no idempotency key (nothing sent)", op)
	}
	versionID, err := g.flowVersionID(ctx, op, flow)
	if err != nil {
		return pipeline.Started{}, err
	}
	vars := map[string]any{"flowId": versionID, "key": idempotencyKey}
	var existing struct {
		FlowRun []gqlRun `json:"flow_run"`
	}
	if err := g.do(ctx, op, gqlRunByKeyDoc, vars, &existing); err != nil {
		return pipeline.Started{}, err
	}
	if len(existing.FlowRun) > 0 {
		return pipeline.Started{Run: existing.FlowRun[0].run(), Created: false}, nil
	}
	var created struct {
		CreateFlowRun *struct {
			ID string `json:"id"`
		} `json:"create_flow_run"`
	}
	if err := g.do(ctx, op, gqlStartRunDoc, vars, &created); err != nil {
		return pipeline.Started{}, err
	}
	if created.CreateFlowRun == nil || created.CreateFlowRun.ID == "" {
		return pipeline.Started{}, fmt.Errorf("%s: %w: create_flow_run answered no run ID", op, pipeline.ErrRefused)
	}
	id := created.CreateFlowRun.ID
	run, err := g.Run(ctx, id)
	if err != nil {
		// The run exists: report it, even if it could not be read back.
		run = pipeline.Run{ID: id, FlowID: flow.ID, FlowName: flow.Name, State: gqlState("Scheduled", "")}
	}
	return pipeline.Started{Run: run, Created: true}, nil
}

// SetScheduleActive turns a flow's schedule on or off: the schedule
// mutations take a flow version ID.
func (g *graphQL) SetScheduleActive(ctx context.Context, flow pipeline.Flow, active bool) error {
	op, document := "pause the schedule of "+gqlFlowName(flow), gqlScheduleInactiveDoc
	if active {
		op, document = "resume the schedule of "+gqlFlowName(flow), gqlScheduleActiveDoc
	}
	versionID, err := g.flowVersionID(ctx, op, flow)
	if err != nil {
		return err
	}
	var data struct {
		Result *struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		} `json:"result"`
	}
	if err := g.do(ctx, op, document, map[string]any{"flowId": versionID}, &data); err != nil {
		return err
	}
	switch {
	case data.Result == nil:
		return fmt.Errorf("%s: %w: no answer to the mutation", op, pipeline.ErrRefused)
	case data.Result.Success == nil || !*data.Result.Success:
		reason := data.Result.Error
		if reason == "" {
			reason = "success is false"
		}
		return fmt.Errorf("%s: %w: %s", op, pipeline.ErrRefused, reason)
	}
	return nil
}

func gqlFlowName(flow pipeline.Flow) string {
	if flow.Name != "" {
		return fmt.Sprintf("%q", flow.Name)
	}
	return "flow " + flow.ID
}

package prefectfake

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// mutation answers the Python service's mutations mfbot sends, over the
// World. Like Prefect Server's resolvers they take IDs exactly: a flow_id
// is a flow (version) ID, not its flow group's.
func (x *gqlExecution) mutation(f *ast.Field) (any, error) {
	arg, err := x.argValue(f, "input")
	if err != nil {
		return nil, err
	}
	input, _ := arg.(map[string]any)
	payloadType := f.Definition.Type.Name()
	switch f.Name {
	case "create_flow_run":
		return x.createFlowRun(input, payloadType, f.SelectionSet)
	case "cancel_flow_run":
		return x.cancelFlowRun(input, payloadType, f.SelectionSet)
	case "set_schedule_active", "set_schedule_inactive":
		flow, err := x.flowVersion(input["flow_id"])
		if err != nil {
			return nil, err
		}
		if err := x.db.world.SetPaused(flow.ID, f.Name == "set_schedule_inactive"); err != nil {
			return nil, gqlResolverErrorf("%v", err)
		}
		return x.projectPlain(payloadType, map[string]any{"success": true, "error": nil}, f.SelectionSet), nil
	}
	return nil, gqlResolverErrorf("prefectfake does not implement the mutation %s", f.Name)
}

// createFlowRun starts a run of a flow version (flow_id) or of the
// unarchived version of a version group (version_group_id); an
// idempotency key already used for that flow gives back its run.
func (x *gqlExecution) createFlowRun(input map[string]any, payloadType string, sel ast.SelectionSet) (any, error) {
	var flow Flow
	switch {
	case input["flow_id"] != nil:
		f, err := x.flowVersion(input["flow_id"])
		if err != nil {
			return nil, err
		}
		flow = f
	case input["version_group_id"] != nil:
		group, _ := input["version_group_id"].(string)
		found := false
		for _, f := range x.db.world.Flows() {
			if f.GroupID == group {
				flow, found = f, true
			}
		}
		if !found {
			return nil, gqlResolverErrorf("Version group %s has no active flow.", group)
		}
	default:
		return nil, gqlResolverErrorf("A flow_id or version_group_id must be provided.")
	}
	key, _ := input["idempotency_key"].(string)
	run, _, err := x.db.world.CreateRun(flow.ID, key)
	if err != nil {
		return nil, gqlResolverErrorf("%v", err)
	}
	return x.projectPlain(payloadType, map[string]any{"id": run.ID}, sel), nil
}

// cancelFlowRun cancels an unfinished run; a finished one is an error.
func (x *gqlExecution) cancelFlowRun(input map[string]any, payloadType string, sel ast.SelectionSet) (any, error) {
	id, _ := input["flow_run_id"].(string)
	if _, ok := x.db.world.Run(id); !ok {
		return nil, gqlResolverErrorf("Invalid flow run ID: %s.", id)
	}
	decision, _, run, err := x.db.world.SetState(id, Cancelled)
	if err != nil {
		return nil, gqlResolverErrorf("%v", err)
	}
	if decision != Accept {
		return nil, gqlResolverErrorf("Flow run %s is already in a finished state: %s.", id, hasuraStateName(run.StateType, run.StateName))
	}
	return x.projectPlain(payloadType, map[string]any{"state": hasuraStateName(run.StateType, run.StateName)}, sel), nil
}

// flowVersion finds the flow whose version ID is id.
func (x *gqlExecution) flowVersion(id any) (Flow, error) {
	s, _ := id.(string)
	for _, f := range x.db.world.Flows() {
		if f.ID == s {
			return f, nil
		}
	}
	return Flow{}, gqlResolverErrorf("Invalid flow ID: %s.", s)
}

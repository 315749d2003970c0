package prefectfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// endpoints are the operations the fake answers; the document's others
// answer 501 (recorded).
func (a *restAPI) endpoints() map[string]restEndpoint {
	constant := func(v any) restEndpoint {
		return func(*restRequest) restAnswer { return restAnswer{http.StatusOK, v} }
	}
	return map[string]restEndpoint{
		"GET /api/health":        constant(true),
		"GET /api/version":       constant("0.8.4"),
		"GET /api/admin/version": constant("3.6.9"),
		"GET /api/hello":         constant("👋"),
		"GET /api/ready":         constant(map[string]any{"message": "OK"}),

		"POST /api/flows/filter":                                  a.readFlows,
		"POST /api/flows/count":                                   a.countFlows,
		"POST /api/deployments/filter":                            a.readDeployments,
		"POST /api/deployments/count":                             a.countDeployments,
		"GET /api/deployments/{id}":                               a.readDeployment,
		"GET /api/deployments/name/{flow_name}/{deployment_name}": a.readDeploymentByName,
		"PATCH /api/deployments/{id}":                             a.updateDeployment,
		"POST /api/deployments/{id}/pause_deployment":             a.pauseDeployment(true),
		"POST /api/deployments/{id}/resume_deployment":            a.pauseDeployment(false),
		"POST /api/deployments/{id}/create_flow_run":              a.createFlowRun,
		"POST /api/flow_runs/filter":                              a.readFlowRuns,
		"POST /api/flow_runs/count":                               a.countFlowRuns,
		"GET /api/flow_runs/{id}":                                 a.readFlowRun,
		"POST /api/flow_runs/{id}/set_state":                      a.setFlowRunState,
		"POST /api/task_runs/filter":                              a.readTaskRuns,
		"POST /api/task_runs/count":                               a.countTaskRuns,
		"POST /api/logs/filter":                                   a.readLogs,
	}
}

// listing is the sort and paging of a filter body.
type listing struct {
	Sort   *string `json:"sort"`
	Limit  *int    `json:"limit"`
	Offset int     `json:"offset"`
}

func (l listing) sortOr(def string) string {
	if l.Sort != nil {
		return *l.Sort
	}
	return def
}

// flowRunsBody is the body of /flow_runs/filter and /flow_runs/count
// (whose schema has no sort, limit nor offset).
type flowRunsBody struct {
	listing
	Flows       *flowFilter       `json:"flows"`
	FlowRuns    *flowRunFilter    `json:"flow_runs"`
	TaskRuns    *taskRunFilter    `json:"task_runs"`
	Deployments *deploymentFilter `json:"deployments"`
}

// world is one request's view of the World.
type world struct {
	flows      []Flow
	flowByID   map[string]*Flow // by flow ID
	deployment map[string]*Flow // by deployment ID
}

func (a *restAPI) world() world {
	w := world{flows: a.s.World.Flows(), flowByID: map[string]*Flow{}, deployment: map[string]*Flow{}}
	for i := range w.flows {
		f := &w.flows[i]
		w.flowByID[f.ID] = f
		if f.DeploymentID != "" {
			w.deployment[f.DeploymentID] = f
		}
	}
	return w
}

// matchingFlowRuns are the runs the body's filters select, in creation order.
func (a *restAPI) matchingFlowRuns(w world, body flowRunsBody) []Run {
	var tasks map[string][]TaskRun
	if body.TaskRuns != nil {
		tasks = map[string][]TaskRun{}
		for _, t := range a.s.World.TaskRuns() {
			tasks[t.FlowRunID] = append(tasks[t.FlowRunID], t)
		}
	}
	var out []Run
	for _, r := range a.s.World.Runs() {
		f := w.flowByID[r.FlowID]
		if !body.FlowRuns.match(r, f) || !body.Flows.match(f) || !body.Deployments.match(f) {
			continue
		}
		// A task run filter keeps the runs that have a matching task run.
		if tasks != nil && !anyTaskRun(tasks[r.ID], body.TaskRuns) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func anyTaskRun(tasks []TaskRun, f *taskRunFilter) bool {
	for _, t := range tasks {
		if f.match(t) {
			return true
		}
	}
	return false
}

func (a *restAPI) readFlowRuns(req *restRequest) restAnswer {
	var body flowRunsBody
	if refused := a.model(req, &body); refused != nil {
		return *refused
	}
	o, ok := flowRunOrder(body.sortOr("ID_DESC"))
	if !ok {
		return *a.unsupported(req.op, "sort "+*body.Sort)
	}
	w := a.world()
	runs := a.matchingFlowRuns(w, body)
	sortRows(runs, o)
	out := []any{}
	for _, r := range page(runs, body.Offset, body.Limit) {
		out = append(out, flowRunShape(r, w.flowByID[r.FlowID]))
	}
	return restAnswer{http.StatusOK, out}
}

func (a *restAPI) countFlowRuns(req *restRequest) restAnswer {
	var body flowRunsBody
	if refused := a.model(req, &body); refused != nil {
		return *refused
	}
	return restAnswer{http.StatusOK, len(a.matchingFlowRuns(a.world(), body))}
}

func (a *restAPI) readFlowRun(req *restRequest) restAnswer {
	r, ok := a.s.World.Run(req.http.PathValue("id"))
	if !ok {
		return restAnswer{http.StatusNotFound, map[string]any{"detail": "Flow run not found"}}
	}
	return restAnswer{http.StatusOK, flowRunShape(r, a.world().flowByID[r.FlowID])}
}

// deploymentsBody is the body of /deployments/filter, /deployments/count,
// /flows/filter and /flows/count.
type deploymentsBody struct {
	listing
	Flows       *flowFilter       `json:"flows"`
	Deployments *deploymentFilter `json:"deployments"`
}

// matchingFlows are the flows (and their deployments) the body's filters
// select, sorted, not paged.
func (a *restAPI) matchingFlows(req *restRequest) ([]Flow, listing, *restAnswer) {
	var body deploymentsBody
	if refused := a.model(req, &body); refused != nil {
		return nil, body.listing, refused
	}
	var out []Flow
	for _, f := range a.s.World.Flows() {
		if body.Flows.match(&f) && body.Deployments.match(&f) {
			out = append(out, f)
		}
	}
	o, ok := flowOrder(body.sortOr("NAME_ASC"))
	if !ok {
		return nil, body.listing, a.unsupported(req.op, "sort "+*body.Sort)
	}
	sortRows(out, o)
	return out, body.listing, nil
}

func (a *restAPI) readDeployments(req *restRequest) restAnswer {
	flows, l, refused := a.matchingFlows(req)
	if refused != nil {
		return *refused
	}
	out := []any{}
	for _, f := range page(flows, l.Offset, l.Limit) {
		if f.DeploymentID != "" {
			out = append(out, deploymentShape(f))
		}
	}
	return restAnswer{http.StatusOK, out}
}

func (a *restAPI) countDeployments(req *restRequest) restAnswer {
	flows, _, refused := a.matchingFlows(req)
	if refused != nil {
		return *refused
	}
	return restAnswer{http.StatusOK, len(flows)}
}

func (a *restAPI) readFlows(req *restRequest) restAnswer {
	flows, l, refused := a.matchingFlows(req)
	if refused != nil {
		return *refused
	}
	out := []any{}
	for _, f := range page(flows, l.Offset, l.Limit) {
		out = append(out, flowShape(f))
	}
	return restAnswer{http.StatusOK, out}
}

func (a *restAPI) countFlows(req *restRequest) restAnswer { return a.countDeployments(req) }

// deploymentByPath finds the deployment of the request's {id}.
func (a *restAPI) deploymentByPath(req *restRequest, notFound string) (Flow, *restAnswer) {
	f, ok := a.world().deployment[req.http.PathValue("id")]
	if !ok {
		return Flow{}, &restAnswer{http.StatusNotFound, map[string]any{"detail": notFound}}
	}
	return *f, nil
}

func (a *restAPI) readDeployment(req *restRequest) restAnswer {
	f, missing := a.deploymentByPath(req, "Deployment not found")
	if missing != nil {
		return *missing
	}
	return restAnswer{http.StatusOK, deploymentShape(f)}
}

// readDeploymentByName finds a deployment by its flow's name and its own:
// a World flow and its deployment share their name.
func (a *restAPI) readDeploymentByName(req *restRequest) restAnswer {
	flowName, name := req.http.PathValue("flow_name"), req.http.PathValue("deployment_name")
	for _, f := range a.world().flows {
		if f.DeploymentID != "" && f.Name == flowName && f.Name == name {
			return restAnswer{http.StatusOK, deploymentShape(f)}
		}
	}
	return restAnswer{http.StatusNotFound, map[string]any{"detail": "Deployment not found"}}
}

// updateDeployment models DeploymentUpdate's paused, version and
// job_variables: a key left out is left as it is (Prefect updates the
// keys that were set), a version null clears it, job_variables replaces
// the deployment's whole (null as {}).
func (a *restAPI) updateDeployment(req *restRequest) restAnswer {
	var body struct {
		Paused       *bool           `json:"paused"`
		Version      json.RawMessage `json:"version"`
		JobVariables json.RawMessage `json:"job_variables"`
	}
	if refused := a.model(req, &body); refused != nil {
		return *refused
	}
	f, missing := a.deploymentByPath(req, "Deployment not found.")
	if missing != nil {
		return *missing
	}
	change := DeploymentChange{Paused: body.Paused}
	if body.Version != nil {
		var version *string // null: ""
		if err := json.Unmarshal(body.Version, &version); err != nil {
			return *a.unsupported(req.op, "version "+string(body.Version))
		}
		change.Version = new(string)
		if version != nil {
			*change.Version = *version
		}
	}
	if body.JobVariables != nil {
		change.JobVariables = map[string]any{}
		dec := json.NewDecoder(bytes.NewReader(body.JobVariables))
		dec.UseNumber() // kept as sent
		if err := dec.Decode(&change.JobVariables); err != nil {
			return *a.unsupported(req.op, "job_variables "+string(body.JobVariables))
		}
		if change.JobVariables == nil { // null
			change.JobVariables = map[string]any{}
		}
	}
	if err := a.s.World.UpdateDeployment(f.DeploymentID, change); err != nil {
		return restAnswer{http.StatusNotFound, map[string]any{"detail": "Deployment not found."}}
	}
	return restAnswer{status: http.StatusNoContent}
}

func (a *restAPI) pauseDeployment(paused bool) restEndpoint {
	return func(req *restRequest) restAnswer {
		f, missing := a.deploymentByPath(req, "Deployment not found")
		if missing != nil {
			return *missing
		}
		if err := a.s.World.SetPaused(f.DeploymentID, paused); err != nil {
			return restAnswer{http.StatusNotFound, map[string]any{"detail": "Deployment not found"}}
		}
		return restAnswer{http.StatusOK, nil}
	}
}

// createFlowRun models DeploymentFlowRunCreate's idempotency_key alone:
// the run takes everything else from its deployment. 201 for a new run,
// 200 for the run the key already created.
func (a *restAPI) createFlowRun(req *restRequest) restAnswer {
	var body struct {
		IdempotencyKey *string `json:"idempotency_key"`
	}
	if refused := a.model(req, &body); refused != nil {
		return *refused
	}
	f, missing := a.deploymentByPath(req, "Deployment not found")
	if missing != nil {
		return *missing
	}
	key := ""
	if body.IdempotencyKey != nil {
		key = *body.IdempotencyKey
	}
	run, created, err := a.s.World.CreateRun(f.DeploymentID, key)
	if err != nil {
		return restAnswer{http.StatusNotFound, map[string]any{"detail": "Deployment not found"}}
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return restAnswer{status, flowRunShape(run, &f)}
}

// setFlowRunState orchestrates a proposed state as World.SetState decides
// (a finished run ABORTs, a cancelling one REJECTs a second cancel). 201
// when a new state was set, 200 otherwise.
func (a *restAPI) setFlowRunState(req *restRequest) restAnswer {
	var body struct {
		State struct {
			Type    string  `json:"type"`
			Name    *string `json:"name"`
			Message *string `json:"message"`
		} `json:"state"`
		Force bool `json:"force"`
	}
	if refused := a.model(req, &body); refused != nil {
		return *refused
	}
	if body.Force {
		return *a.unsupported(req.op, "force: true (transitions without orchestration)")
	}
	id := req.http.PathValue("id")
	decision, reason, run, err := a.s.World.SetState(id, body.State.Type)
	if err != nil {
		// Raised as ObjectNotFoundError, whose handler answers exception_message.
		return restAnswer{http.StatusNotFound, map[string]any{"exception_message": fmt.Sprintf("Flow run with id %s not found", id)}}
	}
	f := a.world().flowByID[run.FlowID]
	switch decision {
	case Accept:
		return restAnswer{http.StatusCreated, orchestrationShape(decision, reason, &run, f)}
	case Abort:
		return restAnswer{http.StatusOK, orchestrationShape(decision, reason, nil, f)}
	}
	return restAnswer{http.StatusOK, orchestrationShape(decision, reason, &run, f)}
}

// taskRunsBody is the body of /task_runs/filter and /task_runs/count.
type taskRunsBody struct {
	listing
	Flows       *flowFilter       `json:"flows"`
	FlowRuns    *flowRunFilter    `json:"flow_runs"`
	TaskRuns    *taskRunFilter    `json:"task_runs"`
	Deployments *deploymentFilter `json:"deployments"`
}

// matchingTaskRuns are the task runs the body's filters select, sorted,
// not paged.
func (a *restAPI) matchingTaskRuns(req *restRequest) ([]TaskRun, listing, *restAnswer) {
	var body taskRunsBody
	if refused := a.model(req, &body); refused != nil {
		return nil, body.listing, refused
	}
	w := a.world()
	runs := map[string]Run{}
	for _, r := range a.s.World.Runs() {
		runs[r.ID] = r
	}
	var out []TaskRun
	for _, t := range a.s.World.TaskRuns() {
		if !body.TaskRuns.match(t) {
			continue
		}
		if body.FlowRuns != nil || body.Flows != nil || body.Deployments != nil {
			// Joined on the flow run: a task run without one matches none.
			r, ok := runs[t.FlowRunID]
			f := w.flowByID[r.FlowID]
			if !ok || !body.FlowRuns.match(r, f) || !body.Flows.match(f) || !body.Deployments.match(f) {
				continue
			}
		}
		out = append(out, t)
	}
	o, ok := taskRunOrder(body.sortOr("ID_DESC"))
	if !ok {
		return nil, body.listing, a.unsupported(req.op, "sort "+*body.Sort)
	}
	sortRows(out, o)
	return out, body.listing, nil
}

func (a *restAPI) readTaskRuns(req *restRequest) restAnswer {
	tasks, l, refused := a.matchingTaskRuns(req)
	if refused != nil {
		return *refused
	}
	out := []any{}
	for _, t := range page(tasks, l.Offset, l.Limit) {
		out = append(out, taskRunShape(t))
	}
	return restAnswer{http.StatusOK, out}
}

func (a *restAPI) countTaskRuns(req *restRequest) restAnswer {
	tasks, _, refused := a.matchingTaskRuns(req)
	if refused != nil {
		return *refused
	}
	return restAnswer{http.StatusOK, len(tasks)}
}

func (a *restAPI) readLogs(req *restRequest) restAnswer {
	var body struct {
		listing
		Logs *logFilter `json:"logs"`
	}
	if refused := a.model(req, &body); refused != nil {
		return *refused
	}
	var logs []Log
	for _, l := range a.s.World.Logs() {
		if body.Logs.match(l) {
			logs = append(logs, l)
		}
	}
	o, ok := logOrder(body.sortOr("TIMESTAMP_ASC"))
	if !ok {
		return *a.unsupported(req.op, "sort "+*body.Sort)
	}
	sortRows(logs, o)
	out := []any{}
	for _, l := range page(logs, body.Offset, body.Limit) {
		out = append(out, logShape(l))
	}
	return restAnswer{http.StatusOK, out}
}

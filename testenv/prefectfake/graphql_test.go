package prefectfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// gqlAnswer is a decoded GraphQL answer.
type gqlAnswer struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	rawData json.RawMessage
}

func gqlPost(t *testing.T, s *Server, body map[string]any) gqlAnswer {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.GraphQLURL(), "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var decoded struct {
		Data   json.RawMessage `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&decoded); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	answer := gqlAnswer{Status: resp.StatusCode, rawData: decoded.Data}
	if len(decoded.Data) > 0 && string(decoded.Data) != "null" {
		if err := json.Unmarshal(decoded.Data, &answer.Data); err != nil {
			t.Fatalf("data is not an object: %s", decoded.Data)
		}
	}
	if len(decoded.Errors) > 0 {
		if err := json.Unmarshal(decoded.Errors, &answer.Errors); err != nil {
			t.Fatalf("errors is not a list: %s", decoded.Errors)
		}
	}
	return answer
}

func gqlQuery(t *testing.T, s *Server, document string, vars map[string]any) gqlAnswer {
	t.Helper()
	return gqlPost(t, s, map[string]any{"query": document, "variables": vars})
}

// gqlMustData fails unless the answer is a 200 without errors.
func gqlMustData(t *testing.T, a gqlAnswer) map[string]any {
	t.Helper()
	if a.Status != http.StatusOK || len(a.Errors) > 0 {
		t.Fatalf("answer %d, errors %+v", a.Status, a.Errors)
	}
	return a.Data
}

func gqlRowsOf(t *testing.T, v any) []map[string]any {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("not a list: %#v", v)
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		out[i] = item.(map[string]any)
	}
	return out
}

func TestGraphQLRejectsAnInvalidDocumentWith400(t *testing.T) {
	s := Start(t)
	a := gqlQuery(t, s, `{ flow_run { id no_such_column } }`, nil)
	if a.Status != http.StatusBadRequest || len(a.Errors) == 0 || a.rawData != nil {
		t.Fatalf("answer %d, data %s, errors %+v; want 400 with errors and no data", a.Status, a.rawData, a.Errors)
	}
	if code := a.Errors[0].Extensions["code"]; code != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("code %v, want GRAPHQL_VALIDATION_FAILED", code)
	}
	invalid := s.World.Invalid()
	if len(invalid) != 1 || !strings.HasPrefix(invalid[0], "graphql: ") || !strings.Contains(invalid[0], "no_such_column") {
		t.Errorf("Invalid() = %q, want the validation message", invalid)
	}
}

func TestGraphQLValidatesVariables(t *testing.T) {
	s := Start(t)
	doc := `query Run($id: uuid!) { flow_run_by_pk(id: $id) { id } }`
	for name, vars := range map[string]map[string]any{
		"null for a non-null variable": {"id": nil},
		"missing variable":             {},
		"malformed uuid":               {"id": "not-a-uuid"},
		"empty uuid":                   {"id": ""},
	} {
		t.Run(name, func(t *testing.T) {
			before := len(s.World.Invalid())
			if a := gqlQuery(t, s, doc, vars); a.Status != http.StatusBadRequest || len(a.Errors) == 0 {
				t.Fatalf("answer %d, errors %+v; want 400", a.Status, a.Errors)
			}
			if len(s.World.Invalid()) != before+1 {
				t.Errorf("the request was not recorded as invalid")
			}
		})
	}
	where := `query Runs($where: flow_run_bool_exp!) { flow_run(where: $where) { id } }`
	if a := gqlQuery(t, s, where, map[string]any{"where": map[string]any{"no_such_column": map[string]any{"_eq": 1}}}); a.Status != http.StatusBadRequest {
		t.Errorf("an unknown column inside a where variable: answer %d, want 400", a.Status)
	}
	if a := gqlQuery(t, s, where, map[string]any{"where": map[string]any{"start_time": map[string]any{"_lt": "yesterday"}}}); a.Status != http.StatusBadRequest {
		t.Errorf("a malformed timestamptz inside a where variable: answer %d, want 400", a.Status)
	}
}

func TestGraphQLNullFilterMatchesEveryRow(t *testing.T) {
	s := Start(t)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	now := time.Now().UTC()
	wanted := s.World.SucceededRun(flow, now.Add(-time.Hour))
	s.World.SucceededRun(flow, now.Add(-2*time.Hour))
	s.World.FailedRun(flow, now.Add(-3*time.Hour), "", "extract", "boom")

	byVariable := `query Run($id: uuid) { flow_run(where: {id: {_eq: $id}}) { id } }`
	if got := gqlRowsOf(t, gqlMustData(t, gqlQuery(t, s, byVariable, map[string]any{"id": nil}))["flow_run"]); len(got) != 3 {
		t.Errorf("{id: {_eq: null}} gave %d rows, want all 3 (Hasura drops the null)", len(got))
	}
	if got := gqlRowsOf(t, gqlMustData(t, gqlQuery(t, s, byVariable, map[string]any{"id": wanted.ID}))["flow_run"]); len(got) != 1 || got[0]["id"] != wanted.ID {
		t.Errorf("{id: {_eq: %s}} gave %v, want that run only", wanted.ID, got)
	}
	literal := `{ flow_run(where: {state: {_eq: null}, flow: {name: {_eq: null}}}) { id } }`
	if got := gqlRowsOf(t, gqlMustData(t, gqlQuery(t, s, literal, nil))["flow_run"]); len(got) != 3 {
		t.Errorf("literal nulls gave %d rows, want 3", len(got))
	}
	if len(s.World.Invalid()) != 0 {
		t.Errorf("valid requests recorded as invalid: %q", s.World.Invalid())
	}
}

func TestGraphQLFiltersOrdersAndProjectsLikeHasura(t *testing.T) {
	s := Start(t)
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	ports := s.World.AddFlow("Monitorfish - Ports", "")
	now := time.Now().UTC()
	old := s.World.SucceededRun(logbook, now.Add(-3*time.Hour))
	failed := s.World.FailedRun(logbook, now.Add(-2*time.Hour), "TriggerFailed", "extract", "boom")
	recent := s.World.SucceededRun(ports, now.Add(-time.Hour))
	s.World.AddRun(logbook, Run{StateType: Scheduled, ExpectedStart: now.Add(time.Hour)})

	doc := `query Recent($now: timestamptz!, $groups: [uuid!]!) {
	  runs: flow_run(where: {scheduled_start_time: {_lte: $now}, _or: [{state: {_eq: "Success"}}, {state: {_like: "%Failed"}}]},
	                 order_by: [{scheduled_start_time: desc}], limit: 2) {
	    __typename id state end_time flow { name flow_group_id }
	  }
	  of_logbook: flow_run(where: {flow: {flow_group_id: {_in: $groups}}, _not: {state: {_eq: "Scheduled"}}}, order_by: {end_time: asc_nulls_first}) { id end_time }
	  count: flow_run_aggregate(where: {state: {_neq: "Scheduled"}}) { aggregate { count } }
	}`
	data := gqlMustData(t, gqlQuery(t, s, doc, map[string]any{"now": now.Format(time.RFC3339Nano), "groups": []string{logbook.GroupID}}))
	runs := gqlRowsOf(t, data["runs"])
	if len(runs) != 2 || runs[0]["id"] != recent.ID || runs[1]["id"] != failed.ID {
		t.Fatalf("runs = %v, want the Ports run then the failed one", runs)
	}
	if runs[0]["__typename"] != "flow_run" || runs[0]["state"] != "Success" || runs[1]["state"] != "TriggerFailed" {
		t.Errorf("typename and Prefect 1 state names: %v", runs)
	}
	if flow := runs[0]["flow"].(map[string]any); flow["name"] != "Monitorfish - Ports" || flow["flow_group_id"] != ports.GroupID {
		t.Errorf("flow relationship: %v", flow)
	}
	if runs[1]["end_time"] != nil {
		t.Errorf("a TriggerFailed run has no end_time, got %v", runs[1]["end_time"])
	}
	ofLogbook := gqlRowsOf(t, data["of_logbook"])
	if len(ofLogbook) != 2 || ofLogbook[0]["id"] != failed.ID || ofLogbook[1]["id"] != old.ID {
		t.Errorf("of_logbook = %v, want the failed run (null end first) then the old one", ofLogbook)
	}
	if count := data["count"].(map[string]any)["aggregate"].(map[string]any)["count"]; count != float64(3) {
		t.Errorf("count = %v, want 3", count)
	}
	if end, _ := gqlRowsOf(t, data["of_logbook"])[1]["end_time"].(string); !strings.HasSuffix(end, "+00:00") {
		t.Errorf("timestamptz printed %q, want Hasura's +00:00 form", end)
	}
	if got := s.World.Requests()["graphql flow_run"]; got != 1 {
		t.Errorf("Requests()[graphql flow_run] = %d, want 1", got)
	}
}

func TestGraphQLMutations(t *testing.T) {
	s := Start(t)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	now := time.Now().UTC()
	done := s.World.SucceededRun(flow, now.Add(-time.Hour))
	running := s.World.StartRun(flow, now.Add(-time.Minute))

	create := `mutation Start($flow: UUID!, $key: String!) { create_flow_run(input: {flow_id: $flow, idempotency_key: $key}) { id } }`
	first := gqlMustData(t, gqlQuery(t, s, create, map[string]any{"flow": flow.ID, "key": "k1"}))["create_flow_run"].(map[string]any)["id"]
	second := gqlMustData(t, gqlQuery(t, s, create, map[string]any{"flow": flow.ID, "key": "k1"}))["create_flow_run"].(map[string]any)["id"]
	if first == nil || first != second || len(s.World.Runs()) != 3 {
		t.Errorf("create_flow_run twice with one key: %v then %v, %d runs; want one new run", first, second, len(s.World.Runs()))
	}
	if a := gqlQuery(t, s, create, map[string]any{"flow": flow.GroupID, "key": "k2"}); a.Status != http.StatusOK || a.Data != nil || len(a.Errors) == 0 {
		t.Errorf("create_flow_run of a flow group ID: %d %v %v; want a resolver error (flow_id is a flow version)", a.Status, a.Data, a.Errors)
	}

	cancel := `mutation Cancel($run: UUID!) { cancel_flow_run(input: {flow_run_id: $run}) { state } }`
	if state := gqlMustData(t, gqlQuery(t, s, cancel, map[string]any{"run": running.ID}))["cancel_flow_run"].(map[string]any)["state"]; state != "Cancelled" {
		t.Errorf("cancel a running run: state %v, want Cancelled", state)
	}
	a := gqlQuery(t, s, cancel, map[string]any{"run": done.ID})
	if a.Status != http.StatusOK || string(a.rawData) != "null" || len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Message, "finished") {
		t.Errorf("cancel a finished run: %d data %s errors %+v; want 200, data null, one error", a.Status, a.rawData, a.Errors)
	}

	inactive := `mutation Pause($flow: UUID!) { set_schedule_inactive(input: {flow_id: $flow}) { success error } }`
	if ok := gqlMustData(t, gqlQuery(t, s, inactive, map[string]any{"flow": flow.ID}))["set_schedule_inactive"].(map[string]any)["success"]; ok != true {
		t.Errorf("set_schedule_inactive: success %v", ok)
	}
	if f, _ := s.World.Flow(flow.ID); !f.Paused {
		t.Errorf("the flow is not paused")
	}
	if len(s.World.Invalid()) != 0 {
		t.Errorf("valid requests recorded as invalid: %q", s.World.Invalid())
	}
}

// TestGraphQLExampleDocuments runs every operation of
// example-documents.graphql: they validate and execute.
func TestGraphQLExampleDocuments(t *testing.T) {
	s := Start(t)
	text, err := os.ReadFile(filepath.Join(s.SchemaDir, "example-documents.graphql"))
	if err != nil {
		t.Fatalf("no example documents: %v", err)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: string(text)})
	if err != nil {
		t.Fatalf("parse the examples: %v", err)
	}
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	other := s.World.AddFlow("Monitorfish - Ports", "")
	now := time.Now().UTC()
	since := now.Add(-24 * time.Hour).Format(time.RFC3339Nano)
	failed := s.World.FailedRun(flow, now.Add(-time.Hour), "TriggerFailed", "extract", "psycopg2.OperationalError")
	running := s.World.StartRun(flow, now.Add(-time.Minute))
	vars := map[string]map[string]any{
		"ListFlows":           {"where": map[string]any{"archived": map[string]any{"_eq": false}}, "limit": 10},
		"RecentFlowRuns":      {"where": map[string]any{}, "limit": 10},
		"FlowRunDetail":       {"id": failed.ID},
		"NewFailedStates":     {"since": since, "states": []string{"Failed", "TriggerFailed"}, "limit": 10},
		"NewFailedRuns":       {"since": since, "states": []string{"Failed", "TriggerFailed"}},
		"FlowRunLogs":         {"flowRunId": failed.ID, "levels": []string{"ERROR"}, "limit": 10, "offset": 0},
		"FlowRunLogTail":      {"id": failed.ID, "limit": 2},
		"CreateFlowRun":       {"input": map[string]any{"flow_id": flow.ID, "idempotency_key": "example"}},
		"CancelFlowRun":       {"input": map[string]any{"flow_run_id": running.ID}},
		"SetScheduleActive":   {"input": map[string]any{"flow_id": other.ID}},
		"SetScheduleInactive": {"input": map[string]any{"flow_id": flow.ID}},
	}
	if len(doc.Operations) < 10 {
		t.Fatalf("only %d operations in the examples", len(doc.Operations))
	}
	results := map[string]map[string]any{}
	for _, op := range doc.Operations {
		a := gqlPost(t, s, map[string]any{"query": string(text), "operationName": op.Name, "variables": vars[op.Name]})
		if a.Status != http.StatusOK || len(a.Errors) > 0 {
			t.Errorf("%s: answer %d, errors %+v", op.Name, a.Status, a.Errors)
			continue
		}
		results[op.Name] = a.Data
	}
	if len(s.World.Invalid()) != 0 {
		t.Errorf("example documents recorded as invalid: %q", s.World.Invalid())
	}
	if runs := results["NewFailedRuns"]; runs != nil {
		got := gqlRowsOf(t, runs["flow_run"])
		if len(got) != 1 || got[0]["id"] != failed.ID || got[0]["end_time"] != nil {
			t.Errorf("NewFailedRuns = %v, want the TriggerFailed run, without end_time", got)
		}
	}
	if tail := results["FlowRunLogTail"]; tail != nil {
		logs := gqlRowsOf(t, tail["flow_run_by_pk"].(map[string]any)["logs"])
		if len(logs) != 2 || logs[0]["level"] != "ERROR" {
			t.Errorf("FlowRunLogTail logs = %v, want the last 2, newest first", logs)
		}
	}
	if detail := results["FlowRunDetail"]; detail != nil {
		tasks := gqlRowsOf(t, detail["flow_run_by_pk"].(map[string]any)["task_runs"])
		if len(tasks) != 1 || tasks[0]["task"].(map[string]any)["name"] != "extract" || tasks[0]["map_index"] != float64(-1) {
			t.Errorf("FlowRunDetail task runs = %v", tasks)
		}
	}
}

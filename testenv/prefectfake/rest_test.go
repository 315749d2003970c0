package prefectfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// restCall sends one request to the fake's REST API and returns the status
// and the body.
func restCall(t *testing.T, s *Server, method, path, body string) (int, []byte) {
	t.Helper()
	var payload io.Reader
	if body != "" {
		payload = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.RESTURL()+path, payload)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func decodeJSON[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// quietServer starts a fake that does not log the invalid requests the
// test sends on purpose.
func quietServer(t *testing.T) *Server {
	s := Start(t)
	s.Logf = nil
	return s
}

func TestRESTRefusesAnUnknownKeyWithPrefectsBody(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		loc        []any
	}{
		{"in a filter", `{"flow_runs":{"state":{"type":{"any_":["FAILED"]}},"bogus":1}}`, []any{"body", "flow_runs", "bogus"}},
		{"at the top", `{"flowruns":{"id":{"any_":[]}}}`, []any{"body", "flowruns"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := quietServer(t)
			status, data := restCall(t, s, http.MethodPost, "/flow_runs/filter", tc.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", status, data)
			}
			got := decodeJSON[struct {
				ExceptionMessage string          `json:"exception_message"`
				ExceptionDetail  []pydanticError `json:"exception_detail"`
				RequestBody      map[string]any  `json:"request_body"`
			}](t, data)
			if got.ExceptionMessage != "Invalid request received." || len(got.ExceptionDetail) != 1 || got.RequestBody == nil {
				t.Fatalf("body %s, want Prefect's validation error with one detail and the request body", data)
			}
			d := got.ExceptionDetail[0]
			if d.Type != "extra_forbidden" || d.Msg != "Extra inputs are not permitted" || !sameLoc(d.Loc, tc.loc) {
				t.Errorf("detail %+v, want extra_forbidden at %v", d, tc.loc)
			}
			if invalid := s.World.Invalid(); len(invalid) != 1 || !strings.HasPrefix(invalid[0], "rest: POST /api/flow_runs/filter") {
				t.Errorf("Invalid() = %q, want the request recorded", invalid)
			}
		})
	}
}

func sameLoc(got, want []any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return bytes.Equal(a, b)
}

func TestRESTRefusesALimitAbove200(t *testing.T) {
	s := quietServer(t)
	status, data := restCall(t, s, http.MethodPost, "/logs/filter", `{"limit":201}`)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", status)
	}
	if got := decodeJSON[map[string]any](t, data); got["detail"] != "Invalid limit: must be less than or equal to 200." {
		t.Errorf("body %s, want the limit's detail", data)
	}
	if len(s.World.Invalid()) != 1 {
		t.Errorf("Invalid() = %q, want the request recorded", s.World.Invalid())
	}
}

func TestRESTRefusesWhatTheSchemaRefuses(t *testing.T) {
	for _, tc := range []struct{ name, method, path, body, wantType string }{
		{"a run ID that is not a UUID", "POST", "/flow_runs/filter", `{"flow_runs":{"id":{"any_":["run-1"]}}}`, "uuid_parsing"},
		{"an unknown sort", "POST", "/flow_runs/filter", `{"sort":"END_TIME_ASC"}`, "enum"},
		{"an unknown state type", "POST", "/flow_runs/filter", `{"flow_runs":{"state":{"type":{"any_":["TIMEDOUT"]}}}}`, "enum"},
		{"a time that is not one", "POST", "/flow_runs/filter", `{"flow_runs":{"end_time":{"after_":"yesterday"}}}`, "datetime_parsing"},
		{"a set_state without state", "POST", "/flow_runs/00000001-0000-4000-8004-000000000001/set_state", `{"force":false}`, "missing"},
		{"a PATCH with a read-only key", "PATCH", "/deployments/00000001-0000-4000-8003-000000000001", `{"paused":true,"name":"x"}`, "extra_forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := quietServer(t)
			status, data := restCall(t, s, tc.method, tc.path, tc.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", status, data)
			}
			got := decodeJSON[struct {
				Detail []pydanticError `json:"exception_detail"`
			}](t, data)
			if len(got.Detail) == 0 || got.Detail[0].Type != tc.wantType {
				t.Errorf("details %s, want first %s", data, tc.wantType)
			}
			if len(s.World.Invalid()) != 1 {
				t.Errorf("Invalid() = %q, want the request recorded", s.World.Invalid())
			}
		})
	}
}

func TestRESTAnswersAValidFilter(t *testing.T) {
	s := Start(t)
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	beacons := s.World.AddFlow("Monitorfish - Beacons", "")
	failed := s.World.FailedRun(logbook, now.Add(-time.Hour), "", "extract", "boom")
	s.World.SucceededRun(logbook, now.Add(-30*time.Minute))
	s.World.FailedRun(beacons, now.Add(-10*time.Minute), "Crashed", "")

	body := `{"flow_runs":{"deployment_id":{"any_":["` + logbook.DeploymentID + `"]},"state":{"type":{"any_":["FAILED","CRASHED"]}}},
		"sort":"EXPECTED_START_TIME_DESC","limit":10,"offset":0}`
	status, data := restCall(t, s, http.MethodPost, "/flow_runs/filter", body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, data)
	}
	runs := decodeJSON[[]map[string]any](t, data)
	if len(runs) != 1 || runs[0]["id"] != failed.ID || runs[0]["deployment_id"] != logbook.DeploymentID {
		t.Errorf("runs %s, want the failed run of Logbook alone", data)
	}
	if invalid := s.World.Invalid(); len(invalid) != 0 {
		t.Errorf("Invalid() = %q", invalid)
	}
	if n := s.World.Requests()["POST /flow_runs/filter"]; n != 1 {
		t.Errorf(`Requests()["POST /flow_runs/filter"] = %d, want 1`, n)
	}
}

func TestRESTFiltersAndSortsLikePrefect(t *testing.T) {
	s := Start(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	ahead := s.World.AddRun(flow, Run{StateType: Scheduled, ExpectedStart: now.Add(time.Hour)}) // created first, scheduled ahead
	old := s.World.AddRun(flow, Run{StateType: Completed, ExpectedStart: now.Add(-2 * time.Hour), Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)})
	recent := s.World.AddRun(flow, Run{StateType: Running, ExpectedStart: now.Add(-time.Minute), Start: now.Add(-time.Minute)})

	ids := func(body string) []string {
		t.Helper()
		status, data := restCall(t, s, http.MethodPost, "/flow_runs/filter", body)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, data)
		}
		var out []string
		for _, r := range decodeJSON[[]map[string]any](t, data) {
			out = append(out, r["id"].(string))
		}
		return out
	}
	want := func(name string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	stamp := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	want("default sort is creation order, newest first", ids(`{}`), recent.ID, old.ID, ahead.ID)
	want("expected start, newest first", ids(`{"sort":"EXPECTED_START_TIME_DESC"}`), ahead.ID, recent.ID, old.ID)
	want("start_time after_ compares COALESCE(start_time, expected_start_time)",
		ids(`{"flow_runs":{"start_time":{"after_":"`+stamp(now.Add(-10*time.Minute))+`"}}}`), recent.ID, ahead.ID)
	want("expected_start_time before_ now", ids(`{"flow_runs":{"expected_start_time":{"before_":"`+stamp(now)+`"}},"sort":"EXPECTED_START_TIME_DESC"}`), recent.ID, old.ID)
	want("end time, newest first, NULL first as in PostgreSQL", ids(`{"sort":"END_TIME_DESC"}`), ahead.ID, recent.ID, old.ID)
	want("or_", ids(`{"flow_runs":{"operator":"or_","id":{"any_":["`+old.ID+`"]},"state":{"type":{"any_":["RUNNING"]}}}}`), recent.ID, old.ID)
	want("is_null_", ids(`{"flow_runs":{"start_time":{"is_null_":true}}}`), ahead.ID)
	want("offset and limit", ids(`{"sort":"EXPECTED_START_TIME_DESC","offset":1,"limit":1}`), recent.ID)

	status, data := restCall(t, s, http.MethodPost, "/flow_runs/count", `{"flow_runs":{"state":{"type":{"any_":["COMPLETED"]}}}}`)
	if status != http.StatusOK || string(data) != "1" {
		t.Errorf("count: %d %s, want 1", status, data)
	}
	if invalid := s.World.Invalid(); len(invalid) != 0 {
		t.Errorf("Invalid() = %q", invalid)
	}
}

func TestRESTCreatesARunOncePerIdempotencyKey(t *testing.T) {
	s := Start(t)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	path := "/deployments/" + flow.DeploymentID + "/create_flow_run"
	status1, first := restCall(t, s, http.MethodPost, path, `{"idempotency_key":"mfbot-42"}`)
	status2, second := restCall(t, s, http.MethodPost, path, `{"idempotency_key":"mfbot-42"}`)
	if status1 != http.StatusCreated || status2 != http.StatusOK {
		t.Fatalf("statuses %d then %d, want 201 then 200", status1, status2)
	}
	a, b := decodeJSON[map[string]any](t, first), decodeJSON[map[string]any](t, second)
	if a["id"] != b["id"] || a["state_type"] != Scheduled || a["deployment_id"] != flow.DeploymentID {
		t.Errorf("runs %s and %s, want one scheduled run of the deployment", first, second)
	}
	if n := len(s.World.Runs()); n != 1 {
		t.Errorf("the World has %d runs, want 1", n)
	}
	if status, _ := restCall(t, s, http.MethodPost, "/deployments/"+flow.ID+"/create_flow_run", `{}`); status != http.StatusNotFound {
		t.Errorf("create_flow_run on a flow ID: %d, want 404", status)
	}
}

func TestRESTOrchestratesCancellation(t *testing.T) {
	s := Start(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	running := s.World.StartRun(flow, now.Add(-time.Minute))
	finished := s.World.SucceededRun(flow, now.Add(-time.Hour))
	cancel := `{"state":{"type":"CANCELLING"},"force":false}`
	for _, tc := range []struct {
		name, runID, wantStatus string
		wantCode                int
		wantState               bool
	}{
		{"a running run", running.ID, Accept, http.StatusCreated, true},
		{"a run being cancelled", running.ID, Reject, http.StatusOK, true},
		{"a finished run", finished.ID, Abort, http.StatusOK, false},
	} {
		code, data := restCall(t, s, http.MethodPost, "/flow_runs/"+tc.runID+"/set_state", cancel)
		got := decodeJSON[map[string]any](t, data)
		if code != tc.wantCode || got["status"] != tc.wantStatus || (got["state"] != nil) != tc.wantState {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, data, tc.wantCode, tc.wantStatus)
		}
	}
	code, data := restCall(t, s, http.MethodPost, "/flow_runs/00000000-0000-4000-8000-000000000000/set_state", cancel)
	if code != http.StatusNotFound || !strings.Contains(string(data), "exception_message") {
		t.Errorf("unknown run: %d %s, want 404 with exception_message", code, data)
	}
}

func TestRESTAnswersNotFoundAndNotImplemented(t *testing.T) {
	s := quietServer(t)
	for _, tc := range []struct {
		method, path, body string
		wantCode           int
		recorded           bool
	}{
		{"GET", "/flow_runs/00000000-0000-4000-8000-000000000000", "", http.StatusNotFound, false},
		{"GET", "/deployments/00000000-0000-4000-8000-000000000000", "", http.StatusNotFound, false},
		{"GET", "/flow_runs/run-1", "", http.StatusNotFound, true},                                                         // no route: not a UUID
		{"POST", "/flow_runs/filter", `{"flow_runs":{"work_queue_name":{"any_":["x"]}}}`, http.StatusNotImplemented, true}, // valid, not modelled
		{"GET", "/nowhere", "", http.StatusNotFound, true},
	} {
		before := len(s.World.Invalid())
		code, data := restCall(t, s, tc.method, tc.path, tc.body)
		recorded := len(s.World.Invalid()) > before
		if code != tc.wantCode || recorded != tc.recorded {
			t.Errorf("%s %s: %d %s (recorded %v), want %d (recorded %v)", tc.method, tc.path, code, data, recorded, tc.wantCode, tc.recorded)
		}
	}
}

// TestRESTAnswersInTheDocumentsShapes validates the fake's answers against
// the response schemas of the OpenAPI document.
func TestRESTAnswersInTheDocumentsShapes(t *testing.T) {
	s := Start(t)
	doc, err := loadOpenAPI(s.SchemaDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	failed := s.World.FailedRun(flow, now.Add(-time.Hour), "TimedOut", "extract", "boom")
	running := s.World.StartRun(flow, now.Add(-time.Minute))
	s.World.CreateRun(flow.DeploymentID, "key")
	unregistered := s.World.AddFlow("Monitorfish - Beacons", "")
	if err := s.World.SetDeployment(unregistered.ID, "", ""); err != nil { // version null, job_variables {}
		t.Fatal(err)
	}

	for _, tc := range []struct{ method, path, body, schema string }{
		{"POST", "/flow_runs/filter", `{}`, "FlowRunResponse"},
		{"GET", "/flow_runs/" + failed.ID, "", "FlowRunResponse"},
		{"POST", "/deployments/filter", `{}`, "DeploymentResponse"},
		{"GET", "/deployments/" + flow.DeploymentID, "", "DeploymentResponse"},
		{"GET", "/deployments/name/Monitorfish%20-%20Logbook/Monitorfish%20-%20Logbook", "", "DeploymentResponse"},
		{"GET", "/deployments/" + unregistered.DeploymentID, "", "DeploymentResponse"},
		{"POST", "/flows/filter", `{}`, "Flow"},
		{"POST", "/task_runs/filter", `{}`, "TaskRun"},
		{"POST", "/logs/filter", `{}`, "Log"},
		{"POST", "/flow_runs/" + running.ID + "/set_state", `{"state":{"type":"CANCELLING"}}`, "OrchestrationResult"},
		{"POST", "/flow_runs/" + failed.ID + "/set_state", `{"state":{"type":"CANCELLING"}}`, "OrchestrationResult"},
	} {
		code, data := restCall(t, s, tc.method, tc.path, tc.body)
		if code/100 != 2 {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, code, data)
			continue
		}
		schema, err := doc.schema(tc.schema)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		items, isList := v.([]any)
		if !isList {
			items = []any{v}
		}
		if len(items) == 0 {
			t.Errorf("%s %s: empty answer", tc.method, tc.path)
		}
		for _, item := range items {
			if err := schema.Validate(item); err != nil {
				t.Errorf("%s %s: not a %s: %v", tc.method, tc.path, tc.schema, err)
				break
			}
		}
	}
}

func TestRESTKeepsADeploymentsVersionAndImage(t *testing.T) {
	s := Start(t)
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	beacons := s.World.AddFlow("Monitorfish - Beacons", "")
	if v, image := s.World.DeploymentVersion(logbook.DeploymentID); v != DeploymentVersion || image != PipelineImage+":"+DeploymentVersion {
		t.Errorf("a new deployment carries %q, %q; want %s and the pipeline image at it", v, image, DeploymentVersion)
	}
	type deployment struct {
		ID           string         `json:"id"`
		Version      *string        `json:"version"`
		Paused       bool           `json:"paused"`
		JobVariables map[string]any `json:"job_variables"`
	}
	read := func(path string) deployment {
		t.Helper()
		code, data := restCall(t, s, http.MethodGet, path, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, data)
		}
		return decodeJSON[deployment](t, data)
	}

	path := "/deployments/" + logbook.DeploymentID
	code, data := restCall(t, s, http.MethodPatch, path, `{"version":"v2","job_variables":{"image":"ghcr.io/x/pipeline:v2","env":{"A":"1"}}}`)
	if code != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s, want 204", code, data)
	}
	if v, image := s.World.DeploymentVersion(logbook.ID); v != "v2" || image != "ghcr.io/x/pipeline:v2" {
		t.Errorf("after the PATCH: %q, %q", v, image)
	}
	byID := read(path)
	byName := read("/deployments/name/Monitorfish%20-%20Logbook/Monitorfish%20-%20Logbook")
	code, data = restCall(t, s, http.MethodPost, "/deployments/filter", `{"sort":"NAME_ASC","limit":200,"offset":0}`)
	if code != http.StatusOK {
		t.Fatalf("filter: %d %s", code, data)
	}
	listed := decodeJSON[[]deployment](t, data)
	if len(listed) != 2 || listed[1].ID != logbook.DeploymentID || listed[0].ID != beacons.DeploymentID {
		t.Fatalf("filter: %s", data)
	}
	for what, d := range map[string]deployment{"by ID": byID, "by name": byName, "filtered": listed[1]} {
		if d.ID != logbook.DeploymentID || d.Version == nil || *d.Version != "v2" || d.JobVariables["image"] != "ghcr.io/x/pipeline:v2" ||
			d.JobVariables["env"].(map[string]any)["A"] != "1" || d.Paused {
			t.Errorf("read %s: %+v, want version v2 and the job variables sent", what, d)
		}
	}
	if d := listed[0]; d.Version == nil || *d.Version != DeploymentVersion {
		t.Errorf("the other deployment changed: %+v", d)
	}

	// Keys left out stay; paused alone touches neither; null clears.
	if code, data := restCall(t, s, http.MethodPatch, path, `{"paused":true}`); code != http.StatusNoContent {
		t.Fatalf("PATCH paused: %d %s", code, data)
	}
	if d := read(path); !d.Paused || d.Version == nil || *d.Version != "v2" || d.JobVariables["image"] != "ghcr.io/x/pipeline:v2" {
		t.Errorf("after paused alone: %+v", d)
	}
	if code, data := restCall(t, s, http.MethodPatch, path, `{"version":null,"job_variables":{"image":"ghcr.io/x/pipeline:v3"}}`); code != http.StatusNoContent {
		t.Fatalf("PATCH null version: %d %s", code, data)
	}
	if d := read(path); d.Version != nil || len(d.JobVariables) != 1 || d.JobVariables["image"] != "ghcr.io/x/pipeline:v3" || !d.Paused {
		t.Errorf("after version null and new job variables: %+v, want no version, the image alone (replaced whole)", d)
	}
	if code, data := restCall(t, s, http.MethodPatch, path, `{"job_variables":null}`); code != http.StatusNoContent {
		t.Fatalf("PATCH null job_variables: %d %s", code, data)
	}
	if v, image := s.World.DeploymentVersion(path[len("/deployments/"):]); v != "" || image != "" {
		t.Errorf("after job_variables null: %q, %q; want none", v, image)
	}
	if d := read(path); d.JobVariables == nil || len(d.JobVariables) != 0 {
		t.Errorf("job_variables null read back as %v, want {}", d.JobVariables)
	}
	if code, _ := restCall(t, s, http.MethodGet, "/deployments/name/Monitorfish%20-%20Logbook/production", ""); code != http.StatusNotFound {
		t.Errorf("an unknown name: %d, want 404", code)
	}
	if invalid := s.World.Invalid(); len(invalid) != 0 {
		t.Errorf("Invalid() = %q", invalid)
	}
	if err := s.World.SetDeployment(beacons.ID, "v9", "repo:v9"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.World.Flow(beacons.DeploymentID); f.Version != "v9" || f.JobVariables["image"] != "repo:v9" {
		t.Errorf("SetDeployment: %+v", f)
	}
	if err := s.World.SetDeployment("00000000-0000-4000-8000-000000000000", "v9", ""); err == nil {
		t.Error("SetDeployment of no flow: no error")
	}
}

func TestRESTRefusesAnInvalidDeploymentUpdate(t *testing.T) {
	s := quietServer(t)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	path := "/deployments/" + flow.DeploymentID
	for _, tc := range []struct{ body, wantType string }{
		{`{"version":2}`, "string_type"},
		{`{"job_variables":"image=x"}`, "dict_type"},
		{`{"version":"v2","image":"x"}`, "extra_forbidden"},
	} {
		code, data := restCall(t, s, http.MethodPatch, path, tc.body)
		got := decodeJSON[struct {
			Detail []pydanticError `json:"exception_detail"`
		}](t, data)
		if code != http.StatusUnprocessableEntity || len(got.Detail) == 0 || got.Detail[0].Type != tc.wantType {
			t.Errorf("PATCH %s: %d %s, want 422 %s", tc.body, code, data, tc.wantType)
		}
	}
	if v, image := s.World.DeploymentVersion(flow.ID); v != DeploymentVersion || image != PipelineImage+":"+DeploymentVersion {
		t.Errorf("refused PATCHes changed the deployment: %q, %q", v, image)
	}
	if n := len(s.World.Invalid()); n != 3 {
		t.Errorf("Invalid() = %q, want the 3 requests", s.World.Invalid())
	}
}

package prefect

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/config"
	"mfbot/pipeline"
	"mfbot/testenv/prefectfake"
)

// restSent is one request as the REST client sent it.
type restSent struct {
	Method, Path, Body string
}

// restRecorder records the requests a client sends and may rewrite their
// JSON bodies (to make the fake refuse them).
type restRecorder struct {
	mu      sync.Mutex
	sent    []restSent
	rewrite func(body map[string]any)
}

func (r *restRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	if r.rewrite != nil && len(body) > 0 {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err == nil {
			r.rewrite(v)
			body, _ = json.Marshal(v)
		}
	}
	r.mu.Lock()
	r.sent = append(r.sent, restSent{req.Method, strings.TrimPrefix(req.URL.Path, "/api"), string(body)})
	r.mu.Unlock()
	req = req.Clone(req.Context())
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return http.DefaultTransport.RoundTrip(req)
}

func (r *restRecorder) requests() []restSent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]restSent(nil), r.sent...)
}

// startREST starts the fake and a REST client of it, recording what the
// client sends. At the end the test fails if a request did not validate
// or if a body other than a PATCH of a deployment carried "paused".
func startREST(t *testing.T, configure ...func(*Options)) (*prefectfake.Server, *restClient, *restRecorder) {
	t.Helper()
	s := prefectfake.Start(t)
	rec := &restRecorder{}
	o := Options{URL: s.RESTURL(), Flavor: config.PrefectREST, Transport: rec, Timeout: 5 * time.Second}
	for _, c := range configure {
		c(&o)
	}
	api, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if invalid := s.World.Invalid(); len(invalid) > 0 {
			t.Errorf("mfbot sent requests Prefect refuses: %q", invalid)
		}
		for _, r := range rec.requests() {
			if strings.Contains(r.Body, `"paused"`) && (r.Method != http.MethodPatch || r.Body != `{"paused":true}` && r.Body != `{"paused":false}`) {
				t.Errorf("%s %s sends paused: %s", r.Method, r.Path, r.Body)
			}
		}
	})
	return s, api.(*restClient), rec
}

// expectRefusals lets a test send invalid requests on purpose.
func expectRefusals(s *prefectfake.Server) { s.Logf = nil }

func restCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func runIDs(runs []pipeline.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func sameIDs(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

func TestRESTVersionAndRunURL(t *testing.T) {
	s, api, _ := startREST(t)
	version, err := api.Version(restCtx(t))
	if err != nil || version != "Prefect 3.6.9" {
		t.Errorf("Version() = %q, %v; want Prefect 3.6.9", version, err)
	}
	if got := api.RunURL("abc"); got != "" {
		t.Errorf("RunURL without UI = %q, want none", got)
	}
	withUI, err := New(Options{URL: s.RESTURL(), Flavor: config.PrefectREST, UIURL: "https://prefect.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if got := withUI.RunURL("abc"); got != "https://prefect.example/runs/flow-run/abc" {
		t.Errorf("RunURL = %q", got)
	}
}

func TestRESTFlows(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	beacons := s.World.AddFlow("Monitorfish - Beacons", "*/5 * * * *")
	manual := s.World.AddFlow("Monitorfish - Manual", "")
	if err := s.World.SetPaused(beacons.DeploymentID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.World.SetDeployment(beacons.DeploymentID, "v2.1.0", "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3:v2.1.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.World.SetDeployment(manual.DeploymentID, "", ""); err != nil { // never registered: version null, job_variables {}
		t.Fatal(err)
	}
	last := s.World.SucceededRun(logbook, now.Add(-time.Minute))
	s.World.SucceededRun(logbook, now.Add(-time.Hour))
	s.World.AddRun(logbook, prefectfake.Run{StateType: prefectfake.Scheduled, ExpectedStart: now.Add(time.Minute)}) // created last, scheduled ahead

	flows, err := api.Flows(restCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, name, schedule string
		active             bool
		lastRun            string
		version, image     string
	}{
		{beacons.DeploymentID, "Monitorfish - Beacons", "*/5 * * * * (UTC)", false, "",
			"v2.1.0", "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3:v2.1.0"},
		{logbook.DeploymentID, "Monitorfish - Logbook", "*/1 * * * * (UTC)", true, last.ID,
			prefectfake.DeploymentVersion, prefectfake.PipelineImage + ":" + prefectfake.DeploymentVersion},
		{manual.DeploymentID, "Monitorfish - Manual", "", false, "", "", ""},
	}
	if len(flows) != len(want) {
		t.Fatalf("Flows() = %+v, want %d flows", flows, len(want))
	}
	for i, w := range want {
		f := flows[i]
		lastRun := ""
		if f.LastRun != nil {
			lastRun = f.LastRun.ID
			if f.LastRun.FlowName != f.Name || f.LastRun.FlowID != f.ID || !f.LastRun.State.Success() {
				t.Errorf("%s: last run %+v", f.Name, *f.LastRun)
			}
		}
		if f.ID != w.id || f.Name != w.name || f.Schedule != w.schedule || f.ScheduleActive != w.active || lastRun != w.lastRun ||
			f.Version != w.version || f.Image != w.image {
			t.Errorf("flow %d = {%s %s %q active %v last %s version %q image %q}, want %+v",
				i, f.ID, f.Name, f.Schedule, f.ScheduleActive, lastRun, f.Version, f.Image, w)
		}
	}
	if got := s.World.Requests(); got["POST /deployments/filter"] != 1 || got["POST /flows/filter"] != 1 || got["POST /flow_runs/filter"] != 1 {
		t.Errorf("requests %v, want one of each", got)
	}
	s.World.ResetRequests()
	if _, err := api.Flows(restCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := s.World.TotalRequests(); got != 2 {
		t.Errorf("a second Flows() made %d requests (%v), want 2: the flows' names are known", got, s.World.Requests())
	}
}

func TestRESTDeploymentVersionAndImage(t *testing.T) {
	for _, tc := range []struct{ body, version, image string }{
		{`{"version":"v1.54.0","job_variables":{"image":"ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3:v1.54.0","env":{}}}`,
			"v1.54.0", "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline-prefect3:v1.54.0"},
		{`{"version":null,"job_variables":{}}`, "", ""},
		{`{}`, "", ""},
		{`{"job_variables":null}`, "", ""},
		{`{"version":"v2","job_variables":{"image":null}}`, "v2", ""},
		{`{"version":"v2","job_variables":{"image":{"name":"x"}}}`, "v2", ""},
		{`{"job_variables":{"image":42}}`, "", ""},
		{`{"job_variables":["image"]}`, "", ""},
	} {
		var d deploymentJSON
		if err := json.Unmarshal([]byte(tc.body), &d); err != nil {
			t.Errorf("decode %s: %v", tc.body, err)
			continue
		}
		if d.Version != tc.version || d.image() != tc.image {
			t.Errorf("%s: version %q image %q, want %q %q", tc.body, d.Version, d.image(), tc.version, tc.image)
		}
	}
}

func TestRESTFlowNames(t *testing.T) {
	byFlow := map[string]string{"f1": "Monitorfish - Logbook", "f2": "etl", "f3": "sync"}
	names := deploymentNames([]deploymentJSON{
		{ID: "d1", Name: "Monitorfish - Logbook", FlowID: "f1"},
		{ID: "d2", Name: "production", FlowID: "f2"},
		{ID: "d3", Name: "prod", FlowID: "f3"}, {ID: "d4", Name: "backfill", FlowID: "f3"},
		{ID: "d5", Name: "orphan", FlowID: "f9"},
	}, byFlow)
	want := map[string]string{"d1": "Monitorfish - Logbook", "d2": "etl", "d3": "sync/prod", "d4": "sync/backfill", "d5": "orphan"}
	for id, name := range want {
		if names[id] != name {
			t.Errorf("name of %s = %q, want %q", id, names[id], name)
		}
	}
}

func TestRESTScheduleText(t *testing.T) {
	schedule := func(active bool, cron string, interval float64, tz string) deploymentSchedule {
		var s deploymentSchedule
		s.Active, s.Schedule.Cron, s.Schedule.Interval, s.Schedule.Timezone = active, cron, interval, tz
		return s
	}
	for _, tc := range []struct {
		schedules []deploymentSchedule
		text      string
		active    bool
	}{
		{nil, "", false},
		{[]deploymentSchedule{schedule(true, "*/1 * * * *", 0, "UTC")}, "*/1 * * * * (UTC)", true},
		{[]deploymentSchedule{schedule(true, "0 6 * * *", 0, "")}, "0 6 * * *", true},
		{[]deploymentSchedule{schedule(true, "", 120, "UTC")}, "every 2 min", true},
		{[]deploymentSchedule{schedule(true, "", 7200, "")}, "every 2 h", true},
		{[]deploymentSchedule{schedule(true, "", 90, "")}, "every 90 s", true},
		{[]deploymentSchedule{schedule(false, "0 6 * * *", 0, "UTC")}, "0 6 * * * (UTC)", false},
		{[]deploymentSchedule{schedule(false, "0 6 * * *", 0, "UTC"), schedule(true, "", 86400, "")}, "every 1 d", true},
	} {
		text, active := describeSchedules(tc.schedules)
		if text != tc.text || active != tc.active {
			t.Errorf("describeSchedules(%+v) = %q, %v; want %q, %v", tc.schedules, text, active, tc.text, tc.active)
		}
	}
}

func TestRESTRunsLeaveOutRunsScheduledAhead(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	beacons := s.World.AddFlow("Monitorfish - Beacons", "*/1 * * * *")
	// Created in this order; expected to start in another.
	recent := s.World.AddRun(logbook, prefectfake.Run{StateType: prefectfake.Running, ExpectedStart: now.Add(-time.Minute), Start: now.Add(-time.Minute)})
	ahead := s.World.AddRun(logbook, prefectfake.Run{StateType: prefectfake.Scheduled, ExpectedStart: now.Add(10 * time.Minute)})
	timedOut := s.World.FailedRun(logbook, now.Add(-time.Hour), "TimedOut", "extract", "timeout")
	crashed := s.World.FailedRun(beacons, now.Add(-2*time.Hour), "Crashed", "")
	cancelled := s.World.AddRun(beacons, prefectfake.Run{StateType: prefectfake.Cancelled, ExpectedStart: now.Add(-30 * time.Minute)})

	runs, err := api.Runs(restCtx(t), pipeline.RunQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(runs), recent.ID, cancelled.ID, timedOut.ID, crashed.ID) {
		t.Errorf("Runs() = %v, want the runs by expected start, newest first, without %s (scheduled ahead)", runIDs(runs), ahead.ID)
	}
	if r := runs[0]; r.FlowName != "Monitorfish - Logbook" || r.FlowID != logbook.DeploymentID || r.State.Type != pipeline.Running || r.Start.IsZero() {
		t.Errorf("run %+v, want Logbook's, running", r)
	}

	failed, err := api.Runs(restCtx(t), pipeline.RunQuery{Failed: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(failed), timedOut.ID, crashed.ID) || failed[0].State.Name != "TimedOut" || !failed[1].State.Failure() {
		t.Errorf("failed runs %+v, want TimedOut then Crashed", failed)
	}

	flows, err := api.Flows(restCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	onlyBeacons := []pipeline.Flow{flows[0]} // by name: Beacons first
	ofBeacons, err := api.Runs(restCtx(t), pipeline.RunQuery{Flows: onlyBeacons, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(ofBeacons), cancelled.ID) || ofBeacons[0].FlowName != "Monitorfish - Beacons" {
		t.Errorf("Beacons' last run %+v, want %s", ofBeacons, cancelled.ID)
	}
	if none, err := api.Runs(restCtx(t), pipeline.RunQuery{Flows: []pipeline.Flow{}}); err != nil || len(none) != 0 {
		t.Errorf("runs of no flow = %v, %v; want none", none, err)
	}
}

func TestRESTRunsPageBeyond200(t *testing.T) {
	s, api, rec := startREST(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	for i := range 450 {
		s.World.AddRun(flow, prefectfake.Run{StateType: prefectfake.Completed, ExpectedStart: now.Add(-time.Duration(i+1) * time.Minute)})
	}
	if _, err := api.Runs(restCtx(t), pipeline.RunQuery{Limit: 1}); err != nil { // learns the names
		t.Fatal(err)
	}
	s.World.ResetRequests()
	runs, err := api.Runs(restCtx(t), pipeline.RunQuery{Limit: 420})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 420 {
		t.Fatalf("%d runs, want 420", len(runs))
	}
	for i := 1; i < len(runs); i++ {
		if !runs[i].ExpectedStart.Before(runs[i-1].ExpectedStart) {
			t.Fatalf("run %d expected at %s, after run %d's %s", i, runs[i].ExpectedStart, i-1, runs[i-1].ExpectedStart)
		}
	}
	if n := s.World.Requests()["POST /flow_runs/filter"]; n != 3 {
		t.Errorf("%d requests, want 3 pages", n)
	}
	var pages []string
	for _, r := range rec.requests()[len(rec.requests())-3:] {
		var q struct{ Limit, Offset int }
		json.Unmarshal([]byte(r.Body), &q)
		pages = append(pages, fmt.Sprintf("%d+%d", q.Offset, q.Limit))
	}
	if strings.Join(pages, " ") != "0+200 200+200 400+20" {
		t.Errorf("pages %v, want offset+limit 0+200 200+200 400+20", pages)
	}
}

func TestRESTFinishedSinceIsOneRequest(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	since := now.Add(-5 * time.Minute)
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	s.World.SucceededRun(logbook, since.Add(-time.Minute)) // ended before since
	long := s.World.StartRun(logbook, now.Add(-3*time.Hour))
	s.World.Finish(long.ID, prefectfake.Failed, "", "Flow run encountered an exception.", now.Add(-time.Minute))
	quick := s.World.SucceededRun(logbook, now.Add(-3*time.Minute))
	s.World.StartRun(logbook, now.Add(-2*time.Minute)) // running: not finished

	runs, err := api.FinishedSince(restCtx(t), since, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(runs), quick.ID, long.ID) {
		t.Fatalf("FinishedSince() = %v, want %s then %s (oldest end first)", runIDs(runs), quick.ID, long.ID)
	}
	if r := runs[1]; !r.State.Failure() || r.FlowName != "Monitorfish - Logbook" || r.FlowID != logbook.DeploymentID || r.End.IsZero() {
		t.Errorf("the long run: %+v", r)
	}

	// Steady state: the names are known, a poll is one request.
	s.World.ResetRequests()
	for range 3 {
		if _, err := api.FinishedSince(restCtx(t), since, 200); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.World.Requests(); got["POST /flow_runs/filter"] != 3 || s.World.TotalRequests() != 3 {
		t.Errorf("3 polls made %v, want 3 requests", got)
	}
}

func TestRESTFinishedSinceReadsABacklogOldestFirst(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	since := now.Add(-time.Hour)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	var all []string
	for i := range 250 {
		all = append(all, s.World.SucceededRun(flow, since.Add(time.Duration(i+1)*time.Second)).ID)
	}
	if _, err := api.Runs(restCtx(t), pipeline.RunQuery{Limit: 1}); err != nil { // learns the names
		t.Fatal(err)
	}
	s.World.ResetRequests()

	first, err := api.FinishedSince(restCtx(t), since, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(first), all[:200]...) {
		t.Fatalf("first page: %d runs from %s, want the 200 oldest", len(first), first[0].ID)
	}
	if got := s.World.Requests(); got["POST /flow_runs/filter"] != 2 || got["POST /flow_runs/count"] != 1 {
		t.Errorf("a backlog took %v, want 3 requests", got)
	}
	// As the watcher pages on: from the last end read (inclusive).
	rest, err := api.FinishedSince(restCtx(t), first[len(first)-1].End, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(rest), all[199:]...) {
		t.Errorf("next page: %d runs, want the last 51 (the boundary run again)", len(rest))
	}
	small, err := api.FinishedSince(restCtx(t), since, 20)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(small), all[:20]...) {
		t.Errorf("limit 20: %d runs, want the 20 oldest", len(small))
	}
}

func TestRESTNamesARunOfANewDeploymentAtMostOnceAMinute(t *testing.T) {
	s, api, _ := startREST(t)
	clock := time.Now()
	api.now = func() time.Time { return clock }
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	s.World.SucceededRun(logbook, now.Add(-time.Minute))
	if _, err := api.FinishedSince(restCtx(t), now.Add(-time.Hour), 200); err != nil {
		t.Fatal(err)
	}
	beacons := s.World.AddFlow("Monitorfish - Beacons", "*/1 * * * *")
	s.World.SucceededRun(beacons, now.Add(-time.Second))
	s.World.ResetRequests()
	runs, err := api.FinishedSince(restCtx(t), now.Add(-time.Hour), 200)
	if err != nil {
		t.Fatal(err)
	}
	if s.World.TotalRequests() != 1 || runs[1].FlowName != "" || runs[1].FlowID != beacons.DeploymentID {
		t.Errorf("within the minute: %v requests, run %+v; want one request, the run unnamed", s.World.Requests(), runs[1])
	}
	clock = clock.Add(namesRefreshEvery)
	runs, err = api.FinishedSince(restCtx(t), now.Add(-time.Hour), 200)
	if err != nil {
		t.Fatal(err)
	}
	if runs[1].FlowName != "Monitorfish - Beacons" {
		t.Errorf("a minute later: run %+v, want it named", runs[1])
	}
}

func TestRESTRunningSince(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	stuck := s.World.StartRun(flow, now.Add(-2*time.Hour))
	s.World.StartRun(flow, now.Add(-5*time.Minute))
	s.World.FailedRun(flow, now.Add(-time.Hour), "", "")
	s.World.AddRun(flow, prefectfake.Run{StateType: prefectfake.Scheduled, ExpectedStart: now.Add(-3 * time.Hour)}) // late, never started

	runs, err := api.RunningSince(restCtx(t), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !sameIDs(runIDs(runs), stuck.ID) || runs[0].FlowName != "Monitorfish - Logbook" || !runs[0].Start.Equal(stuck.Start.Truncate(time.Microsecond)) {
		t.Errorf("RunningSince() = %+v, want the run started 2 h ago alone", runs)
	}
}

func TestRESTTaskRunsAndLogs(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	run := s.World.FailedRun(flow, now, "", "extract", "psycopg2.OperationalError: server closed the connection", "Traceback")
	s.World.AddTaskRun(run.ID, "load", prefectfake.Completed, "", "", now.Add(-20*time.Second), now.Add(-15*time.Second))
	s.World.AddTaskRun(run.ID, "clean", prefectfake.Pending, "", "", time.Time{}, time.Time{})
	other := s.World.SucceededRun(flow, now.Add(-time.Hour))

	tasks, err := api.TaskRuns(restCtx(t), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range tasks {
		names = append(names, tr.Name+":"+string(tr.State.Type))
	}
	if strings.Join(names, " ") != "extract:FAILED load:COMPLETED clean:PENDING" {
		t.Errorf("TaskRuns() = %v, want in start order", names)
	}

	logs, err := api.Logs(restCtx(t), run.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Message != "Traceback" || logs[0].Level != "ERROR" || logs[0].Logger != "prefect.task_runs" ||
		!strings.HasPrefix(logs[1].Message, "Finished in state Failed") || !logs[1].IsError() {
		t.Errorf("Logs(2) = %+v, want the last two lines, oldest first", logs)
	}

	for i := range 450 {
		s.World.AddLog(other.ID, "", 20, fmt.Sprintf("line %03d", i), now.Add(time.Duration(i)*time.Millisecond))
	}
	s.World.ResetRequests()
	logs, err = api.Logs(restCtx(t), other.ID, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 300 || logs[0].Message != "line 150" || logs[299].Message != "line 449" || logs[0].Level != "INFO" {
		t.Errorf("Logs(300): %d lines from %q to %q, want line 150 to line 449", len(logs), logs[0].Message, logs[len(logs)-1].Message)
	}
	if n := s.World.Requests()["POST /logs/filter"]; n != 2 {
		t.Errorf("Logs(300) took %d requests, want 2", n)
	}
}

func TestRESTStartRunIsIdempotent(t *testing.T) {
	s, api, rec := startREST(t)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	target := pipeline.Flow{ID: flow.DeploymentID, Name: "Monitorfish - Logbook"}
	first, err := api.StartRun(restCtx(t), target, "mfbot-1234")
	if err != nil {
		t.Fatal(err)
	}
	again, err := api.StartRun(restCtx(t), target, "mfbot-1234")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || again.Created || first.Run.ID != again.Run.ID || first.Run.State.Type != pipeline.Scheduled ||
		first.Run.FlowName != target.Name || first.Run.FlowID != target.ID {
		t.Errorf("StartRun twice = %+v then %+v, want one run created once", first, again)
	}
	if n := len(s.World.Runs()); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
	for _, r := range rec.requests() {
		if r.Body != `{"idempotency_key":"mfbot-1234"}` {
			t.Errorf("%s %s sent %s, want the idempotency key alone", r.Method, r.Path, r.Body)
		}
	}
}

func TestRESTCancelRun(t *testing.T) {
	s, api, _ := startREST(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	running := s.World.StartRun(flow, now.Add(-time.Minute))
	finished := s.World.SucceededRun(flow, now.Add(-time.Hour))

	accepted, err := api.CancelRun(restCtx(t), running.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !accepted.Accepted() || accepted.State.Type != pipeline.Cancelling {
		t.Errorf("cancel a running run: %+v, want ACCEPT and CANCELLING", accepted)
	}
	rejected, err := api.CancelRun(restCtx(t), running.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rejected.Status != "REJECT" || rejected.Reason == "" || rejected.Accepted() {
		t.Errorf("cancel a cancelling run: %+v, want REJECT with its reason", rejected)
	}
	aborted, err := api.CancelRun(restCtx(t), finished.ID)
	if err != nil {
		t.Fatal(err)
	}
	if aborted.Status != "ABORT" || !strings.Contains(aborted.Reason, "COMPLETED") {
		t.Errorf("cancel a finished run: %+v, want ABORT saying it is COMPLETED", aborted)
	}
	if r, _ := s.World.Run(finished.ID); r.StateType != prefectfake.Completed {
		t.Errorf("the finished run is now %s", r.StateType)
	}
}

func TestRESTSetScheduleActive(t *testing.T) {
	s, api, rec := startREST(t)
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	target := pipeline.Flow{ID: flow.DeploymentID, Name: flow.Name}
	for _, active := range []bool{false, true} {
		if err := api.SetScheduleActive(restCtx(t), target, active); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.World.Flow(flow.ID); f.Paused == active {
			t.Errorf("after SetScheduleActive(%v), paused = %v", active, f.Paused)
		}
	}
	want := []restSent{
		{http.MethodPatch, "/deployments/" + flow.DeploymentID, `{"paused":true}`},
		{http.MethodPatch, "/deployments/" + flow.DeploymentID, `{"paused":false}`},
	}
	if got := rec.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

func TestRESTNotFound(t *testing.T) {
	_, api, rec := startREST(t)
	unknown := "00000000-0000-4000-8000-00000000dead"
	ctx := restCtx(t)
	_, errRun := api.Run(ctx, unknown)
	_, errCancel := api.CancelRun(ctx, unknown)
	_, errStart := api.StartRun(ctx, pipeline.Flow{ID: unknown, Name: "Gone"}, "k")
	errPause := api.SetScheduleActive(ctx, pipeline.Flow{ID: unknown, Name: "Gone"}, false)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errRun, "read flow run " + unknown + ": not found in Prefect: Flow run not found (HTTP 404)"},
		{errCancel, "cancel run " + unknown + ": not found in Prefect: Flow run with id " + unknown + " not found (HTTP 404)"},
		{errStart, "start a run of Gone: not found in Prefect: Deployment not found (HTTP 404)"},
		{errPause, "pause the schedule of Gone: not found in Prefect: Deployment not found. (HTTP 404)"},
	} {
		if !errors.Is(tc.err, pipeline.ErrNotFound) || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %q", tc.err, tc.want)
		}
	}
	sent := len(rec.requests())
	if _, err := api.Run(ctx, "crimson-fox"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("Run(crimson-fox): %v, want ErrNotFound", err)
	}
	if _, err := api.Logs(ctx, "", 10); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("Logs(\"\"): %v, want ErrNotFound", err)
	}
	if len(rec.requests()) != sent {
		t.Errorf("an ID that is not a UUID was sent to Prefect")
	}
}

func TestRESTValidationErrorsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(map[string]any)
		want    string
	}{
		{"an unknown key (exception_detail)", func(b map[string]any) { b["flow_runs"].(map[string]any)["bogus"] = 1 },
			"list flow runs: Prefect refused the request: body.flow_runs.bogus: Extra inputs are not permitted (HTTP 422)"},
		{"a limit above 200 (detail)", func(b map[string]any) { b["limit"] = 201 },
			"list flow runs: Prefect refused the request: Invalid limit: must be less than or equal to 200. (HTTP 422)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := prefectfake.Start(t)
			expectRefusals(s)
			api, err := New(Options{URL: s.RESTURL(), Flavor: config.PrefectREST, Transport: &restRecorder{rewrite: tc.rewrite}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = api.Runs(restCtx(t), pipeline.RunQuery{Limit: 5})
			if !errors.Is(err, pipeline.ErrRefused) || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if len(s.World.Invalid()) != 1 {
				t.Errorf("Invalid() = %q, want the refused request", s.World.Invalid())
			}
		})
	}
}

func TestRESTSendsCredentials(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret-pass"))
	for _, tc := range []struct {
		name, header string
		o            Options
	}{
		{"basic auth", basic, Options{BasicAuth: "admin:s3cret-pass"}},
		{"bearer", "Bearer pnu_key", Options{APIKey: "pnu_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := startREST(t)
			s.RequireAuthorization(tc.header)
			o := tc.o
			o.URL, o.Flavor = s.RESTURL(), config.PrefectREST
			api, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := api.Version(restCtx(t)); err != nil {
				t.Errorf("with credentials: %v", err)
			}
		})
	}
	s, _, _ := startREST(t)
	s.RequireAuthorization(basic)
	wrong, err := New(Options{URL: s.RESTURL(), Flavor: config.PrefectREST, BasicAuth: "admin:wrong-pass"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Flows(restCtx(t))
	if !errors.Is(err, pipeline.ErrRefused) || !strings.HasPrefix(err.Error(), "list deployments: Prefect refused mfbot's credentials (HTTP 401: Unauthorized)") ||
		strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("wrong credentials: %v, want a clear refusal without the password", err)
	}
}

func TestRESTDeadServerIsUnreachable(t *testing.T) {
	s, _, _ := startREST(t)
	api, err := New(Options{URL: s.RESTURL(), Flavor: config.PrefectREST, Timeout: 2 * time.Second, BasicAuth: "admin:s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	s.Down()
	start := time.Now()
	_, err = api.FinishedSince(restCtx(t), time.Now().Add(-time.Minute), 200)
	if !errors.Is(err, pipeline.ErrUnreachable) || time.Since(start) > 2*time.Second || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("dead server: %v after %s, want ErrUnreachable within the timeout", err, time.Since(start))
	}

	hung := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	defer stalled.Close()
	defer close(hung)
	slow, err := New(Options{URL: stalled.URL + "/api", Flavor: config.PrefectREST, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = slow.Version(restCtx(t))
	if !errors.Is(err, pipeline.ErrUnreachable) || time.Since(start) > 2*time.Second {
		t.Errorf("stalled server: %v after %s, want ErrUnreachable at the timeout", err, time.Since(start))
	}
}

func TestRESTProxyAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		is                      error
		want                    string
	}{
		{"a gateway error page", "text/html", "<html>502 Bad Gateway</html>", 502, pipeline.ErrUnreachable,
			"read Prefect's version: Prefect does not answer: it answered HTTP 502: a text/html page"},
		{"Prefect's own 500", "application/json", `{"exception_message":"Internal Server Error"}`, 500, pipeline.ErrUnreachable,
			"read Prefect's version: Prefect does not answer: it answered HTTP 500: Internal Server Error"},
		{"the UI instead of the API", "text/html; charset=utf-8", "<html>Prefect</html>", 200, pipeline.ErrUnreachable,
			"read Prefect's version: Prefect does not answer: it answered HTTP 200 with a text/html page instead of JSON (is the URL Prefect's API, ending in /api?)"},
		{"no such route", "application/json", `{"detail":"Not Found"}`, 404, pipeline.ErrRefused,
			"read Prefect's version: Prefect refused the request: HTTP 404, no such endpoint (is the URL Prefect 3's API, ending in /api?)"},
		{"the documented validation shape", "application/json", `{"detail":[{"loc":["query","x"],"msg":"Field required","type":"missing"}]}`, 422, pipeline.ErrRefused,
			"read Prefect's version: Prefect refused the request: query.x: Field required (HTTP 422)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			api, err := New(Options{URL: srv.URL + "/api", Flavor: config.PrefectREST})
			if err != nil {
				t.Fatal(err)
			}
			_, err = api.Version(restCtx(t))
			if !errors.Is(err, tc.is) || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRESTEveryMethodSendsValidBodies exercises every method on one fake,
// the backlog path of FinishedSince included: Prefect would accept every
// request mfbot sent.
func TestRESTEveryMethodSendsValidBodies(t *testing.T) {
	s, api, _ := startREST(t)
	ctx := restCtx(t)
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "*/1 * * * *")
	failed := s.World.FailedRun(flow, now.Add(-time.Minute), "", "extract", "boom")
	running := s.World.StartRun(flow, now.Add(-2*time.Hour))
	for i := range 201 {
		s.World.SucceededRun(flow, now.Add(-time.Hour+time.Duration(i)*time.Second))
	}
	flows, err := api.Flows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target := flows[0]
	calls := []func() error{
		func() error { _, err := api.Version(ctx); return err },
		func() error {
			_, err := api.Runs(ctx, pipeline.RunQuery{Flows: flows, Failed: true, Limit: 250})
			return err
		},
		func() error { _, err := api.Run(ctx, failed.ID); return err },
		func() error { _, err := api.TaskRuns(ctx, failed.ID); return err },
		func() error { _, err := api.Logs(ctx, failed.ID, 50); return err },
		func() error { _, err := api.FinishedSince(ctx, now.Add(-2*time.Hour), 200); return err },
		func() error { _, err := api.RunningSince(ctx, now.Add(-time.Hour)); return err },
		func() error { _, err := api.StartRun(ctx, target, "mfbot-every-method"); return err },
		func() error { _, err := api.CancelRun(ctx, running.ID); return err },
		func() error { return api.SetScheduleActive(ctx, target, false) },
		func() error { return api.SetScheduleActive(ctx, target, true) },
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if invalid := s.World.Invalid(); len(invalid) != 0 {
		t.Errorf("invalid requests: %q", invalid)
	}
	for _, op := range []string{"GET /admin/version", "POST /deployments/filter", "POST /flows/filter", "POST /flow_runs/filter",
		"POST /flow_runs/count", "GET /flow_runs/{id}", "POST /task_runs/filter", "POST /logs/filter",
		"POST /deployments/{id}/create_flow_run", "POST /flow_runs/{id}/set_state", "PATCH /deployments/{id}"} {
		if s.World.Requests()[op] == 0 {
			t.Errorf("%s was not exercised", op)
		}
	}
}

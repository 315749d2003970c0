package prefect

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"mfbot/config"
	"mfbot/pipeline"
	"mfbot/testenv/prefectfake"
)

// startGraphQL starts the fake and a client of its GraphQL API. Unless
// the test sends invalid documents on purpose, it fails at the end if
// any document the client sent did not validate.
func startGraphQL(t *testing.T, o Options) (*prefectfake.Server, *graphQL) {
	t.Helper()
	s := prefectfake.Start(t)
	return s, newGraphQLClient(t, s, o)
}

func newGraphQLClient(t *testing.T, s *prefectfake.Server, o Options) *graphQL {
	t.Helper()
	o.URL, o.Flavor = s.GraphQLURL(), config.PrefectGraphQL
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	api, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return api.(*graphQL)
}

func assertAllValid(t *testing.T, s *prefectfake.Server) {
	t.Helper()
	if invalid := s.World.Invalid(); len(invalid) > 0 {
		t.Errorf("mfbot sent documents that do not validate: %q", invalid)
	}
}

func TestGraphQLFlows(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	ports := s.World.AddFlow("Monitorfish - Ports", "")
	beacons := s.World.AddFlow("Monitorfish - Beacons", "0 * * * *")
	s.World.SetPaused(beacons.ID, true)
	last := s.World.SucceededRun(logbook, now.Add(-time.Hour))
	s.World.SucceededRun(logbook, now.Add(-2*time.Hour))
	s.World.AddRun(logbook, prefectfake.Run{StateType: prefectfake.Scheduled, ExpectedStart: now.Add(5 * time.Minute)})

	flows, err := api.Flows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 3 || flows[0].Name != beacons.Name || flows[1].Name != logbook.Name || flows[2].Name != ports.Name {
		t.Fatalf("flows = %+v, want Beacons, Logbook, Ports", flows)
	}
	b, l, p := flows[0], flows[1], flows[2]
	if l.ID != logbook.GroupID || l.VersionID != logbook.ID {
		t.Errorf("Logbook IDs %q / %q, want the flow group %q and the version %q", l.ID, l.VersionID, logbook.GroupID, logbook.ID)
	}
	if l.Schedule != "*/5 * * * * (UTC)" || !l.ScheduleActive {
		t.Errorf("Logbook schedule %q active %v", l.Schedule, l.ScheduleActive)
	}
	if b.Schedule != "0 * * * * (UTC)" || b.ScheduleActive {
		t.Errorf("Beacons schedule %q active %v, want paused", b.Schedule, b.ScheduleActive)
	}
	if p.Schedule != "" || p.LastRun != nil {
		t.Errorf("Ports: schedule %q, last run %+v; want none", p.Schedule, p.LastRun)
	}
	if l.LastRun == nil || l.LastRun.ID != last.ID || l.LastRun.FlowID != logbook.GroupID || !l.LastRun.State.Success() {
		t.Errorf("Logbook last run %+v, want %s (not the run scheduled ahead)", l.LastRun, last.ID)
	}
	if n := s.World.TotalRequests(); n != 1 {
		t.Errorf("Flows sent %d requests, want 1", n)
	}
	assertAllValid(t, s)
}

func TestGraphQLRuns(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	ports := s.World.AddFlow("Monitorfish - Ports", "")
	oldest := s.World.SucceededRun(logbook, now.Add(-4*time.Hour))
	timedOut := s.World.FailedRun(logbook, now.Add(-3*time.Hour), "TimedOut", "extract", "timeout")
	portsRun := s.World.SucceededRun(ports, now.Add(-2*time.Hour))
	crashed := s.World.FailedRun(ports, now.Add(-time.Hour), "Crashed", "", "")
	running := s.World.StartRun(logbook, now.Add(-time.Minute))
	s.World.AddRun(logbook, prefectfake.Run{StateType: prefectfake.Scheduled, ExpectedStart: now.Add(time.Hour)})
	ctx := context.Background()

	ids := func(runs []pipeline.Run) []string {
		var out []string
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	all, err := api.Runs(ctx, pipeline.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{running.ID, crashed.ID, portsRun.ID, timedOut.ID, oldest.ID}; !slices.Equal(ids(all), want) {
		t.Errorf("all runs %v, want %v (newest first, none scheduled ahead)", ids(all), want)
	}
	if all[3].State != (pipeline.State{Type: pipeline.Failed, Name: "TimedOut", Message: timedOut.Message}) || all[3].FlowName != logbook.Name {
		t.Errorf("the TimedOut run reads %+v", all[3])
	}
	ofLogbook, err := api.Runs(ctx, pipeline.RunQuery{Flows: []pipeline.Flow{{ID: logbook.GroupID}}, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{running.ID, timedOut.ID}; !slices.Equal(ids(ofLogbook), want) {
		t.Errorf("Logbook's last 2 runs %v, want %v", ids(ofLogbook), want)
	}
	failed, err := api.Runs(ctx, pipeline.RunQuery{Failed: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{crashed.ID, timedOut.ID}; !slices.Equal(ids(failed), want) {
		t.Errorf("failed runs %v, want %v", ids(failed), want)
	}
	before := s.World.TotalRequests()
	none, err := api.Runs(ctx, pipeline.RunQuery{Flows: []pipeline.Flow{}})
	if err != nil || len(none) != 0 || s.World.TotalRequests() != before {
		t.Errorf("runs of no flow: %v, %v, %d requests; want none and no request", none, err, s.World.TotalRequests()-before)
	}
	if _, err := api.Runs(ctx, pipeline.RunQuery{Flows: []pipeline.Flow{{Name: "no ID"}}}); !errors.Is(err, pipeline.ErrNotFound) || s.World.TotalRequests() != before {
		t.Errorf("a flow without ID: %v; want ErrNotFound and no request", err)
	}
	assertAllValid(t, s)
}

func TestGraphQLRunRefusesEmptyIDsWithoutARequest(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	flow := s.World.AddFlow("Monitorfish - Logbook", "")
	run := s.World.SucceededRun(flow, time.Now().UTC())
	ctx := context.Background()

	got, err := api.Run(ctx, run.ID)
	if err != nil || got.ID != run.ID || got.FlowID != flow.GroupID || got.End.IsZero() || got.State.Type != pipeline.Completed || got.State.Name != "Success" {
		t.Fatalf("Run = %+v, %v", got, err)
	}
	if _, err := api.Run(ctx, "00000000-0000-4000-8000-00000000dead"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("an unknown run: %v, want ErrNotFound", err)
	}
	before := s.World.TotalRequests()
	for _, id := range []string{"", "crimson-fox"} {
		if _, err := api.Run(ctx, id); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("Run(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := api.TaskRuns(ctx, id); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("TaskRuns(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := api.Logs(ctx, id, 10); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("Logs(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := api.CancelRun(ctx, id); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("CancelRun(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := api.StartRun(ctx, pipeline.Flow{ID: id}, "key"); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("StartRun of flow %q: %v, want ErrNotFound", id, err)
		}
		if err := api.SetScheduleActive(ctx, pipeline.Flow{ID: id}, true); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("SetScheduleActive of flow %q: %v, want ErrNotFound", id, err)
		}
	}
	if n := s.World.TotalRequests() - before; n != 0 {
		t.Errorf("%d requests sent for empty or malformed IDs, want none", n)
	}
	assertAllValid(t, s)
}

func TestGraphQLNeverSendsANull(t *testing.T) {
	for name, vars := range map[string]map[string]any{
		"nil value":         {"id": nil},
		"nil slice":         {"states": []string(nil)},
		"nil map":           {"where": map[string]any(nil)},
		"nested nil":        {"where": map[string]any{"_and": []any{map[string]any{"id": map[string]any{"_eq": nil}}}}},
		"nil in a list":     {"ids": []any{"a", nil}},
		"nil pointer value": {"id": (*string)(nil)},
	} {
		if err := gqlCheckNoNulls(vars); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := gqlCheckNoNulls(map[string]any{"where": map[string]any{"_and": []any{map[string]any{"state": map[string]any{"_in": []string{}}}}}, "limit": 3}); err != nil {
		t.Errorf("valid variables refused: %v", err)
	}
}

func TestGraphQLFinishedSinceIsOneRequest(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	s.World.SucceededRun(logbook, now.Add(-2*time.Hour)) // before since
	since := now.Add(-time.Hour)
	triggerFailed := s.World.FailedRun(logbook, now.Add(-50*time.Minute), "TriggerFailed", "load", "upstream failed")
	succeeded := s.World.SucceededRun(logbook, now.Add(-40*time.Minute))
	cancelled := s.World.StartRun(logbook, now.Add(-35*time.Minute))
	s.World.Finish(cancelled.ID, prefectfake.Cancelled, "", "", now.Add(-30*time.Minute))
	s.World.StartRun(logbook, now.Add(-20*time.Minute)) // still running
	s.World.ResetRequests()

	runs, err := api.FinishedSince(context.Background(), since, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || runs[0].ID != triggerFailed.ID || runs[1].ID != succeeded.ID || runs[2].ID != cancelled.ID {
		t.Fatalf("FinishedSince = %+v, want the TriggerFailed, the succeeded and the cancelled runs, oldest first", runs)
	}
	tf := runs[0]
	if tf.State.Type != pipeline.Failed || tf.State.Name != "TriggerFailed" || !tf.End.IsZero() || tf.EndOrStateTime().IsZero() || tf.FlowName != logbook.Name {
		t.Errorf("the TriggerFailed run reads %+v", tf)
	}
	if runs[2].State.Type != pipeline.Cancelled {
		t.Errorf("cancelled run state %+v", runs[2].State)
	}
	if requests := s.World.Requests(); len(requests) != 1 || requests["graphql flow_run"] != 1 {
		t.Errorf("requests %v, want one flow_run request", requests)
	}
	limited, err := api.FinishedSince(context.Background(), since, 1)
	if err != nil || len(limited) != 1 || limited[0].ID != triggerFailed.ID {
		t.Errorf("FinishedSince limit 1 = %+v, %v", limited, err)
	}
	assertAllValid(t, s)
}

func TestGraphQLRunningSince(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "")
	stuck := s.World.StartRun(flow, now.Add(-3*time.Hour))
	s.World.StartRun(flow, now.Add(-time.Minute))
	s.World.SucceededRun(flow, now.Add(-4*time.Hour))

	runs, err := api.RunningSince(context.Background(), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != stuck.ID || runs[0].State.Type != pipeline.Running || runs[0].Start.IsZero() {
		t.Errorf("RunningSince = %+v, want the run stuck for 3 h", runs)
	}
	assertAllValid(t, s)
}

func TestGraphQLTaskRunsAndLogs(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "")
	run := s.World.FailedRun(flow, now, "", "extract", "psycopg2.OperationalError: boom", "Traceback …")
	s.World.AddTaskRun(run.ID, "load", prefectfake.Completed, "", "", now.Add(-45*time.Second), now.Add(-35*time.Second))
	ctx := context.Background()

	tasks, err := api.TaskRuns(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].Name != "load" || tasks[1].Name != "extract" {
		t.Fatalf("task runs %+v, want load then extract (start order, named by their task)", tasks)
	}
	if tasks[1].State.Type != pipeline.Failed || tasks[0].State != (pipeline.State{Type: pipeline.Completed, Name: "Success"}) {
		t.Errorf("task run states %+v / %+v", tasks[0].State, tasks[1].State)
	}
	if _, err := api.TaskRuns(ctx, "00000000-0000-4000-8000-00000000dead"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("task runs of an unknown run: %v, want ErrNotFound", err)
	}

	all := s.World.Logs()
	lines, err := api.Logs(ctx, run.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Message != "Traceback …" || !strings.HasPrefix(lines[1].Message, "Finished in state") {
		t.Fatalf("last 2 lines %+v, want the last task line then the final flow line, oldest first", lines)
	}
	if lines[0].Level != "ERROR" || !lines[0].IsError() || lines[0].Logger != "prefect.task_runs" || lines[0].Time.IsZero() {
		t.Errorf("line %+v", lines[0])
	}
	if every, err := api.Logs(ctx, run.ID, 100); err != nil || len(every) != len(all) || every[0].Level != "INFO" {
		t.Errorf("all lines: %d lines, %v; want %d, oldest first", len(every), err, len(all))
	}
	assertAllValid(t, s)
}

func TestGraphQLStartRunIsIdempotent(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	flows, err := api.Flows(context.Background())
	if err != nil || len(flows) != 1 {
		t.Fatalf("Flows = %+v, %v", flows, err)
	}
	ctx := context.Background()

	first, err := api.StartRun(ctx, flows[0], "slack-1234.5678")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.Run.ID == "" || first.Run.FlowID != logbook.GroupID || first.Run.State.Type != pipeline.Scheduled {
		t.Errorf("first StartRun = %+v", first)
	}
	again, err := api.StartRun(ctx, flows[0], "slack-1234.5678")
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Run.ID != first.Run.ID {
		t.Errorf("second StartRun = %+v, want run %s, not created", again, first.Run.ID)
	}
	// A Flow known only by its flow group ID: its newest version runs.
	other, err := api.StartRun(ctx, pipeline.Flow{ID: logbook.GroupID, Name: logbook.Name}, "slack-other")
	if err != nil || !other.Created || other.Run.ID == first.Run.ID {
		t.Errorf("StartRun by flow group = %+v, %v", other, err)
	}
	if runs := s.World.Runs(); len(runs) != 2 || runs[0].IdempotencyKey != "slack-1234.5678" {
		t.Errorf("world runs %+v, want two, the first with the key", runs)
	}
	if _, err := api.StartRun(ctx, flows[0], ""); err == nil {
		t.Errorf("StartRun without idempotency key accepted")
	}
	assertAllValid(t, s)
}

func TestGraphQLCancelRun(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	flow := s.World.AddFlow("Monitorfish - Logbook", "")
	running := s.World.StartRun(flow, now.Add(-time.Minute))
	done := s.World.SucceededRun(flow, now.Add(-time.Hour))
	ctx := context.Background()

	accepted, err := api.CancelRun(ctx, running.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !accepted.Accepted() || accepted.State.Type != pipeline.Cancelled {
		t.Errorf("cancel a running run: %+v", accepted)
	}
	if r, _ := s.World.Run(running.ID); r.StateType != prefectfake.Cancelled {
		t.Errorf("the world's run is %s", r.StateType)
	}
	refused, err := api.CancelRun(ctx, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	if refused.Accepted() || refused.Status != "REJECT" || !strings.Contains(refused.Reason, "finished") || refused.State.Type != pipeline.Completed {
		t.Errorf("cancel a finished run: %+v, want REJECT with Prefect's reason and the run's state", refused)
	}
	if _, err := api.CancelRun(ctx, "00000000-0000-4000-8000-00000000dead"); !errors.Is(err, pipeline.ErrNotFound) {
		t.Errorf("cancel an unknown run: %v, want ErrNotFound", err)
	}
	assertAllValid(t, s)
}

func TestGraphQLSetScheduleActive(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	flow := pipeline.Flow{ID: logbook.GroupID, Name: logbook.Name, VersionID: logbook.ID}
	ctx := context.Background()

	if err := api.SetScheduleActive(ctx, flow, false); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.World.Flow(logbook.ID); !f.Paused {
		t.Errorf("not paused")
	}
	if err := api.SetScheduleActive(ctx, flow, true); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.World.Flow(logbook.ID); f.Paused {
		t.Errorf("not resumed")
	}
	if requests := s.World.Requests(); requests["graphql set_schedule_active"] != 1 || requests["graphql set_schedule_inactive"] != 1 {
		t.Errorf("requests %v", requests)
	}
	assertAllValid(t, s)
}

func TestGraphQLVersionAndRunURL(t *testing.T) {
	s, api := startGraphQL(t, Options{UIURL: "http://prefect-ui:8080/"})
	version, err := api.Version(context.Background())
	if err != nil || !strings.HasPrefix(version, "Prefect Server 1 (API ") {
		t.Errorf("Version = %q, %v", version, err)
	}
	if got := api.RunURL("abc"); got != "http://prefect-ui:8080/flow-run/abc" {
		t.Errorf("RunURL = %q", got)
	}
	_, noUI := startGraphQL(t, Options{})
	if got := noUI.RunURL("abc"); got != "" {
		t.Errorf("RunURL without UI = %q, want none", got)
	}
	assertAllValid(t, s)
}

func TestGraphQLValidationErrorIsRefused(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	err := api.do(context.Background(), "list flows", `query { flow { no_such_column } }`, nil, nil)
	if !errors.Is(err, pipeline.ErrRefused) {
		t.Fatalf("error %v, want ErrRefused", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "list flows: ") || !strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, `Cannot query field "no_such_column"`) {
		t.Errorf("error %q does not name the operation, the status and GraphQL's message", msg)
	}
	if len(s.World.Invalid()) != 1 {
		t.Errorf("the fake recorded %q", s.World.Invalid())
	}
}

func TestGraphQLResolverErrorIsRefused(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	// A flow version that does not exist: create_flow_run's resolver refuses.
	unknown := pipeline.Flow{Name: "Monitorfish - Gone", VersionID: "00000000-0000-4000-8000-00000000dead"}
	_, err := api.StartRun(context.Background(), unknown, "key")
	if !errors.Is(err, pipeline.ErrRefused) {
		t.Fatalf("error %v, want ErrRefused", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, `start a run of "Monitorfish - Gone": `) || !strings.Contains(msg, "Invalid flow ID") {
		t.Errorf("error %q does not name the operation and the resolver's message", msg)
	}
	if _, ok := gqlIsResolverRefusal(err); !ok {
		t.Errorf("not told apart as a resolver refusal")
	}
	assertAllValid(t, s)
}

func TestGraphQLDeadServerIsUnreachable(t *testing.T) {
	s, api := startGraphQL(t, Options{BasicAuth: "mfbot:s3cret-pass", Timeout: time.Second})
	s.Down()
	start := time.Now()
	_, err := api.Flows(context.Background())
	if !errors.Is(err, pipeline.ErrUnreachable) {
		t.Fatalf("error %v, want ErrUnreachable", err)
	}
	// Bounded by the 1 s timeout (retries included), not to the
	// millisecond: the scheduler may add a few.
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %s with a 1 s timeout", elapsed)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "list flows: ") || strings.Contains(msg, "s3cret") {
		t.Errorf("error %q", msg)
	}
}

func TestGraphQLProxyAnswersAreUnreachable(t *testing.T) {
	cases := map[string]func(release <-chan struct{}) http.HandlerFunc{
		"502 page": func(<-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
			}
		},
		"200 HTML page": func(<-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html><body>Please log in</body></html>"))
			}
		},
		"no answer in time": func(release <-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}
		},
	}
	for name, handler := range cases {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			proxy := httptest.NewServer(handler(release))
			defer proxy.Close()
			// A hanging handler may not notice the client gave up: free it
			// before Close waits for it.
			defer close(release)
			api, err := New(Options{URL: proxy.URL + "/graphql", Flavor: config.PrefectGraphQL, Timeout: 200 * time.Millisecond, APIKey: "s3cret-key"})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = api.Version(context.Background())
			if !errors.Is(err, pipeline.ErrUnreachable) {
				t.Fatalf("error %v, want ErrUnreachable", err)
			}
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("took %s with a 200 ms timeout", elapsed)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "read the Prefect version: ") || strings.Contains(msg, "s3cret") || strings.Contains(msg, "<html>") {
				t.Errorf("error %q", msg)
			}
		})
	}
}

func TestGraphQLSendsCredentials(t *testing.T) {
	s := prefectfake.Start(t)
	s.World.AddFlow("Monitorfish - Logbook", "")
	ctx := context.Background()

	s.RequireAuthorization("Basic " + base64.StdEncoding.EncodeToString([]byte("mfbot:pass:word")))
	if _, err := newGraphQLClient(t, s, Options{BasicAuth: "mfbot:pass:word"}).Flows(ctx); err != nil {
		t.Errorf("basic auth: %v", err)
	}
	_, err := newGraphQLClient(t, s, Options{}).Flows(ctx)
	if !errors.Is(err, pipeline.ErrRefused) || !strings.Contains(err.Error(), "401") {
		t.Errorf("without credentials: %v, want ErrRefused with the 401", err)
	}
	s.RequireAuthorization("Bearer pnu_key")
	if _, err := newGraphQLClient(t, s, Options{APIKey: "pnu_key"}).Flows(ctx); err != nil {
		t.Errorf("bearer: %v", err)
	}
	_, err = newGraphQLClient(t, s, Options{APIKey: "wrong_key"}).Flows(ctx)
	if err == nil || strings.Contains(err.Error(), "wrong_key") {
		t.Errorf("a wrong key: %v", err)
	}
	assertAllValid(t, s)
}

// TestGraphQLEveryDocumentValidates exercises every method against one
// fake: every document mfbot can send validates, with its variables.
func TestGraphQLEveryDocumentValidates(t *testing.T) {
	s, api := startGraphQL(t, Options{})
	now := time.Now().UTC()
	logbook := s.World.AddFlow("Monitorfish - Logbook", "*/5 * * * *")
	failed := s.World.FailedRun(logbook, now.Add(-time.Hour), "", "extract", "boom")
	running := s.World.StartRun(logbook, now.Add(-2*time.Hour))
	ctx := context.Background()
	group := pipeline.Flow{ID: logbook.GroupID, Name: logbook.Name} // no VersionID: looked up

	calls := map[string]func() error{
		"Version": func() error { _, err := api.Version(ctx); return err },
		"Flows":   func() error { _, err := api.Flows(ctx); return err },
		"Runs": func() error {
			_, err := api.Runs(ctx, pipeline.RunQuery{Flows: []pipeline.Flow{group}, Failed: true, Limit: 5})
			return err
		},
		"Run":       func() error { _, err := api.Run(ctx, failed.ID); return err },
		"TaskRuns":  func() error { _, err := api.TaskRuns(ctx, failed.ID); return err },
		"Logs":      func() error { _, err := api.Logs(ctx, failed.ID, 5); return err },
		"StartRun":  func() error { _, err := api.StartRun(ctx, group, "key"); return err },
		"CancelRun": func() error { _, err := api.CancelRun(ctx, running.ID); return err },
		"SetScheduleActive": func() error {
			return errors.Join(api.SetScheduleActive(ctx, group, false), api.SetScheduleActive(ctx, group, true))
		},
		"FinishedSince": func() error { _, err := api.FinishedSince(ctx, now.Add(-24*time.Hour), 10); return err },
		"RunningSince":  func() error { _, err := api.RunningSince(ctx, now); return err },
	}
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, root := range []string{"hello", "flow", "flow_run", "flow_run_by_pk", "create_flow_run", "cancel_flow_run", "set_schedule_active", "set_schedule_inactive"} {
		if s.World.Requests()["graphql "+root] == 0 {
			t.Errorf("no %s request sent", root)
		}
	}
	assertAllValid(t, s)
}

func TestGraphQLScheduleText(t *testing.T) {
	cases := []struct{ group, flow, want string }{
		{"null", "null", ""},
		{"", `{"clocks": [{"type": "CronClock", "cron": "0 4 * * *", "start_date": {"dt": "2021-01-01T00:00:00", "tz": "Europe/Paris"}}]}`, "0 4 * * * (Europe/Paris)"},
		{"null", `{"clocks": [{"type": "CronClock", "cron": "*/1 * * * *"}]}`, "*/1 * * * * (UTC)"},
		{"null", `{"clocks": [{"type": "IntervalClock", "interval": 600000000}]}`, "every 10 min"},
		{`{"clocks": [{"type": "IntervalClock", "interval": 3600000000}]}`, `{"clocks": [{"type": "CronClock", "cron": "* * * * *"}]}`, "every 60 min"},
		{"null", `{"clocks": [{"type": "CronClock", "cron": "0 1 * * *"}, {"type": "DatesClock", "dates": []}]}`, "0 1 * * * (UTC), DatesClock"},
	}
	for _, c := range cases {
		if got := gqlScheduleText([]byte(c.group), []byte(c.flow)); got != c.want {
			t.Errorf("schedule text of %s / %s = %q, want %q", c.group, c.flow, got, c.want)
		}
	}
}

func TestGraphQLStateMapping(t *testing.T) {
	for _, name := range gqlFinalStates() {
		if !gqlState(name, "").Final() {
			t.Errorf("%s is polled as final but maps to %q", name, gqlStateType(name))
		}
	}
	for _, name := range gqlFailedStates() {
		if !gqlState(name, "").Failure() {
			t.Errorf("%s is listed as failed but maps to %q", name, gqlStateType(name))
		}
	}
	for name, want := range map[string]pipeline.StateType{
		"Success": pipeline.Completed, "Cached": pipeline.Completed, "TimedOut": pipeline.Failed, "Cancelled": pipeline.Cancelled,
		"Cancelling": pipeline.Cancelling, "Running": pipeline.Running, "Retrying": pipeline.Pending, "Queued": pipeline.Scheduled,
		"Submitted": pipeline.Pending, "Paused": pipeline.Paused, "Looped": "",
	} {
		if got := gqlState(name, ""); got.Type != want || got.Name != name {
			t.Errorf("%s maps to %+v, want type %q", name, got, want)
		}
	}
}

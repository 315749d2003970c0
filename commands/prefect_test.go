package commands_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mfbot/adapters/store"
	. "mfbot/commands"
	"mfbot/containers"
	"mfbot/pipeline"
	. "mfbot/reply"
)

// prefectNow is the fixed clock of the Prefect and pipeline tests.
var prefectNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// stubPrefect is a pipeline.API with canned flows, runs, task runs and
// logs. It records every mutation, so tests can prove what ran and how
// many times; StartRun remembers its idempotency keys as Prefect does.
type stubPrefect struct {
	mu           sync.Mutex
	flows        []pipeline.Flow
	runs         []pipeline.Run
	tasks        map[string][]pipeline.TaskRun
	logs         map[string][]pipeline.LogLine
	cancellation pipeline.Cancellation
	uiURL        string
	// err fails every call; hang makes every call wait for its context.
	err  error
	hang bool

	calls      int // every call
	runQueries []pipeline.RunQuery
	starts     []string // "<flow ID> <key>"
	byKey      map[string]pipeline.Run
	cancels    []string
	schedules  []string // "<flow ID> <active>"
}

func (s *stubPrefect) enter(ctx context.Context) error {
	s.mu.Lock()
	s.calls++
	err, hang := s.err, s.hang
	s.mu.Unlock()
	if hang {
		<-ctx.Done()
		return fmt.Errorf("Prefect request: %w", ctx.Err())
	}
	return err
}

func (s *stubPrefect) Version(ctx context.Context) (string, error) {
	if err := s.enter(ctx); err != nil {
		return "", err
	}
	return "Prefect 3.6.9", nil
}

func (s *stubPrefect) Flows(ctx context.Context) ([]pipeline.Flow, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.flows), nil
}

func (s *stubPrefect) Runs(ctx context.Context, q pipeline.RunQuery) ([]pipeline.Run, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runQueries = append(s.runQueries, q)
	var out []pipeline.Run
	for _, r := range s.runs {
		if q.Failed && !r.State.Failure() {
			continue
		}
		if q.Flows != nil && !slices.ContainsFunc(q.Flows, func(f pipeline.Flow) bool { return f.ID == r.FlowID }) {
			continue
		}
		if len(out) < q.Limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *stubPrefect) Run(ctx context.Context, id string) (pipeline.Run, error) {
	if err := s.enter(ctx); err != nil {
		return pipeline.Run{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		if r.ID == id {
			return r, nil
		}
	}
	return pipeline.Run{}, fmt.Errorf("read flow run %s: %w", id, pipeline.ErrNotFound)
}

func (s *stubPrefect) TaskRuns(ctx context.Context, runID string) ([]pipeline.TaskRun, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	return s.tasks[runID], nil
}

func (s *stubPrefect) Logs(ctx context.Context, runID string, limit int) ([]pipeline.LogLine, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	logs := s.logs[runID]
	if len(logs) > limit {
		logs = logs[len(logs)-limit:]
	}
	return logs, nil
}

func (s *stubPrefect) StartRun(ctx context.Context, flow pipeline.Flow, key string) (pipeline.Started, error) {
	if err := s.enter(ctx); err != nil {
		return pipeline.Started{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, flow.ID+" "+key)
	if r, ok := s.byKey[key]; ok {
		return pipeline.Started{Run: r}, nil
	}
	if s.byKey == nil {
		s.byKey = map[string]pipeline.Run{}
	}
	r := pipeline.Run{ID: fmt.Sprintf("0a0b0c0d-0000-4000-8000-%012d", len(s.byKey)+1), Name: "brisk-heron", FlowID: flow.ID, FlowName: flow.Name,
		State: pipeline.State{Type: pipeline.Scheduled, Name: "Scheduled"}, ExpectedStart: prefectNow}
	s.byKey[key] = r
	return pipeline.Started{Run: r, Created: true}, nil
}

func (s *stubPrefect) CancelRun(ctx context.Context, runID string) (pipeline.Cancellation, error) {
	if err := s.enter(ctx); err != nil {
		return pipeline.Cancellation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancels = append(s.cancels, runID)
	return s.cancellation, nil
}

func (s *stubPrefect) SetScheduleActive(ctx context.Context, flow pipeline.Flow, active bool) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schedules = append(s.schedules, fmt.Sprintf("%s %t", flow.ID, active))
	for i := range s.flows {
		if s.flows[i].ID == flow.ID {
			s.flows[i].ScheduleActive = active
		}
	}
	return nil
}

func (s *stubPrefect) FinishedSince(context.Context, time.Time, int) ([]pipeline.Run, error) {
	return nil, errors.New("not used by the commands")
}

func (s *stubPrefect) RunningSince(context.Context, time.Time) ([]pipeline.Run, error) {
	return nil, errors.New("not used by the commands")
}

func (s *stubPrefect) RunURL(runID string) string {
	if s.uiURL == "" {
		return ""
	}
	return s.uiURL + "/runs/flow-run/" + runID
}

// mutations are the API calls that change Prefect.
func (s *stubPrefect) mutations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Concat(s.starts, s.cancels, s.schedules)
}

func (s *stubPrefect) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

const (
	failedRunID  = "6f1c2a9e-3b4d-4c5e-8f90-1a2b3c4d5e6f"
	runningRunID = "7e2d3b0f-4c5e-4d6f-9a01-2b3c4d5e6f70"
	unknownRunID = "00000000-0000-4000-8000-000000000000"
)

func failedState() pipeline.State {
	return pipeline.State{Type: pipeline.Failed, Name: "Failed", Message: "Flow run encountered an exception: ProgrammingError"}
}

// newStubPrefect is MonitorFish's Prefect 3 at prefectNow: Last positions
// failed 4 min ago, Logbook runs right now, Regulations is paused.
func newStubPrefect() *stubPrefect {
	failed := pipeline.Run{ID: failedRunID, Name: "crimson-fox", FlowID: "d-last", FlowName: "Monitorfish - Last positions", State: failedState(),
		ExpectedStart: prefectNow.Add(-6 * time.Minute), Start: prefectNow.Add(-6 * time.Minute), End: prefectNow.Add(-4 * time.Minute)}
	running := pipeline.Run{ID: runningRunID, Name: "amber-owl", FlowID: "d-logbook", FlowName: "Monitorfish - Logbook",
		State: pipeline.State{Type: pipeline.Running, Name: "Running"}, ExpectedStart: prefectNow.Add(-52 * time.Minute), Start: prefectNow.Add(-52 * time.Minute)}
	done := pipeline.Run{ID: "8f3e4c1a-5d6f-4e70-8b12-3c4d5e6f7081", Name: "quiet-lynx", FlowID: "d-regs", FlowName: "Monitorfish - Regulations",
		State: pipeline.State{Type: pipeline.Completed, Name: "Completed"}, Start: prefectNow.Add(-3 * time.Hour), End: prefectNow.Add(-3*time.Hour + 95*time.Second)}
	return &stubPrefect{
		uiURL: "https://prefect.example/ui",
		flows: []pipeline.Flow{
			{ID: "d-sales", Name: "Monitorfish - Sales and Logbook", Schedule: "*/5 * * * * (UTC)", ScheduleActive: true},
			{ID: "d-logbook", Name: "Monitorfish - Logbook", Schedule: "*/1 * * * * (UTC)", ScheduleActive: true, LastRun: &running},
			{ID: "d-last", Name: "Monitorfish - Last positions", Schedule: "*/2 * * * * (UTC)", ScheduleActive: true, LastRun: &failed},
			{ID: "d-regs", Name: "Monitorfish - Regulations", Schedule: "0 6 * * * (UTC)", ScheduleActive: false, LastRun: &done},
			{ID: "d-checkup", Name: "Monitorfish - Regulations checkup", Schedule: "0 7 * * 1 (UTC)", ScheduleActive: true},
			{ID: "d-ports", Name: "Monitorfish - Ports"},
		},
		runs: []pipeline.Run{failed, running, done},
		tasks: map[string][]pipeline.TaskRun{failedRunID: {
			{ID: "t1", Name: "extract_positions", State: pipeline.State{Type: pipeline.Completed, Name: "Completed"}, Start: prefectNow.Add(-6 * time.Minute), End: prefectNow.Add(-5 * time.Minute)},
			{ID: "t2", Name: "load_last_positions", State: pipeline.State{Type: pipeline.Failed, Name: "Failed", Message: "relation \"last_positions\" is locked"},
				Start: prefectNow.Add(-5 * time.Minute), End: prefectNow.Add(-4 * time.Minute)},
		}},
		logs: map[string][]pipeline.LogLine{failedRunID: {
			{Time: prefectNow.Add(-6 * time.Minute), Level: "INFO", Logger: "prefect.flow_runs", Message: "Beginning flow run 'crimson-fox'"},
			{Time: prefectNow.Add(-5 * time.Minute), Level: "ERROR", Logger: "prefect.task_runs", Message: "Task run 'load_last_positions' failed: connecting with password=Sup3rS3cr3t-db"},
			{Time: prefectNow.Add(-4*time.Minute - time.Second), Level: "INFO", Logger: "prefect.flow_runs", Message: "Cleaning up"},
			{Time: prefectNow.Add(-4 * time.Minute), Level: "CRITICAL", Logger: "prefect.flow_runs", Message: "Finished in state Failed"},
		}},
	}
}

const prefectYAML = `operators: [UOPS]
environments:
  prod:
    channels: [COPS]
limits:
  command_timeout: 300ms
`

// prefectCatalogue wires api (nil: no Prefect configured) into prod, with
// the pipeline containers, and confirmations, audit and mutes in a real
// in-memory store.
func prefectCatalogue(t *testing.T, api pipeline.API) (*Catalogue, *pipelineEngine, *store.Store) {
	t.Helper()
	cfg := loadConfig(t, prefectYAML)
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	engine := newPipelineEngine()
	env := &Environment{Config: cfg.Environments[0], Docker: engine}
	if api != nil {
		env.Pipeline = api
	}
	c, err := New(cfg, []*Environment{env}, Options{Audit: st, Confirmations: st, Mutes: st, Now: func() time.Time { return prefectNow }})
	if err != nil {
		t.Fatal(err)
	}
	return c, engine, st
}

// byOperator and byViewer are Slack requests in the allowed channel.
func byOperator(line string) Request { return slack(line, "UOPS", "COPS") }
func byViewer(line string) Request   { return slack(line, "UVIEW", "COPS") }

// confirmedInConsole is a line the console runs after its own prompt.
func confirmedInConsole(line string) Request {
	return Request{Line: line, User: "console:ops", Via: ViaConsole, Confirmed: true}
}

func tableOf(t *testing.T, rep Reply, n int) *Table {
	t.Helper()
	for _, b := range rep.Blocks {
		if tbl, ok := b.(*Table); ok {
			if n == 0 {
				return tbl
			}
			n--
		}
	}
	t.Fatalf("no table in:\n%s", replyText(rep))
	return nil
}

func TestFlowsListsEveryFlowByName(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	rep := c.Run(context.Background(), byViewer("flows"))
	if rep.Status != StatusOK || rep.Title != "6 flows in prod, 1 paused, 1 whose last run failed" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	tbl := tableOf(t, rep, 0)
	var names []string
	rows := map[string][]string{}
	for _, r := range tbl.Rows {
		names = append(names, r[0])
		rows[r[0]] = r
	}
	if want := []string{"Last positions", "Logbook", "Ports", "Regulations", "Regulations checkup", "Sales and Logbook"}; !slices.Equal(names, want) {
		t.Errorf("flows %q, want short names sorted %q", names, want)
	}
	wantRow(t, rows["Last positions"], "Last positions", "*/2 * * * * (UTC)", "yes", "Failed", "4 min ago")
	wantRow(t, rows["Logbook"], "Logbook", "*/1 * * * * (UTC)", "yes", "Running", "running for 52 min")
	wantRow(t, rows["Regulations"], "Regulations", "0 6 * * * (UTC)", "paused", "Completed", "2 h 58 min ago")
	wantRow(t, rows["Ports"], "Ports", "none", "—", "—", "")
}

// Every Prefect verb, read-only or not, with a line that is valid.
var prefectLines = []string{
	"flows", "runs", "runs logbook --failed", "run logs " + failedRunID, "run cancel " + runningRunID,
	"flow run logbook", "flow pause logbook", "flow resume regulations",
}

func TestPrefectVerbsWithoutPrefectSayHowToConfigureIt(t *testing.T) {
	c, engine, _ := prefectCatalogue(t, nil)
	for _, line := range prefectLines {
		for _, req := range []Request{byOperator(line), confirmedInConsole(line)} {
			rep := c.Run(context.Background(), req)
			out := replyText(rep)
			if rep.Status != StatusFailed || rep.Confirm != nil ||
				!strings.Contains(out, "Prefect is not configured for prod: set PREFECT_API_URL (…/graphql for Prefect 1, …/api for Prefect 3)") {
				t.Errorf("%q via %s: %s, want a failure saying how to configure Prefect, no confirmation:\n%s", line, req.Via, rep.Status, out)
			}
		}
	}
	if len(engine.mutations) > 0 {
		t.Fatalf("ran %v", engine.mutations)
	}
}

func TestPrefectUnreachableIsAShortFailure(t *testing.T) {
	api := newStubPrefect()
	api.err = fmt.Errorf("list flows: %w: dial tcp 10.0.3.7:4200: connect: connection refused", pipeline.ErrUnreachable)
	c, _, _ := prefectCatalogue(t, api)
	for _, line := range prefectLines {
		for _, req := range []Request{byOperator(line), confirmedInConsole(line)} {
			rep := c.Run(context.Background(), req)
			out := replyText(rep)
			if rep.Status != StatusFailed || rep.Confirm != nil || rep.Title != "Prefect does not answer in prod" ||
				!strings.Contains(out, "connection refused") || strings.Contains(out, "goroutine") {
				t.Errorf("%q via %s: %s %q, want a short failure and no confirmation:\n%s", line, req.Via, rep.Status, rep.Title, out)
			}
		}
	}
	if m := api.mutations(); len(m) > 0 {
		t.Fatalf("mutations %v", m)
	}
}

func TestPrefectCallsAreBoundedByTheCommandTimeout(t *testing.T) {
	api := newStubPrefect()
	api.hang = true
	c, _, _ := prefectCatalogue(t, api)
	for _, req := range []Request{byViewer("flows"), byOperator("flow run logbook"), confirmedInConsole("run cancel " + runningRunID)} {
		started := time.Now()
		rep := c.Run(context.Background(), req)
		if took := time.Since(started); took > 5*time.Second {
			t.Errorf("%q took %s: the command timeout is 300ms", req.Line, took)
		}
		if rep.Status != StatusFailed || rep.Title != "Prefect does not answer in prod" {
			t.Errorf("%q: %s %q", req.Line, rep.Status, rep.Title)
		}
	}
}

func TestRunsNewestFirstWithLimitAndFlow(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	rep := c.Run(context.Background(), byViewer("runs"))
	if rep.Status != StatusOK || rep.Title != "Last 3 runs in prod" {
		t.Fatalf("%s %q", rep.Status, rep.Title)
	}
	tbl := tableOf(t, rep, 0)
	if !slices.Equal(tbl.Header, []string{"run", "id", "flow", "state", "start", "duration"}) {
		t.Errorf("header %q", tbl.Header)
	}
	wantRow(t, tbl.Rows[0], "crimson-fox", "6f1c2a9e", "Last positions", "Failed", "2025-03-14 09:20:53 UTC", "2 min")
	wantRow(t, tbl.Rows[1], "amber-owl", "7e2d3b0f", "Logbook", "Running", "2025-03-14 08:34:53 UTC", "52 min so far")
	if len(rep.Actions) != 1 || rep.Actions[0].Command != "prod run logs "+failedRunID {
		t.Errorf("actions %+v: the failed run gets a Logs button with its full ID", rep.Actions)
	}
	if q := api.runQueries[0]; q.Limit != 10 || q.Failed || q.Flows != nil {
		t.Errorf("default query %+v, want limit 10, every flow", q)
	}

	rep = c.Run(context.Background(), byViewer("runs last positions --failed --limit 50"))
	if rep.Status != StatusOK || rep.Title != "Last 1 failed runs of Monitorfish - Last positions in prod" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	if q := api.runQueries[1]; q.Limit != 50 || !q.Failed || len(q.Flows) != 1 || q.Flows[0].ID != "d-last" {
		t.Errorf("query %+v", q)
	}
	rep = c.Run(context.Background(), byViewer("runs ports"))
	if rep.Status != StatusOK || rep.Title != "No runs of Monitorfish - Ports in prod" {
		t.Errorf("%s %q", rep.Status, rep.Title)
	}
}

func TestPrefectBadInputRunsNothing(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	for line, want := range map[string]string{
		"runs --limit 0":                       "--limit must be between 1 and 200",
		"runs --limit 201":                     "--limit must be between 1 and 200",
		"runs --limit ten":                     "--limit wants a number of runs",
		"runs --failed=maybe":                  "--failed takes no value",
		"run logs":                             "run logs needs a flow run ID",
		"run logs 42":                          `"42" is not a flow run ID`,
		"run logs " + failedRunID + " extra":   "run logs takes one run ID",
		"run logs ../../etc/passwd":            "is not a flow run ID",
		"run cancel 6f1c2a9e":                  `"6f1c2a9e" is not a flow run ID`,
		"run":                                  "run what? run cancel <run-id> · run logs <run-id>",
		"flow":                                 "flow what? flow pause <flow> · flow resume <flow> · flow run <flow>",
		"flow frobnicate logbook":              "flow what?",
		"flow run":                             "Which flow?",
		"flow run --idempotency-key=x logbook": "--idempotency-key wants 8 to 64 letters",
		"flows logbook":                        "flows takes no argument",
	} {
		for _, req := range []Request{byOperator(line), confirmedInConsole(line)} {
			rep := c.Run(context.Background(), req)
			if rep.Status != StatusUsage || rep.Confirm != nil || !strings.Contains(replyText(rep), want) {
				t.Errorf("%q via %s: %s, want usage containing %q:\n%s", line, req.Via, rep.Status, want, replyText(rep))
			}
		}
	}
	// The run ID is checked before any call.
	before := api.callCount()
	c.Run(context.Background(), byViewer("run logs not-a-uuid"))
	c.Run(context.Background(), byOperator("run cancel not-a-uuid"))
	if api.callCount() != before {
		t.Errorf("a bad run ID made %d Prefect calls", api.callCount()-before)
	}
	if m := api.mutations(); len(m) > 0 {
		t.Fatalf("mutations %v", m)
	}
}

func TestAmbiguousOrUnknownFlowListsThemAndAsksNothing(t *testing.T) {
	api := newStubPrefect()
	c, _, st := prefectCatalogue(t, api)
	for _, line := range []string{"runs regul", "flow run regul", "flow pause regul", "flow resume regul"} {
		rep := c.Run(context.Background(), byOperator(line))
		out := replyText(rep)
		if rep.Status != StatusUsage || rep.Confirm != nil ||
			!strings.Contains(out, `"regul" fits 2 flows: Monitorfish - Regulations, Monitorfish - Regulations checkup. Nothing was run`) {
			t.Errorf("%q: %s, want the candidates:\n%s", line, rep.Status, out)
		}
	}
	for _, line := range []string{"runs vessels", "flow run vessels"} {
		rep := c.Run(context.Background(), byOperator(line))
		if out := replyText(rep); rep.Status != StatusUsage || rep.Confirm != nil ||
			!strings.Contains(out, `No flow is named "vessels" in prod. Flows: Last positions, Logbook, Ports, Regulations, Regulations checkup, Sales and Logbook.`) {
			t.Errorf("%q: %s, want the known flows:\n%s", line, rep.Status, out)
		}
	}
	if m := api.mutations(); len(m) > 0 {
		t.Fatalf("mutations %v", m)
	}
	// No confirmation was created: the audit shows usage errors only.
	entries, err := st.RecentAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Outcome != "usage" {
			t.Errorf("%q: outcome %s", e.Command, e.Outcome)
		}
	}
}

func TestRunLogsErrorsFirst(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	rep := c.Run(context.Background(), byViewer("run logs "+strings.ToUpper(failedRunID)))
	out := replyText(rep)
	if rep.Status != StatusOK || rep.Title != "Run crimson-fox of Last positions in prod: Failed" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, out)
	}
	if got := fieldValue(t, rep, "Link"); got != "https://prefect.example/ui/runs/flow-run/"+failedRunID {
		t.Errorf("link %q", got)
	}
	if got := fieldValue(t, rep, "State"); got != "Failed: Flow run encountered an exception: ProgrammingError" {
		t.Errorf("state %q", got)
	}
	if got := fieldValue(t, rep, "Duration"); got != "2 min" {
		t.Errorf("duration %q", got)
	}
	mustContain(t, out, "Failed task runs (1 of 2):\nFailed · load_last_positions · 1 min · relation \"last_positions\" is locked\n")
	var codes []string
	for _, b := range rep.Blocks {
		if code, ok := b.(*Code); ok {
			codes = append(codes, code.Text)
		}
	}
	if len(codes) != 2 {
		t.Fatalf("%d code blocks, want the errors then the rest:\n%s", len(codes), out)
	}
	wantErrors := "09:21:53 UTC ERROR prefect.task_runs: Task run 'load_last_positions' failed: connecting with password=[REDACTED]\n" +
		"09:22:53 UTC CRITICAL prefect.flow_runs: Finished in state Failed"
	if codes[0] != wantErrors {
		t.Errorf("errors block:\n%s\nwant:\n%s", codes[0], wantErrors)
	}
	if !strings.HasPrefix(codes[1], "09:20:53 UTC INFO prefect.flow_runs: Beginning flow run") || strings.Contains(codes[1], "ERROR") {
		t.Errorf("other lines:\n%s", codes[1])
	}
	mustContain(t, out, "ERROR and above: 2 of its 4 log lines.", "The other 2 lines:")
	if strings.Contains(out, "Sup3rS3cr3t") {
		t.Error("a password in a log line shows")
	}
	if len(rep.Actions) != 1 || rep.Actions[0].Command != "prod flow run last-positions" {
		t.Errorf("actions %+v: a failed run offers a rerun", rep.Actions)
	}
}

func TestRunLogsLongGoesToAFile(t *testing.T) {
	api := newStubPrefect()
	var logs []pipeline.LogLine
	for i := range 300 {
		l := pipeline.LogLine{Time: prefectNow.Add(time.Duration(i-300) * time.Second), Level: "INFO", Logger: "prefect.task_runs", Message: fmt.Sprintf("processed batch %d", i)}
		if i%10 == 9 {
			l.Level, l.Message = "ERROR", fmt.Sprintf("batch %d rejected", i)
		}
		logs = append(logs, l)
	}
	api.logs[failedRunID] = logs
	c, _, _ := prefectCatalogue(t, api)
	rep := c.Run(context.Background(), byViewer("run logs "+failedRunID))
	var file *File
	var code string
	for _, b := range rep.Blocks {
		switch b := b.(type) {
		case *File:
			file = b
		case *Code:
			code = b.Text
		}
	}
	if file == nil || file.Name != "run-crimson-fox-logs.txt" {
		t.Fatalf("want the logs in a file:\n%s", replyText(rep))
	}
	content := string(file.Content)
	firstError, firstInfo := strings.Index(content, "batch 9 rejected"), strings.Index(content, "processed batch 0")
	if firstError < 0 || firstInfo < 0 || firstError > firstInfo || strings.Count(content, "\n") < 300 {
		t.Errorf("the file must hold every line, errors first:\n%.500s", content)
	}
	if strings.Count(code, "\n") != 19 || !strings.HasSuffix(code, "batch 299 rejected") || strings.Contains(code, "processed") {
		t.Errorf("the message keeps the last 20 error lines:\n%s", code)
	}
	mustContain(t, replyText(rep), "ERROR and above: 30 of its 300 log lines.", "The last 20 (the 10 earlier ones are in run-crimson-fox-logs.txt):")
}

func TestRunLogsOfAnUnknownRun(t *testing.T) {
	c, _, _ := prefectCatalogue(t, newStubPrefect())
	rep := c.Run(context.Background(), byViewer("run logs "+unknownRunID))
	if rep.Status != StatusFailed || !strings.Contains(replyText(rep), "no flow run "+unknownRunID) {
		t.Fatalf("%s\n%s", rep.Status, replyText(rep))
	}
}

// keyOf extracts the idempotency key a confirmation pinned.
func keyOf(t *testing.T, command string) string {
	t.Helper()
	m := regexp.MustCompile(`--idempotency-key=([0-9a-f]{32})$`).FindStringSubmatch(command)
	if m == nil {
		t.Fatalf("command %q carries no idempotency key", command)
	}
	return m[1]
}

func TestFlowRunNeedsAnOperatorAndAConfirmationAndRunsOnce(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	ctx := context.Background()

	if rep := c.Run(ctx, byViewer("flow run logbook")); rep.Status != StatusDenied {
		t.Fatalf("viewer: %s", rep.Status)
	}
	rep := c.Run(ctx, byOperator("flow run logbook"))
	if rep.Status != StatusPending || rep.Confirm == nil || rep.Confirm.ID == "" {
		t.Fatalf("%s %+v", rep.Status, rep.Confirm)
	}
	if want := `prod flow run "Monitorfish - Logbook" --idempotency-key=`; !strings.HasPrefix(rep.Confirm.Command, want) {
		t.Errorf("command %q, want the resolved flow and a key", rep.Confirm.Command)
	}
	key := keyOf(t, rep.Confirm.Command)
	if want := "Start a run of Monitorfish - Logbook in prod now? Its run amber-owl is still Running (running for 52 min): Prefect may refuse or cancel a second one."; rep.Confirm.Prompt != want {
		t.Errorf("prompt %q\nwant   %q", rep.Confirm.Prompt, want)
	}
	if m := api.mutations(); len(m) > 0 {
		t.Fatalf("started before the confirmation: %v", m)
	}
	if _, o := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UVIEW", Channel: "COPS", Confirm: true}, nil); o != DecisionDenied {
		t.Fatalf("a viewer's click: %v", o)
	}

	done, outcome := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if outcome != DecisionRan || done.Status != StatusOK || done.Title != "Run brisk-heron of Monitorfish - Logbook started in prod" {
		t.Fatalf("%v %s %q\n%s", outcome, done.Status, done.Title, replyText(done))
	}
	mustContain(t, replyText(done), "Run ID 0a0b0c0d-0000-4000-8000-000000000001", "Link https://prefect.example/ui/runs/flow-run/0a0b0c0d-0000-4000-8000-000000000001")
	if _, o := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil); o != DecisionDuplicate {
		t.Fatalf("double click: %v", o)
	}
	if got, want := api.mutations(), []string{"d-logbook mfbot-" + key}; !slices.Equal(got, want) {
		t.Fatalf("StartRun calls %q, want %q", got, want)
	}

	// The same confirmed line again (a retried request): Prefect finds the
	// run by its key, and the reply says no second run started.
	again := c.Run(ctx, Request{Line: rep.Confirm.Command, User: "UOPS", Channel: "COPS", Via: ViaButton, Confirmed: true})
	if again.Status != StatusOK || !strings.Contains(again.Title, "already started by this request") {
		t.Fatalf("%s %q", again.Status, again.Title)
	}
	if got := api.mutations(); len(got) != 2 || got[1] != got[0] {
		t.Fatalf("the retry must send the same key: %q", got)
	}
}

func TestConsoleFlowRunConfirmsInline(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	ctx := context.Background()
	rep := c.Run(ctx, Request{Line: "flow run sales-and-logbook", User: "console:ops", Via: ViaConsole})
	if rep.Status != StatusPending || rep.Confirm.ID != "" {
		t.Fatalf("%s %+v: the console asks inline", rep.Status, rep.Confirm)
	}
	key := keyOf(t, rep.Confirm.Command)
	done := c.Run(ctx, confirmedInConsole(rep.Confirm.Command))
	if done.Status != StatusOK || !slices.Equal(api.mutations(), []string{"d-sales mfbot-" + key}) {
		t.Fatalf("%s %v", done.Status, api.mutations())
	}
}

func TestRunCancelReportsPrefectsDecision(t *testing.T) {
	for _, tc := range []struct {
		decision pipeline.Cancellation
		status   Status
		title    string
		text     []string
	}{
		{pipeline.Cancellation{Status: "ACCEPT", State: pipeline.State{Type: pipeline.Cancelling, Name: "Cancelling"}}, StatusOK,
			"Cancelling run amber-owl of Logbook in prod", []string{"Prefect's answer ACCEPT", "Run state Cancelling"}},
		{pipeline.Cancellation{Status: "REJECT", Reason: "This run is already in terminal state COMPLETED."}, StatusFailed,
			"Prefect refused to cancel run amber-owl of Logbook in prod (REJECT)", []string{"Reason This run is already in terminal state COMPLETED."}},
		{pipeline.Cancellation{Status: "ABORT", Reason: "Run is not in a state that can be cancelled."}, StatusFailed,
			"Prefect refused to cancel run amber-owl of Logbook in prod (ABORT)", []string{"Reason Run is not in a state that can be cancelled."}},
		{pipeline.Cancellation{Status: "WAIT", Reason: "Another state transition is in progress."}, StatusFailed,
			"Prefect did not cancel run amber-owl of Logbook in prod yet: it answered WAIT", []string{"Nothing is cancelled for now", "Another state transition"}},
	} {
		t.Run(tc.decision.Status, func(t *testing.T) {
			api := newStubPrefect()
			api.cancellation = tc.decision
			c, _, _ := prefectCatalogue(t, api)
			ctx := context.Background()
			rep := c.Run(ctx, byOperator("run cancel "+runningRunID))
			if rep.Status != StatusPending || rep.Confirm.Prompt != "Cancel run amber-owl of Monitorfish - Logbook (Running, running for 52 min) in prod?" {
				t.Fatalf("%s %+v", rep.Status, rep.Confirm)
			}
			if len(api.cancels) != 0 {
				t.Fatal("cancelled before the confirmation")
			}
			done, _ := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
			c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
			if done.Status != tc.status || done.Title != tc.title {
				t.Errorf("%s %q, want %s %q", done.Status, done.Title, tc.status, tc.title)
			}
			mustContain(t, replyText(done), tc.text...)
			if !slices.Equal(api.cancels, []string{runningRunID}) {
				t.Errorf("CancelRun calls %v, want exactly one", api.cancels)
			}
		})
	}
}

func TestRunCancelOfAnUnknownRunAsksNothing(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	rep := c.Run(context.Background(), byOperator("run cancel "+unknownRunID))
	if rep.Status != StatusFailed || rep.Confirm != nil || !strings.Contains(replyText(rep), "no flow run "+unknownRunID) {
		t.Fatalf("%s\n%s", rep.Status, replyText(rep))
	}
	if len(api.cancels) != 0 {
		t.Fatal("cancelled")
	}
}

func TestFlowPauseAndResumeSetTheSchedule(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	ctx := context.Background()

	rep := c.Run(ctx, byOperator("flow pause Logbook"))
	if rep.Status != StatusPending || rep.Confirm.Command != `prod flow pause "Monitorfish - Logbook"` ||
		rep.Confirm.Prompt != "Pause the schedule of Monitorfish - Logbook (*/1 * * * * (UTC)) in prod? No scheduled run of it starts until `flow resume`." {
		t.Fatalf("%s %+v", rep.Status, rep.Confirm)
	}
	done, _ := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if done.Status != StatusOK || done.Title != "Schedule of Monitorfish - Logbook paused in prod" ||
		fieldValue(t, done, "Schedule active") != "paused (read back from Prefect)" {
		t.Fatalf("%s %q\n%s", done.Status, done.Title, replyText(done))
	}
	if len(done.Actions) != 1 || done.Actions[0].Command != "prod flow resume logbook" {
		t.Errorf("actions %+v", done.Actions)
	}

	rep = c.Run(ctx, byOperator("flow resume regulations"))
	done, _ = c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if done.Status != StatusOK || fieldValue(t, done, "Schedule active") != "yes (read back from Prefect)" {
		t.Fatalf("%s %q\n%s", done.Status, done.Title, replyText(done))
	}
	if got, want := api.schedules, []string{"d-logbook false", "d-regs true"}; !slices.Equal(got, want) {
		t.Fatalf("SetScheduleActive calls %q, want %q", got, want)
	}

	// Already so, or without a schedule: nothing to confirm, nothing done.
	for line, want := range map[string]string{
		"flow pause logbook":                            "already paused in prod: nothing to do",
		"flow resume sales":                             "already active in prod: nothing to do",
		"flow pause ports":                              "Monitorfish - Ports has no schedule in prod",
		"flow pause last positions --idempotency-key=x": "unknown flag --idempotency-key",
	} {
		if rep := c.Run(ctx, byOperator(line)); rep.Confirm != nil || !strings.Contains(replyText(rep), want) {
			t.Errorf("%q: %s, want %q:\n%s", line, rep.Status, want, replyText(rep))
		}
	}
	if len(api.schedules) != 2 {
		t.Fatalf("SetScheduleActive calls %q", api.schedules)
	}
}

func TestMuteAFlowOrThePrefectAPI(t *testing.T) {
	api := newStubPrefect()
	c, _, st := prefectCatalogue(t, api)
	ctx := context.Background()
	for line, target := range map[string]string{
		"mute logbook 1h deploying":       "logbook",
		`mute "Sales and Logbook" 2h ftp`: "sales-and-logbook",
		"mute sales-and-logbook 3h":       "sales-and-logbook",
		"mute prefect-api 30m":            "prefect-api",
		"mute app 1h":                     "app",
	} {
		rep := c.Run(ctx, confirmedInConsole(line))
		if rep.Status != StatusOK || fieldValue(t, rep, "Target") != target {
			t.Errorf("%q: %s, want target %q:\n%s", line, rep.Status, target, replyText(rep))
		}
	}
	mutes, err := st.ActiveMutes(ctx, prefectNow)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range mutes {
		targets = append(targets, m.Target)
	}
	slices.Sort(targets)
	if want := []string{"app", "logbook", "prefect-api", "sales-and-logbook", "sales-and-logbook"}; !slices.Equal(targets, want) {
		t.Errorf("mutes %q, want %q", targets, want)
	}
	for line, want := range map[string]string{
		"mute regul 1h":   `"regul" fits 2 flows`,
		"mute vessels 1h": `Unknown service, check or flow "vessels"`,
		"mute logbok 1h":  `Unknown service, check or flow "logbok" (did you mean Logbook?)`,
	} {
		if rep := c.Run(ctx, confirmedInConsole(line)); rep.Status != StatusUsage || !strings.Contains(replyText(rep), want) {
			t.Errorf("%q: %s, want %q:\n%s", line, rep.Status, want, replyText(rep))
		}
	}
	if rep := c.Run(ctx, confirmedInConsole("unmute logbook")); rep.Status != StatusOK || !strings.Contains(rep.Title, "logbook") || !strings.Contains(rep.Title, "1 mute(s) ended") {
		t.Errorf("unmute a flow: %s %q", rep.Status, rep.Title)
	}

	// Without Prefect, a flow name is an unknown target.
	noPrefect, _, _ := prefectCatalogue(t, nil)
	if rep := noPrefect.Run(ctx, confirmedInConsole("mute logbook 1h")); rep.Status != StatusUsage || !strings.Contains(replyText(rep), "Unknown service or check") {
		t.Errorf("without Prefect: %s\n%s", rep.Status, replyText(rep))
	}
}

func TestHelpListsThePrefectVerbs(t *testing.T) {
	c, _, _ := prefectCatalogue(t, newStubPrefect())
	out := replyText(c.Run(context.Background(), byViewer("help")))
	for _, usage := range []string{"flows", "runs [flow] [--failed] [--limit N]", "run logs <run-id>", "flow run <flow>", "run cancel <run-id>",
		"flow pause <flow>", "flow resume <flow>", "pipeline status [server|flows]", "pipeline start [server|flows]", "pipeline stop [server|flows]",
		"mute <service|check|flow|all> <duration> [reason]"} {
		if !strings.Contains(out, usage+" ") {
			t.Errorf("help lacks %q:\n%s", usage, out)
		}
	}
	for line, want := range map[string]string{
		"help flow run":   "Examples: flow run logbook",
		"help run cancel": "Needs an operator and a confirmation.",
		"help runs":       "--limit  how many (default 10, at most 200)",
		"help flow":       "flow pause <flow>",
		"help pipeline":   "pipeline stop [server|flows]",
	} {
		if rep := c.Run(context.Background(), byViewer(line)); rep.Status != StatusOK || !strings.Contains(replyText(rep), want) {
			t.Errorf("%q: %s, want %q:\n%s", line, rep.Status, want, replyText(rep))
		}
	}
}

// pipelineEngine is the engine of the pipeline tests: the MonitorFish
// containers, pipeline included; Start and Stop change their state the
// way the engine would (a container in failToStart exits at once).
type pipelineEngine struct {
	recordingEngine
	failToStart map[string]bool
}

func newPipelineEngine() *pipelineEngine {
	return &pipelineEngine{recordingEngine: recordingEngine{containers: []containers.Container{
		{ID: "a1", Name: "monitorfish_backend", State: "running", Health: "healthy", Image: "ghcr.io/mtes-mct/monitorfish/monitorfish-app:v1.54.2"},
		{ID: "s1", Name: "monitorfish-pipeline-server", State: "running", Image: "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline:v1.8.0"},
		{ID: "f1", Name: "monitorfish-pipeline-flows", State: "exited", Image: "ghcr.io/mtes-mct/monitorfish/monitorfish-pipeline:v1.8.0"},
	}}}
}

func (e *pipelineEngine) setState(id, state string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.containers {
		if e.containers[i].ID == id {
			e.containers[i].State = state
		}
	}
}

func (e *pipelineEngine) Start(ctx context.Context, id string) error {
	e.recordingEngine.Start(ctx, id)
	if e.failToStart[id] {
		e.setState(id, "exited")
	} else {
		e.setState(id, "running")
	}
	return nil
}

func (e *pipelineEngine) Stop(ctx context.Context, id string, timeout time.Duration) error {
	e.recordingEngine.Stop(ctx, id, timeout)
	e.setState(id, "exited")
	return nil
}

func (e *pipelineEngine) Image(context.Context, string) (containers.Image, error) {
	return containers.Image{}, errors.New("not used")
}

// `status` says whether Prefect answers and names its last failed runs;
// Prefect down or not configured is said, never hidden.
func TestStatusShowsPrefect(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	out := replyText(c.Run(context.Background(), byViewer("status")))
	if !strings.Contains(out, "Prefect: ") || !strings.Contains(out, "answers, last failed runs: Last positions Failed 4 min ago") {
		t.Errorf("status without Prefect's state:\n%s", out)
	}
	api.err = fmt.Errorf("list flow runs: %w", pipeline.ErrUnreachable)
	if out := replyText(c.Run(context.Background(), byViewer("status"))); !strings.Contains(out, "Prefect: not answering") {
		t.Errorf("status with Prefect down:\n%s", out)
	}
	c, _, _ = prefectCatalogue(t, nil)
	if out := replyText(c.Run(context.Background(), byViewer("status"))); !strings.Contains(out, "Prefect: not configured (PREFECT_API_URL)") {
		t.Errorf("status without Prefect:\n%s", out)
	}
}

// Only the commands about the pipeline ask Prefect: `volumes` does not.
func TestVolumesAsksNothingOfPrefect(t *testing.T) {
	api := newStubPrefect()
	c, _, _ := prefectCatalogue(t, api)
	c.Run(context.Background(), byViewer("volumes"))
	if api.calls != 0 {
		t.Errorf("volumes made %d Prefect call(s)", api.calls)
	}
}

// Volumes: the pipeline containers mount none.
func (e *pipelineEngine) Volumes(context.Context) ([]containers.Volume, error) { return nil, nil }

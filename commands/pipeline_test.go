package commands_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "mfbot/commands"
	"mfbot/pipeline"
	. "mfbot/reply"
)

func TestPipelineStatusShowsContainersAndPrefect(t *testing.T) {
	c, _, _ := prefectCatalogue(t, newStubPrefect())
	rep := c.Run(context.Background(), byViewer("pipeline status"))
	if rep.Status != StatusOK || rep.Title != "Pipeline of prod: pipeline-flows exited" {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	containers := tableOf(t, rep, 0)
	if len(containers.Rows) != 2 {
		t.Fatalf("rows %q: the pipeline containers only", containers.Rows)
	}
	wantRow(t, containers.Rows[0], "pipeline-server", "monitorfish-pipeline-server", "running", "—", "1 h", "v1.8.0", "0")
	wantRow(t, containers.Rows[1], "pipeline-flows", "monitorfish-pipeline-flows", "exited", "—", "", "v1.8.0", "0")
	if got := fieldValue(t, rep, "Prefect API"); got != "answers: Prefect 3.6.9" {
		t.Errorf("Prefect API %q", got)
	}
	wantRow(t, tableOf(t, rep, 1).Rows[0], "Last positions", "crimson-fox", "Failed", "4 min ago")

	rep = c.Run(context.Background(), byViewer("pipeline status server"))
	if rep.Title != "Pipeline of prod: up, Prefect answers" || len(tableOf(t, rep, 0).Rows) != 1 || rep.Target == nil || rep.Target.Service != "pipeline-server" {
		t.Errorf("%q %+v\n%s", rep.Title, rep.Target, replyText(rep))
	}
}

func TestPipelineStatusWithoutOrWithADownPrefect(t *testing.T) {
	c, _, _ := prefectCatalogue(t, nil)
	rep := c.Run(context.Background(), byViewer("pipeline status flows"))
	if rep.Status != StatusOK || fieldValue(t, rep, "Prefect API") != "not configured (PREFECT_API_URL)" {
		t.Errorf("%s\n%s", rep.Status, replyText(rep))
	}
	down := newStubPrefect()
	down.err = fmt.Errorf("version: %w: dial tcp 10.0.3.7:4200: connect: connection refused", pipeline.ErrUnreachable)
	c, _, _ = prefectCatalogue(t, down)
	rep = c.Run(context.Background(), byViewer("pipeline status server"))
	if rep.Status != StatusOK || rep.Title != "Pipeline of prod: Prefect API not answering" ||
		!strings.HasPrefix(fieldValue(t, rep, "Prefect API"), "NOT ANSWERING: version: Prefect does not answer") {
		t.Errorf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
}

func TestPipelineBadInputRunsNothing(t *testing.T) {
	c, engine, _ := prefectCatalogue(t, newStubPrefect())
	for line, want := range map[string]string{
		"pipeline":                   "pipeline what? pipeline start [server|flows] · pipeline status [server|flows] · pipeline stop [server|flows]",
		"pipeline status web":        `Which part of the pipeline? server or flows (both when omitted), got "web"`,
		"pipeline stop server flows": "pipeline stop takes at most one of server or flows",
		"pipeline start app":         "Which part of the pipeline?",
	} {
		for _, req := range []Request{byOperator(line), confirmedInConsole(line)} {
			rep := c.Run(context.Background(), req)
			if rep.Status != StatusUsage || rep.Confirm != nil || !strings.Contains(replyText(rep), want) {
				t.Errorf("%q via %s: %s, want usage with %q:\n%s", line, req.Via, rep.Status, want, replyText(rep))
			}
		}
	}
	if len(engine.mutations) > 0 {
		t.Fatalf("ran %v", engine.mutations)
	}
}

func TestPipelineStopIsConfirmedAndStopsTheFlowsFirst(t *testing.T) {
	c, engine, _ := prefectCatalogue(t, newStubPrefect())
	ctx := context.Background()
	if rep := c.Run(ctx, byViewer("pipeline stop")); rep.Status != StatusDenied {
		t.Fatalf("viewer: %s", rep.Status)
	}
	rep := c.Run(ctx, byOperator("pipeline stop"))
	if rep.Status != StatusPending || rep.Confirm.Command != "prod pipeline stop" ||
		rep.Confirm.Prompt != "Stop pipeline-flows, then pipeline-server in prod? No flow runs until pipeline-flows is started again." {
		t.Fatalf("%s %+v", rep.Status, rep.Confirm)
	}
	if len(engine.mutations) > 0 {
		t.Fatalf("ran %v before the confirmation", engine.mutations)
	}
	done, _ := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if _, o := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil); o != DecisionDuplicate {
		t.Fatalf("double click: %v", o)
	}
	if done.Status != StatusOK || done.Title != "Pipeline stopped in prod: pipeline-flows, pipeline-server" || done.DecidedBy != "UOPS" {
		t.Fatalf("%s %q\n%s", done.Status, done.Title, replyText(done))
	}
	mustContain(t, replyText(done), "pipeline-flows stopped:", "pipeline-server stopped:", "Container monitorfish-pipeline-server", "State exited")
	if want := []string{"stop f1", "stop s1"}; !slices.Equal(engine.mutations, want) {
		t.Fatalf("mutations %v, want %v", engine.mutations, want)
	}
}

func TestPipelineStartActsOnTheNamedContainer(t *testing.T) {
	c, engine, _ := prefectCatalogue(t, newStubPrefect())
	ctx := context.Background()
	rep := c.Run(ctx, byOperator("pipeline start flows"))
	if rep.Status != StatusPending || rep.Confirm.Prompt != "Start pipeline-flows in prod?" {
		t.Fatalf("%s %+v", rep.Status, rep.Confirm)
	}
	done, _ := c.Decide(ctx, Decision{ID: rep.Confirm.ID, User: "UOPS", Channel: "COPS", Confirm: true}, nil)
	if done.Status != StatusOK || done.Title != "Pipeline started in prod: pipeline-flows" || done.Target.Service != "pipeline-flows" {
		t.Fatalf("%s %q\n%s", done.Status, done.Title, replyText(done))
	}
	mustContain(t, replyText(done), "pipeline-flows started:", "State running", "Health no healthcheck")
	if want := []string{"start f1"}; !slices.Equal(engine.mutations, want) {
		t.Fatalf("mutations %v, want %v", engine.mutations, want)
	}
}

func TestPipelineStartStopsAtAServerThatDoesNotComeUp(t *testing.T) {
	c, engine, _ := prefectCatalogue(t, newStubPrefect())
	engine.failToStart = map[string]bool{"s1": true}
	engine.setState("s1", "exited")
	rep := c.Run(context.Background(), confirmedInConsole("pipeline start"))
	if rep.Status != StatusFailed || !strings.Contains(rep.Title, "pipeline-server started but is exited") || !strings.Contains(rep.Title, "pipeline-flows not started") {
		t.Fatalf("%s %q\n%s", rep.Status, rep.Title, replyText(rep))
	}
	if want := []string{"start s1"}; !slices.Equal(engine.mutations, want) {
		t.Fatalf("mutations %v, want %v: the flows need the server", engine.mutations, want)
	}
}

package slack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/commands"
	"mfbot/config"
	"mfbot/pipeline"
	"mfbot/reply"
)

// The Slack rendering of the Prefect verbs, as the catalogue makes them
// (a fixed Prefect at renderNow), kept in golden files
// testdata/prefect-*.golden.json (go test -run TestRenderPrefectGolden
// -update rewrites them).

const (
	goldenFailedRun = "6f1c2a9e-3b4d-4c5e-8f90-1a2b3c4d5e6f"
	goldenLongRun   = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	goldenStarted   = "0a0b0c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
)

// goldenPrefect is MonitorFish's Prefect 3 at renderNow.
type goldenPrefect struct{}

func goldenRuns() []pipeline.Run {
	at := func(d time.Duration) time.Time { return renderNow.Add(-d) }
	failed := pipeline.State{Type: pipeline.Failed, Name: "Failed", Message: "Flow run encountered an exception: OperationalError: could not connect to server"}
	return []pipeline.Run{
		{ID: "1b2c3d4e-0000-4000-8000-000000000001", Name: "amber-owl", FlowID: "d-logbook", FlowName: "Monitorfish - Logbook",
			State: pipeline.State{Type: pipeline.Running, Name: "Running"}, ExpectedStart: at(40 * time.Second), Start: at(38 * time.Second)},
		{ID: goldenFailedRun, Name: "crimson-fox", FlowID: "d-last", FlowName: "Monitorfish - Last positions", State: failed,
			ExpectedStart: at(6 * time.Minute), Start: at(6 * time.Minute), End: at(4 * time.Minute)},
		{ID: "2c3d4e5f-0000-4000-8000-000000000002", Name: "gentle-wren", FlowID: "d-sales", FlowName: "Monitorfish - Sales and Logbook",
			State: pipeline.State{Type: pipeline.Completed, Name: "Completed"}, ExpectedStart: at(7 * time.Minute), Start: at(7 * time.Minute), End: at(5*time.Minute + 12*time.Second)},
		{ID: goldenLongRun, Name: "stubborn-yak", FlowID: "d-risk", FlowName: "Monitorfish - Risk factor",
			State:         pipeline.State{Type: pipeline.Failed, Name: "TimedOut", Message: "Flow run exceeded its timeout of 3600 s"},
			ExpectedStart: at(2 * time.Hour), Start: at(2 * time.Hour), End: at(time.Hour)},
		{ID: "3d4e5f60-0000-4000-8000-000000000003", Name: "lucky-otter", FlowID: "d-regs", FlowName: "Monitorfish - Regulations",
			State: pipeline.State{Type: pipeline.Cancelled, Name: "Cancelled"}, ExpectedStart: at(3 * time.Hour), Start: at(3 * time.Hour), End: at(3*time.Hour - 20*time.Second)},
	}
}

func (goldenPrefect) Version(context.Context) (string, error) { return "Prefect 3.6.9", nil }

func (goldenPrefect) Flows(context.Context) ([]pipeline.Flow, error) {
	runs := goldenRuns()
	return []pipeline.Flow{
		{ID: "d-logbook", Name: "Monitorfish - Logbook", Schedule: "*/1 * * * * (UTC)", ScheduleActive: true, LastRun: &runs[0]},
		{ID: "d-last", Name: "Monitorfish - Last positions", Schedule: "*/2 * * * * (UTC)", ScheduleActive: true, LastRun: &runs[1]},
		{ID: "d-sales", Name: "Monitorfish - Sales and Logbook", Schedule: "*/5 * * * * (UTC)", ScheduleActive: true, LastRun: &runs[2]},
		{ID: "d-risk", Name: "Monitorfish - Risk factor", Schedule: "0 */1 * * * (UTC)", ScheduleActive: false, LastRun: &runs[3]},
		{ID: "d-regs", Name: "Monitorfish - Regulations", Schedule: "0 6 * * * (UTC)", ScheduleActive: true, LastRun: &runs[4]},
		{ID: "d-checkup", Name: "Monitorfish - Regulations checkup", Schedule: "0 7 * * 1 (UTC)", ScheduleActive: true},
		{ID: "d-ports", Name: "Monitorfish - Ports"},
	}, nil
}

func (goldenPrefect) Runs(_ context.Context, q pipeline.RunQuery) ([]pipeline.Run, error) {
	runs := goldenRuns()
	return runs[:min(len(runs), q.Limit)], nil
}

func (goldenPrefect) Run(_ context.Context, id string) (pipeline.Run, error) {
	for _, r := range goldenRuns() {
		if r.ID == id {
			return r, nil
		}
	}
	return pipeline.Run{}, pipeline.ErrNotFound
}

func (goldenPrefect) TaskRuns(_ context.Context, id string) ([]pipeline.TaskRun, error) {
	return []pipeline.TaskRun{
		{ID: "t1", Name: "extract_positions", State: pipeline.State{Type: pipeline.Completed, Name: "Completed"}, Start: renderNow.Add(-6 * time.Minute), End: renderNow.Add(-5 * time.Minute)},
		{ID: "t2", Name: "load_last_positions", State: pipeline.State{Type: pipeline.Failed, Name: "Failed", Message: "OperationalError: could not connect to server: Connection refused"},
			Start: renderNow.Add(-5 * time.Minute), End: renderNow.Add(-4 * time.Minute)},
		{ID: "t3", Name: "update_positions_metrics", State: pipeline.State{Type: pipeline.Failed, Name: "TriggerFailed", Message: "Trigger was \"all_successful\" but some of the upstream tasks failed."}},
	}, nil
}

func (goldenPrefect) Logs(_ context.Context, id string, limit int) ([]pipeline.LogLine, error) {
	if id == goldenLongRun {
		var lines []pipeline.LogLine
		for i := range 400 {
			l := pipeline.LogLine{Time: renderNow.Add(-time.Hour - time.Duration(400-i)*9*time.Second), Level: "INFO", Logger: "prefect.task_runs",
				Message: fmt.Sprintf("Computed risk factors of batch %d (250 vessels)", i)}
			if i%16 == 15 {
				l.Level, l.Message = "ERROR", fmt.Sprintf("Batch %d: statement timeout after 60 s on table risk_factors", i)
			}
			lines = append(lines, l)
		}
		return lines, nil
	}
	at := func(d time.Duration) time.Time { return renderNow.Add(-d) }
	return []pipeline.LogLine{
		{Time: at(6 * time.Minute), Level: "INFO", Logger: "prefect.flow_runs", Message: "Beginning flow run 'crimson-fox' for flow 'Monitorfish - Last positions'"},
		{Time: at(5*time.Minute + 30*time.Second), Level: "INFO", Logger: "prefect.task_runs", Message: "Extracted 48213 positions"},
		{Time: at(4*time.Minute + 2*time.Second), Level: "ERROR", Logger: "prefect.task_runs",
			Message: "Task run 'load_last_positions' failed:\nsqlalchemy.exc.OperationalError: could not connect to server: Connection refused\n\tIs the server running on host \"db\" and accepting TCP/IP connections on port 5432?"},
		{Time: at(4*time.Minute + time.Second), Level: "WARNING", Logger: "prefect.task_runs", Message: "Task run 'update_positions_metrics' did not run: upstream failed"},
		{Time: at(4 * time.Minute), Level: "ERROR", Logger: "prefect.flow_runs", Message: "Finished in state Failed('Flow run encountered an exception.')"},
	}, nil
}

func (goldenPrefect) StartRun(_ context.Context, flow pipeline.Flow, key string) (pipeline.Started, error) {
	return pipeline.Started{Created: true, Run: pipeline.Run{ID: goldenStarted, Name: "brisk-heron", FlowID: flow.ID, FlowName: flow.Name,
		State: pipeline.State{Type: pipeline.Scheduled, Name: "Scheduled"}, ExpectedStart: renderNow}}, nil
}

func (goldenPrefect) CancelRun(context.Context, string) (pipeline.Cancellation, error) {
	return pipeline.Cancellation{}, errors.New("unused")
}

func (goldenPrefect) SetScheduleActive(context.Context, pipeline.Flow, bool) error {
	return errors.New("unused")
}

func (goldenPrefect) FinishedSince(context.Context, time.Time, int) ([]pipeline.Run, error) {
	return nil, errors.New("unused")
}

func (goldenPrefect) RunningSince(context.Context, time.Time) ([]pipeline.Run, error) {
	return nil, errors.New("unused")
}

func (goldenPrefect) RunURL(id string) string {
	return "https://prefect.monitorfish.example/runs/flow-run/" + id
}

func prefectGoldenCatalogue(t *testing.T) *commands.Catalogue {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mfbot.yaml")
	yaml := "operators: [U0123OPS]\nenvironments:\n  prod:\n    prefect_url: http://prefect:4200/api\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	env := &commands.Environment{Config: cfg.Environments[0], Pipeline: goldenPrefect{}}
	c, err := commands.New(cfg, []*commands.Environment{env}, commands.Options{Now: func() time.Time { return renderNow }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func prefectRenderCases(t *testing.T) []renderCase {
	c := prefectGoldenCatalogue(t)
	run := func(line, user string) reply.Reply {
		return c.Run(context.Background(), commands.Request{Line: line, User: user, Channel: "C0123OPS", Via: commands.ViaSocket})
	}
	blocksHave := func(wants ...string) func(t *testing.T, m Message) {
		return func(t *testing.T, m Message) {
			raw := mustJSON(t, m.Blocks)
			for _, want := range wants {
				if !strings.Contains(raw, want) {
					t.Errorf("blocks lack %q", want)
				}
			}
		}
	}

	// The confirmation as the Slack transports show it: its ID and expiry
	// come from the store, fixed here so that the golden file is stable.
	pending := run("flow run logbook", "U0123OPS")
	if pending.Confirm != nil {
		pending.Confirm.ID, pending.Confirm.ExpiresAt = "cf_01HQ3Z8K2M", renderNow.Add(2*time.Minute)
	}
	started := run("flow run logbook", "U0123OPS")
	if started.Confirm != nil {
		started = c.Run(context.Background(), commands.Request{Line: started.Confirm.Command, User: "U0123OPS", Channel: "C0123OPS", Via: commands.ViaButton, Confirmed: true})
		started.RequestedBy, started.DecidedBy = "U0123OPS", "U0123OPS"
	}

	return []renderCase{
		{name: "prefect-flows", reply: run("flows", "U0123VIEWER"), check: blocksHave("Last positions", "paused", "running for 38 s", "TimedOut")},
		{name: "prefect-runs", reply: run("runs", "U0123VIEWER"), check: func(t *testing.T, m Message) {
			blocksHave("crimson-fox", "6f1c2a9e", `"value": "prod run logs `+goldenFailedRun+`"`)(t, m)
			if m.Ephemeral {
				t.Error("a report is posted in the channel")
			}
		}},
		{name: "prefect-run-logs", reply: run("run logs "+goldenFailedRun, "U0123VIEWER"), check: func(t *testing.T, m Message) {
			raw := mustJSON(t, m.Blocks)
			errorsAt, infoAt := strings.Index(raw, "Finished in state Failed"), strings.Index(raw, "Extracted 48213 positions")
			if errorsAt < 0 || infoAt < 0 || errorsAt > infoAt {
				t.Error("the ERROR lines come first")
			}
			blocksHave("load_last_positions", "TriggerFailed", "https://prefect.monitorfish.example/runs/flow-run/"+goldenFailedRun, "prod flow run last-positions")(t, m)
			if len(m.Files) != 0 {
				t.Errorf("short logs need no file: %v", fileSummaries(m.Files))
			}
		}},
		{name: "prefect-run-logs-long", reply: run("run logs "+goldenLongRun, "U0123VIEWER"), check: func(t *testing.T, m Message) {
			if len(m.Files) != 1 || m.Files[0].Name != "run-stubborn-yak-logs.txt" || strings.Count(string(m.Files[0].Content), "\n") < 400 {
				t.Fatalf("want every line in run-stubborn-yak-logs.txt, got %v", fileSummaries(m.Files))
			}
			content := string(m.Files[0].Content)
			if strings.Index(content, "Batch 15: statement timeout") > strings.Index(content, "batch 0 (250 vessels)") {
				t.Error("the file starts with the ERROR lines")
			}
			blocksHave("Batch 399: statement timeout", "ERROR and above: 25 of its 400 log lines.")(t, m)
		}},
		{name: "prefect-flow-run-confirmation", reply: pending, check: func(t *testing.T, m Message) {
			blocksHave("Start a run of Monitorfish - Logbook in prod now?", "Its run amber-owl is still Running", `"action_id": "mf_confirm"`, `"value": "cf_01HQ3Z8K2M"`)(t, m)
		}},
		{name: "prefect-flow-run-started", reply: started, check: func(t *testing.T, m Message) {
			if m.Text != "✅ Run brisk-heron of Monitorfish - Logbook started in prod" {
				t.Errorf("text %q", m.Text)
			}
			blocksHave(goldenStarted, "confirmed by \\u003c@U0123OPS\\u003e", "prod run logs "+goldenStarted)(t, m)
		}},
		{name: "prefect-ambiguous-flow", reply: run("flow run regul", "U0123OPS"), check: func(t *testing.T, m Message) {
			if !m.Ephemeral {
				t.Error("usage errors are ephemeral")
			}
			blocksHave("Monitorfish - Regulations, Monitorfish - Regulations checkup", "Nothing was run", "Usage: flow run &lt;flow&gt;")(t, m)
		}},
	}
}

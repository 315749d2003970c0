//go:build integration

package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mfbot/testenv"
	"mfbot/testenv/prefectfake"
	"mfbot/testenv/slackfake"
)

// Prefect end to end, on both generations: `mfbot run` in-process against
// the fake Slack and the Prefect fake (GraphQL for Prefect 1, REST for
// Prefect 3, every request validated against ../shared/prefect), the
// commands answered in Slack, a failed run alerted once with its failed
// task and error logs in the thread and recovered by the flow's next
// success, a stuck run cancelled from its alert, a bot restart that
// re-alerts nothing, and Prefect down then up again.

const (
	prefPoll     = time.Second
	prefRecovery = 2 * time.Second
	// group_window 0: the stuck run's and the failed run's alerts, a
	// second apart, each on a root of its own (the test reads their threads).
	prefYAML = "alerts:\n  prefect_poll_interval: 1s\n  recovery_after: 2s\n  update_interval: 1s\n  group_window: 0s\n  stuck_run_after: 50m\n"
)

// prefFlavors are the two Prefect generations, by the URL mfbot is given.
var prefFlavors = []struct {
	name string
	url  func(*prefectfake.Server) string
}{
	{"Prefect1GraphQL", (*prefectfake.Server).GraphQLURL},
	{"Prefect3REST", (*prefectfake.Server).RESTURL},
}

// prefWorld is MonitorFish's pipeline, small: three flows on crons, each
// with a successful run before the bot starts (history: never alerted).
type prefWorld struct {
	logbook, positions, sales *prefectfake.Flow
}

func prefSeed(w *prefectfake.World) prefWorld {
	p := prefWorld{
		logbook:   w.AddFlow("Monitorfish - Logbook", "* * * * *"),
		positions: w.AddFlow("Monitorfish - Last positions", "*/2 * * * *"),
		sales:     w.AddFlow("Monitorfish - Sales and Logbook", "*/5 * * * *"),
	}
	before := time.Now().UTC().Add(-3 * time.Minute)
	for _, f := range []*prefectfake.Flow{p.logbook, p.positions, p.sales} {
		w.SucceededRun(f, before)
	}
	// A failure in the history is not alerted either.
	w.FailedRun(p.sales, before.Add(30*time.Second), "", "load", "old failure")
	return p
}

// prefRoots are the bot's roots in the alert channel about a flow target.
func prefRoots(fake *slackfake.Server, label, target string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages(alertChannel) {
		if m.BotID == "" || m.IsReply() {
			continue
		}
		if moreFields(m)[label] == target {
			out = append(out, m)
		}
	}
	return out
}

func prefWaitRoot(t *testing.T, fake *slackfake.Server, label, target, what string, within time.Duration, cond func(slackfake.Message) bool) slackfake.Message {
	t.Helper()
	var root slackfake.Message
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		roots := prefRoots(s, label, target)
		if len(roots) == 0 {
			return false
		}
		root = roots[0]
		return cond(root)
	})
	if err != nil {
		t.Fatalf("waiting %s for %s: %v (last root: %s %v)", within, what, err, root.Text, moreFields(root))
	}
	return root
}

// prefButton returns the action ID of the button of m that runs command.
func prefButton(t *testing.T, m slackfake.Message, command string) string {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.Type == "button" && e.Value == command {
				return e.ActionID
			}
		}
	}
	t.Fatalf("no button runs %q:\n%s", command, prettyBlocks(m.Blocks))
	return ""
}

// prefClickConfirm clicks the button of m that runs command, then the
// Confirm of the confirmation it asks for.
func prefClickConfirm(t *testing.T, fake *slackfake.Server, ch string, m slackfake.Message, command, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fake.ClickButton(ctx, ch, m.TS, prefButton(t, m, command), "", operator); err != nil {
		t.Fatal(err)
	}
	pending := prefWaitMessage(t, fake, "the confirmation of "+what, "mf_confirm", what)
	if _, err := fake.ClickButton(ctx, pending.Channel, pending.TS, "mf_confirm", "", operator); err != nil {
		t.Fatal(err)
	}
}

// prefWaitMessage waits for a bot message, in any channel or thread,
// containing every want.
func prefWaitMessage(t *testing.T, fake *slackfake.Server, what string, want ...string) slackfake.Message {
	t.Helper()
	var found slackfake.Message
	match := func(m slackfake.Message) bool {
		text := m.Text + string(m.Blocks)
		ok := m.BotID != ""
		for _, w := range want {
			ok = ok && strings.Contains(text, w)
		}
		return ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := fake.WaitFor(ctx, func(s *slackfake.Server) bool {
		for _, ch := range []string{channel, alertChannel} {
			for _, m := range s.AllMessages(ch) {
				if match(m) {
					found = m
					return true
				}
			}
			for _, e := range s.Ephemerals(ch) {
				if match(slackfake.Message{BotID: "ephemeral", Text: e.Text, Blocks: e.Blocks, TS: e.TS, Channel: ch}) {
					found = slackfake.Message{BotID: "ephemeral", Text: e.Text, Blocks: e.Blocks, TS: e.TS, Channel: ch}
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		var b strings.Builder
		for _, m := range fake.AllMessages(channel) {
			b.WriteString("\n- " + m.Text)
		}
		for _, e := range fake.Ephemerals(channel) {
			b.WriteString("\n- (ephemeral) " + e.Text)
		}
		t.Fatalf("waiting for %s (%q): %v; messages:%s", what, want, err, b.String())
	}
	return found
}

// prefRun is `mfbot run` that the test can stop and start again on the
// same store.
type prefRun struct {
	cancel context.CancelFunc
	bot    *testBot
}

func prefStart(t *testing.T, stack testenv.Stack, fake *slackfake.Server, prefectURL, storePath string) *prefRun {
	t.Helper()
	env := botEnv(fake, stack.WriteConfig(t, prefYAML), storePath)
	env["MFBOT_ALERT_CHANNEL"] = alertChannel
	env["PREFECT_API_URL"] = prefectURL
	env["PREFECT_UI_URL"] = "http://prefect-ui.test:4200"
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBot{logs: &syncBuffer{}, storePath: storePath, done: make(chan struct{})}
	go func() {
		b.code = runBot(ctx, nil, b.logs)
		close(b.done)
	}()
	r := &prefRun{cancel: cancel, bot: b}
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("mfbot log:\n%s", b.logs.String())
		}
	})
	b.listenAddr(t)
	return r
}

func (r *prefRun) stop(t *testing.T) {
	r.cancel()
	if _, ok := r.bot.exited(40 * time.Second); !ok {
		t.Error("mfbot run did not stop")
	}
}

func TestPrefectCommandsAndAlertsOnBothAPIs(t *testing.T) {
	stack := testenv.Require(t)
	for _, flavor := range prefFlavors {
		t.Run(flavor.name, func(t *testing.T) {
			prefect := prefectfake.Start(t)
			w := prefect.World
			flows := prefSeed(w)
			// A run stuck in Running for an hour. The stuck-run check runs at
			// most once a minute, and first at start.
			stuck := w.StartRun(flows.positions, time.Now().UTC().Add(-time.Hour))
			fake := newFake(t)
			storePath := filepath.Join(t.TempDir(), "mfbot.db")
			bot := prefStart(t, stack, fake, flavor.url(prefect), storePath)

			// The read commands answer.
			slash(t, fake, viewer, "flows")
			prefWaitMessage(t, fake, "the flows", "3 flows in local", "Logbook", "Last positions", "Sales and Logbook")
			slash(t, fake, viewer, "runs sales")
			prefWaitMessage(t, fake, "the runs of Sales and Logbook", "Sales and Logbook", "Failed")
			slash(t, fake, viewer, "runs l")
			prefWaitMessage(t, fake, "the ambiguous flow name", "Monitorfish - Last positions", "Monitorfish - Logbook")

			// A failed run: one alert, its failed task and error logs in
			// the thread (redacted), its buttons.
			failedAt := time.Now().UTC()
			run := w.FailedRun(flows.logbook, failedAt, "TimedOut", "extract_logbook",
				"psycopg2.OperationalError: connection to postgresql://monitorfish:Sup3rS3cr3t-test@db:5432/monitorfishdb failed")
			root := prefWaitRoot(t, fake, "Flow", "logbook", "the failed run's alert", 15*time.Second, anyRoot)
			t.Logf("%s: failure → alert in %s (poll %s)", flavor.name, root.Time.Sub(failedAt).Round(time.Millisecond), prefPoll)
			blocks := string(root.Blocks)
			for _, want := range []string{"local run logs " + run.ID, "local flow run logbook", "local flow pause logbook"} {
				if !strings.Contains(blocks, want) {
					t.Errorf("the alert lacks the button %q:\n%s", want, prettyBlocks(root.Blocks))
				}
			}
			freshWaitThread(t, fake, root, "the failed task in the thread", "extract_logbook")
			logs := freshWaitThread(t, fake, root, "the error logs in the thread", "OperationalError")
			if text := logs.Text + string(logs.Blocks); strings.Contains(text, "Sup3rS3cr3t-test") {
				t.Errorf("a password reached the alert's thread: %s", text)
			}
			if !strings.Contains(blocks+freshThreadText(fake, root), "http://prefect-ui.test:4200/") {
				t.Errorf("no link to the run in the alert or its thread")
			}

			// Four more failures of the flow: the same incident, counted 5.
			for i := 1; i <= 4; i++ {
				w.FailedRun(flows.logbook, time.Now().UTC(), "", "extract_logbook", "again")
				time.Sleep(20 * time.Millisecond)
			}
			prefWaitRoot(t, fake, "Flow", "logbook", "the count of 5", 15*time.Second, func(m slackfake.Message) bool {
				return moreFields(m)["Failures"] == "5"
			})
			if n := len(prefRoots(fake, "Flow", "logbook")); n != 1 {
				t.Fatalf("%d alerts for one flow, want 1", n)
			}

			// `run logs` of the failed run: errors first.
			slash(t, fake, viewer, "run logs "+run.ID)
			prefWaitMessage(t, fake, "the run's logs", "of Logbook in local", "TimedOut", "OperationalError")

			// The flow's next success recovers it.
			w.SucceededRun(flows.logbook, time.Now().UTC())
			prefWaitRoot(t, fake, "Flow", "logbook", "the recovery", 15*time.Second, recovered)

			// The stuck run: an alert with Cancel; Cancel (confirmed) cancels
			// it in Prefect.
			stuckRoot := prefWaitRoot(t, fake, "Flow", "last-positions", "the stuck run's alert", 15*time.Second, anyRoot)
			prefClickConfirm(t, fake, alertChannel, stuckRoot, "local run cancel "+stuck.ID, "Cancel run")
			prefWaitMessage(t, fake, "the cancellation's outcome", "Cancelling run ", "of Last positions in local")
			if r, _ := w.Run(stuck.ID); r.StateType != prefectfake.Cancelling && r.StateType != prefectfake.Cancelled {
				t.Errorf("the stuck run is %s after Cancel", r.StateType)
			}

			// `flow run` from Slack, confirmed: one run created.
			before := len(w.Runs())
			slash(t, fake, operator, "flow run sales")
			freshConfirm(t, fake, "Start a run of Monitorfish - Sales and Logbook")
			prefWaitMessage(t, fake, "the started run", "of Monitorfish - Sales and Logbook started in local")
			if n := len(w.Runs()) - before; n != 1 {
				t.Errorf("%d runs created by one flow run, want 1", n)
			}
			// `flow pause`, confirmed: the schedule is paused.
			slash(t, fake, operator, "flow pause sales")
			freshConfirm(t, fake, "Pause the schedule")
			prefWaitMessage(t, fake, "the paused schedule", "Schedule of Monitorfish - Sales and Logbook")
			if f, _ := w.Flow(flows.sales.ID); !f.Paused {
				t.Error("the schedule is not paused")
			}
			slash(t, fake, operator, "flow resume sales")
			freshConfirm(t, fake, "Resume the schedule")
			waitFor(t, fake, "the resumed schedule", func(*slackfake.Server) bool {
				f, _ := w.Flow(flows.sales.ID)
				return !f.Paused
			})

			// A bot restart re-alerts nothing old and misses nothing new.
			rootsBefore := len(fake.Messages(alertChannel))
			bot.stop(t)
			missed := w.FailedRun(flows.sales, time.Now().UTC(), "", "load", "failed while mfbot was down")
			bot = prefStart(t, stack, fake, flavor.url(prefect), storePath)
			salesRoot := prefWaitRoot(t, fake, "Flow", "sales-and-logbook", "the failure that landed while mfbot was down", 15*time.Second, anyRoot)
			if !strings.Contains(string(salesRoot.Blocks), missed.ID) {
				t.Errorf("the alert is not about the run that failed while mfbot was down:\n%s", prettyBlocks(salesRoot.Blocks))
			}
			time.Sleep(3 * prefPoll)
			if n := len(prefRoots(fake, "Flow", "logbook")); n != 1 {
				t.Errorf("%d alerts about logbook after the restart, want the 1 from before", n)
			}
			if n := len(fake.Messages(alertChannel)); n < rootsBefore {
				t.Errorf("messages vanished: %d < %d", n, rootsBefore)
			}

			// Prefect down: an incident; back up: recovered.
			prefect.Down()
			prefWaitRoot(t, fake, "Dependency", "prefect-api", "Prefect down", 20*time.Second, anyRoot)
			if err := prefect.Up(); err != nil {
				t.Fatal(err)
			}
			prefWaitRoot(t, fake, "Dependency", "prefect-api", "Prefect back", 20*time.Second, recovered)

			if bad := w.Invalid(); len(bad) > 0 {
				t.Errorf("mfbot sent %d request(s) that do not validate against the schema: %v", len(bad), bad)
			}
		})
	}
}

// freshThreadText is the text of every reply in root's thread.
func freshThreadText(fake *slackfake.Server, root slackfake.Message) string {
	var b strings.Builder
	for _, m := range fake.Thread(alertChannel, root.TS) {
		b.WriteString(m.Text)
		b.Write(m.Blocks)
	}
	return b.String()
}

// `pipeline stop|start flows` act on the real pipeline container through
// the confirmation flow; `pipeline status` shows it and Prefect's state.
func TestPrefectPipelineStopAndStartTheRealContainer(t *testing.T) {
	stack := testenv.Require(t)
	prefect := prefectfake.Start(t)
	prefSeed(prefect.World)
	fake := newFake(t)
	prefStart(t, stack, fake, prefect.RESTURL(), filepath.Join(t.TempDir(), "mfbot.db"))
	t.Cleanup(func() { testenv.Docker(t, "start", "monitorfish-pipeline-flows") })

	slash(t, fake, viewer, "pipeline status")
	prefWaitMessage(t, fake, "the pipeline's status", "Pipeline of local", "pipeline-flows", "3.6.9")

	slash(t, fake, operator, "pipeline stop flows")
	freshConfirm(t, fake, "Stop pipeline-flows in local?")
	prefWaitMessage(t, fake, "the stop's outcome", "Pipeline stopped in local")
	if state := testenv.Docker(t, "inspect", "-f", "{{.State.Status}}", "monitorfish-pipeline-flows"); state != "exited" {
		t.Fatalf("monitorfish-pipeline-flows is %s after pipeline stop", state)
	}
	if state := testenv.Docker(t, "inspect", "-f", "{{.State.Status}}", "monitorfish-pipeline-server"); state != "running" {
		t.Errorf("pipeline stop flows stopped the server too: %s", state)
	}
	slash(t, fake, operator, "pipeline start flows")
	freshConfirm(t, fake, "Start pipeline-flows in local?")
	prefWaitMessage(t, fake, "the start's outcome", "Pipeline started in local")
	if state := testenv.Docker(t, "inspect", "-f", "{{.State.Status}}", "monitorfish-pipeline-flows"); state != "running" {
		t.Fatalf("monitorfish-pipeline-flows is %s after pipeline start", state)
	}
}
